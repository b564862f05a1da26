//! Patients' identity traits: administrative sex, the INS (Identifiant National de Santé), the
//! birth date and place, and what an identity search must name.

use crate::ErrorCode;
use chrono::NaiveDate;

use crate::DomainError;
use crate::text::search_key;

/// Administrative sex, as FHIR's administrative gender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Neither female nor male.
    Other,
    /// Not known.
    Unknown,
}

impl Sex {
    /// Every value, in the order the API documents them.
    pub const ALL: [Sex; 4] = [Self::Female, Self::Male, Self::Other, Self::Unknown];

    /// The lowercase API and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Female => "female",
            Self::Male => "male",
            Self::Other => "other",
            Self::Unknown => "unknown",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| DomainError::invalid("sex", ErrorCode::InvalidSex, "sex must be one of female, male, other, unknown"))
    }
}

/// Reads the storage spelling back: a stored value that is not one of them is a fault of the store.
impl TryFrom<String> for Sex {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::parse(&s)
    }
}

/// An INS in its NIR form: the 13-character NIR followed by its 2-digit key.
///
/// The key is `97 - (NIR mod 97)`. Corsican birth departments "2A" and "2B" stand in the 6th
/// and 7th characters and count as 19 and 18 in the computation. The first character is the
/// sex (1, 2) or a temporary/foreign-born code (3, 4, 7, 8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ins(String);

impl Ins {
    /// Parses and checks an INS; surrounding blanks are trimmed and the Corsican letters may be
    /// given in lower case (stored in upper case).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let s = s.trim().to_ascii_uppercase();
        let bad = |message: &str| DomainError::invalid("ins", ErrorCode::InvalidIns, message);
        if s.len() != 15 || !s.is_ascii() {
            return Err(bad("an INS has 15 characters: the 13-character NIR and its 2-digit key"));
        }
        let (nir, key) = s.split_at(13);
        if !matches!(nir.as_bytes()[0], b'1' | b'2' | b'3' | b'4' | b'7' | b'8') {
            return Err(bad("an INS starts with 1, 2, 3, 4, 7 or 8"));
        }
        // The department's two characters are replaced by their numeric stand-in for Corsica.
        let department = match &nir[5..7] {
            "2A" => "19",
            "2B" => "18",
            other => other,
        };
        let numeric = format!("{}{}{}", &nir[..5], department, &nir[7..]);
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(&numeric) || !all_digits(key) {
            return Err(bad("an INS is made of digits, except 2A or 2B for a Corsican department"));
        }
        let value: u64 = numeric.parse().map_err(|_| bad("the NIR is not a number"))?;
        let key: u64 = key.parse().map_err(|_| bad("the key is not a number"))?;
        if key != 97 - value % 97 {
            return Err(bad("the INS key does not match the NIR"));
        }
        Ok(Self(s))
    }

    /// The 15 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a birth date: not after `today` (a patient is born before being registered).
pub fn check_birth_date(birth_date: NaiveDate, today: NaiveDate) -> Result<(), DomainError> {
    if birth_date > today {
        return Err(DomainError::invalid("birth_date", ErrorCode::BirthDateInFuture, "the birth date cannot be in the future"));
    }
    Ok(())
}

/// Checks and normalises an INSEE birth place code: 5 characters, the department (2 digits, or
/// 2A / 2B for Corsica) then 3 digits; foreign births use the 99xxx codes. Stored in upper case.
pub fn check_birth_place_code(code: &str) -> Result<String, DomainError> {
    let code = code.trim().to_ascii_uppercase();
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let valid = code.len() == 5 && code.is_ascii() && {
        let (department, commune) = code.split_at(2);
        (digits(department) || department == "2A" || department == "2B") && digits(commune)
    };
    if valid {
        Ok(code)
    } else {
        Err(DomainError::invalid(
            "birth_place_code",
            ErrorCode::InvalidBirthPlaceCode,
            "an INSEE code has 5 characters: 2 digits (or 2A, 2B) then 3 digits",
        ))
    }
}

/// The fewest letters of a family-name prefix an identity search accepts.
pub const MIN_SEARCH_LETTERS: usize = 2;

/// What an identity search looks for: never the whole population, so either a family-name
/// prefix with the birth date, or an exact INS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySearch {
    /// Family names starting with this search key, born on this date.
    Name {
        /// The prefix, already a [`search_key`].
        family_prefix: String,
        /// The exact birth date.
        birth_date: NaiveDate,
    },
    /// The patient with this INS.
    Ins(Ins),
}

impl IdentitySearch {
    /// Builds the search from the query; `search_too_broad` unless it names an INS, or a
    /// prefix of at least [`MIN_SEARCH_LETTERS`] letters and a birth date. An INS that is given
    /// must be valid (`invalid_ins`).
    pub fn new(family_name: Option<&str>, birth_date: Option<NaiveDate>, ins: Option<&str>) -> Result<Self, DomainError> {
        if let Some(ins) = ins.map(str::trim).filter(|i| !i.is_empty()) {
            return Ok(Self::Ins(Ins::parse(ins)?));
        }
        let family_prefix = search_key(family_name.unwrap_or_default());
        let letters = family_prefix.chars().filter(char::is_ascii_alphanumeric).count();
        match birth_date {
            Some(birth_date) if letters >= MIN_SEARCH_LETTERS => Ok(Self::Name { family_prefix, birth_date }),
            _ => Err(DomainError::invalid(
                "family_name",
                ErrorCode::SearchTooBroad,
                "name an exact INS, or at least 2 letters of the family name and the birth date",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sex_round_trip() {
        for x in Sex::ALL {
            assert_eq!(Sex::parse(x.as_str()), Ok(x));
        }
        assert!(matches!(Sex::parse("F"), Err(DomainError::Invalid { field: "sex", code: ErrorCode::InvalidSex, .. })));
    }

    #[test]
    fn birth_dates_and_places() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default();
        assert!(check_birth_date(today, today).is_ok());
        assert!(check_birth_date(today.succ_opt().unwrap_or_default(), today).is_err());
        assert_eq!(check_birth_place_code(" 2a004 "), Ok("2A004".to_owned()));
        for valid in ["75056", "2B033", "99134"] {
            assert!(check_birth_place_code(valid).is_ok(), "{valid}");
        }
        for invalid in ["7505", "750566", "2C004", "A5056", "75O56", "2A0é4", ""] {
            assert!(check_birth_place_code(invalid).is_err(), "{invalid}");
        }
    }

    #[test]
    fn identity_search_refuses_browsing() {
        let day = NaiveDate::from_ymd_opt(1950, 3, 1);
        let too_broad =
            |r: Result<IdentitySearch, DomainError>| matches!(r, Err(DomainError::Invalid { code: ErrorCode::SearchTooBroad, .. }));
        assert!(too_broad(IdentitySearch::new(None, None, None)));
        assert!(too_broad(IdentitySearch::new(Some("D"), day, None)));
        assert!(too_broad(IdentitySearch::new(Some("É-"), day, None)));
        assert!(too_broad(IdentitySearch::new(Some("Dupont"), None, None)));
        assert!(too_broad(IdentitySearch::new(Some("Dupont"), None, Some("  "))));
        assert_eq!(
            IdentitySearch::new(Some(" DÉ"), day, None),
            Ok(IdentitySearch::Name { family_prefix: "de".to_owned(), birth_date: day.unwrap_or_default() })
        );
        assert!(matches!(IdentitySearch::new(None, None, Some("185057800608491")), Ok(IdentitySearch::Ins(_))));
        assert!(matches!(
            IdentitySearch::new(None, None, Some("185057800608492")),
            Err(DomainError::Invalid { code: ErrorCode::InvalidIns, .. })
        ));
    }

    #[test]
    fn known_ins_numbers() {
        // Keys computed independently with python3: 97 - int(nir) % 97, 2A → 19, 2B → 18.
        for valid in [
            "185057800608491",
            "269029934173285",
            "185057800607897", // n mod 97 == 0: the key is 97, not 00
            "269029934103209", // key below 10, written with its leading zero
            "175052A12345638", // Corse-du-Sud
            "175052B12345665", // Haute-Corse
            "281122B05012031",
            " 175052a12345638 ",
        ] {
            assert!(Ins::parse(valid).is_ok(), "{valid}");
        }
        assert_eq!(Ins::parse(" 175052a12345638").map(|i| i.as_str().to_owned()), Ok("175052A12345638".to_owned()));
        for invalid in [
            "185057800608492",  // wrong key
            "175052A12345665",  // the 2B key on a 2A number
            "585057800608485",  // right key but 5 is no valid first digit
            "175052C12345638",  // no department 2C
            "1A5052112345638",  // a letter outside the department
            "18505780060849",   // 14 characters
            "1850578006084911", // 16 characters
            "1850578006084é1",
            "",
        ] {
            assert!(
                matches!(Ins::parse(invalid), Err(DomainError::Invalid { field: "ins", code: ErrorCode::InvalidIns, .. })),
                "{invalid}"
            );
        }
    }

    /// An NIR with a valid first digit and, sometimes, a Corsican department.
    fn nir() -> impl Strategy<Value = String> {
        ("[123478]", "[0-9]{4}", "[0-9]{2}|2A|2B", "[0-9]{6}").prop_map(|(a, b, dep, c)| format!("{a}{b}{dep}{c}"))
    }

    /// The key as the INS specification states it, written apart from the code under test.
    fn reference_key(nir: &str) -> String {
        let dep = match &nir[5..7] {
            "2A" => "19",
            "2B" => "18",
            d => d,
        };
        let n: u64 = format!("{}{}{}", &nir[..5], dep, &nir[7..]).parse().unwrap_or_default();
        format!("{:02}", 97 - n % 97)
    }

    proptest! {
        #[test]
        fn valid_numbers_pass_and_any_single_digit_change_is_caught(
            nir in nir(),
            pos in 0usize..15,
            delta in 1u8..10,
        ) {
            let full = format!("{nir}{}", reference_key(&nir));
            prop_assert!(Ins::parse(&full).is_ok(), "{}", full);
            let mut bytes = full.into_bytes();
            // Only digits are changed: a Corsican letter changed is not a number any more.
            prop_assume!(bytes[pos].is_ascii_digit());
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let altered = String::from_utf8(bytes).unwrap_or_default();
            prop_assert!(Ins::parse(&altered).is_err(), "{}", altered);
        }
    }
}
