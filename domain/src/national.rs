//! The national settings of an RCP and of a cancer center, as the FRCP header names them: the
//! RCP's nature and organ (coded), the national identifiers of its regional cancer network, of
//! its manager and of itself, and a center's FINESS.

use crate::error::DomainError;
use crate::error_code::ErrorCode;

/// The longest national identifier kept (an extension under its OID).
pub const MAX_NATIONAL_ID: usize = 64;

/// A national identifier (the extension under the network's, manager's or RCP's OID): trimmed,
/// 1 to [`MAX_NATIONAL_ID`] printable ASCII characters without spaces, as an OID extension.
pub fn identifier(field: &'static str, value: &str) -> Result<String, DomainError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(DomainError::invalid(field, ErrorCode::ValidationFailed, "must not be blank; send null to clear it"));
    }
    if value.chars().count() > MAX_NATIONAL_ID {
        return Err(DomainError::invalid(field, ErrorCode::ValidationFailed, format!("at most {MAX_NATIONAL_ID} characters")));
    }
    if !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err(DomainError::invalid(field, ErrorCode::ValidationFailed, "printable ASCII characters without spaces only"));
    }
    Ok(value.to_owned())
}

/// A FINESS number: 9 characters, the département (two digits, or `2A` / `2B` for Corsica)
/// then seven digits. Its last digit is a check key, which is not verified here: its algorithm
/// is not one we can state with certainty.
pub fn finess(value: &str) -> Result<String, DomainError> {
    let value = value.trim().to_ascii_uppercase();
    let bytes = value.as_bytes();
    let department = bytes.get(..2).is_some_and(|d| d.iter().all(u8::is_ascii_digit) || d == b"2A" || d == b"2B");
    if bytes.len() == 9 && department && bytes[2..].iter().all(u8::is_ascii_digit) {
        Ok(value)
    } else {
        Err(DomainError::invalid(
            "finess",
            ErrorCode::ValidationFailed,
            "a FINESS number: 9 characters, 2 for the département then 7 digits",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finess_numbers_are_nine_characters_with_their_departement() {
        assert_eq!(finess(" 750000001 ").unwrap(), "750000001");
        assert_eq!(finess("2a0000012").unwrap(), "2A0000012");
        for wrong in ["", "75000000", "7500000011", "2C0000012", "75000A001", "75 000001"] {
            assert!(finess(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn identifiers_are_bounded_and_without_spaces() {
        assert_eq!(identifier("network_id", " RRC-IDF ").unwrap(), "RRC-IDF");
        assert!(identifier("network_id", "  ").is_err());
        assert!(identifier("network_id", "a b").is_err());
        assert!(identifier("network_id", &"x".repeat(MAX_NATIONAL_ID + 1)).is_err());
        assert!(identifier("network_id", &"x".repeat(MAX_NATIONAL_ID)).is_ok());
    }

    proptest! {
        /// Any nine digits are a FINESS number, and what is accepted is always nine characters.
        #[test]
        fn nine_digits_pass_and_only_nine_characters(digits in "[0-9]{9}", any in "\\PC{0,12}") {
            prop_assert_eq!(finess(&digits).unwrap(), digits);
            if let Ok(kept) = finess(&any) {
                prop_assert_eq!(kept.len(), 9);
            }
        }
    }
}
