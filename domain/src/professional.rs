//! Professionals of the directory: categories, RPPS numbers and names.

use crate::DomainError;
use crate::ErrorCode;

/// The directory category of a professional ("catégorie" of the seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// A physician; the directory default for every new professional.
    Physician,
    /// A medical secretary.
    Secretary,
    /// A nurse.
    Nurse,
    /// Anything else (pharmacist, psychologist, administrator account, …).
    Other,
}

impl Category {
    /// Every category, in the order the API documents them.
    pub const ALL: [Category; 4] = [Self::Physician, Self::Secretary, Self::Nurse, Self::Other];

    /// The lowercase API and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Physician => "physician",
            Self::Secretary => "secretary",
            Self::Nurse => "nurse",
            Self::Other => "other",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            DomainError::invalid("category", ErrorCode::InvalidCategory, "category must be one of physician, secretary, nurse, other")
        })
    }
}

/// Reads the storage spelling back: a stored value that is not one of them is a fault of the store.
impl TryFrom<String> for Category {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::parse(&s)
    }
}

/// A professional of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Professional {
    /// Opaque id.
    pub id: String,
    /// Family name as entered.
    pub family_name: String,
    /// Given name as entered.
    pub given_name: String,
    /// RPPS number, when known.
    pub rpps: Option<String>,
    /// Contact email, when known.
    pub email: Option<String>,
    /// Directory category.
    pub category: Category,
}

impl Professional {
    /// "Given FAMILY".
    pub fn display_name(&self) -> String {
        display_name(&self.family_name, &self.given_name)
    }
}

/// An RPPS number (Répertoire Partagé des Professionnels de Santé): 11 digits, the last one a
/// Luhn check digit over the first ten.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rpps(String);

impl Rpps {
    /// Parses and checks an RPPS number.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let s = s.trim();
        if s.len() != 11 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::invalid("rpps", ErrorCode::InvalidRpps, "an RPPS number has exactly 11 digits"));
        }
        if !luhn_valid(s) {
            return Err(DomainError::invalid("rpps", ErrorCode::InvalidRpps, "the RPPS check digit (Luhn) is wrong"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The RPPS of a national identifier as Pro Santé Connect sends it (`SubjectNameID`): the
    /// identifier type `8` (RPPS) followed by the 11 digits. Any other type (`0`, ADELI, …) or a
    /// number that fails its check is refused: such a user has no RPPS to be found by.
    pub fn from_subject_name_id(s: &str) -> Result<Self, DomainError> {
        match s.trim().strip_prefix('8') {
            Some(digits) => Self::parse(digits),
            None => Err(DomainError::invalid("SubjectNameID", ErrorCode::InvalidRpps, "not an RPPS national identifier (8 + 11 digits)")),
        }
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The Luhn check over a string of ASCII digits, check digit last.
pub fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 { dd - 9 } else { dd }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The Luhn check digit that completes `digits`.
pub fn luhn_check_digit(digits: &str) -> u8 {
    (0..=9u8).find(|d| luhn_valid(&format!("{digits}{d}"))).unwrap_or(0)
}

/// The name shown for a professional: "Given FAMILY", as French directories print it.
pub fn display_name(family_name: &str, given_name: &str) -> String {
    let family = family_name.trim().to_uppercase();
    let given = given_name.trim();
    if given.is_empty() { family } else { format!("{given} {family}") }
}

/// Checks a person's name part: not blank, at most 100 characters.
pub fn check_name(field: &'static str, value: &str) -> Result<(), DomainError> {
    let n = value.trim().chars().count();
    if n == 0 || n > 100 {
        return Err(DomainError::invalid(field, ErrorCode::InvalidName, "must hold 1 to 100 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_rpps_numbers() {
        // Check digits computed independently with the textbook Luhn algorithm.
        assert!(Rpps::parse("10000000009").is_ok());
        assert!(Rpps::parse("12345678903").is_ok());
        assert!(Rpps::parse(" 81000000000 ").is_ok(), "surrounding blanks are trimmed");
        assert!(Rpps::parse("10000000001").is_err(), "wrong check digit");
        assert!(Rpps::parse("1234567890").is_err(), "10 digits");
        assert!(Rpps::parse("1234567890a").is_err(), "not digits");
    }

    #[test]
    fn a_pro_sante_connect_national_identifier_names_an_rpps() {
        assert_eq!(Rpps::from_subject_name_id("812345678903").map(|r| r.as_str().to_owned()), Ok("12345678903".to_owned()));
        assert!(Rpps::from_subject_name_id("012345678903").is_err(), "type 0 (ADELI) is not an RPPS");
        assert!(Rpps::from_subject_name_id("12345678903").is_err(), "the type is required");
        assert!(Rpps::from_subject_name_id("812345678900").is_err(), "wrong check digit");
        assert!(Rpps::from_subject_name_id("8").is_err());
    }

    #[test]
    fn category_round_trip() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Ok(c));
        }
        assert!(Category::parse("Physician").is_err());
    }

    #[test]
    fn display_name_is_given_then_family() {
        assert_eq!(display_name("Martin", "Hélène"), "Hélène MARTIN");
    }

    proptest! {
        #[test]
        fn completed_numbers_are_valid_and_any_single_digit_change_is_caught(base in "[0-9]{10}", pos in 0usize..11, delta in 1u8..10) {
            let full = format!("{base}{}", luhn_check_digit(&base));
            prop_assert!(Rpps::parse(&full).is_ok());
            let mut bytes = full.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let altered = String::from_utf8(bytes).unwrap_or_default();
            prop_assert!(Rpps::parse(&altered).is_err());
        }
    }
}
