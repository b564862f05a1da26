//! Patients' identity traits: administrative sex and the INS (Identifiant National de Santé).

use crate::DomainError;

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
            .ok_or_else(|| DomainError::invalid("sex", "invalid_sex", "sex must be one of female, male, other, unknown"))
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
        let bad = |message: &str| DomainError::invalid("ins", "invalid_ins", message);
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sex_round_trip() {
        for x in Sex::ALL {
            assert_eq!(Sex::parse(x.as_str()), Ok(x));
        }
        assert!(matches!(Sex::parse("F"), Err(DomainError::Invalid { field: "sex", code: "invalid_sex", .. })));
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
            assert!(matches!(Ins::parse(invalid), Err(DomainError::Invalid { field: "ins", code: "invalid_ins", .. })), "{invalid}");
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
