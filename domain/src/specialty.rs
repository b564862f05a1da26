//! Physicians' specialties: what makes a board multidisciplinary.

use crate::DomainError;
use crate::ErrorCode;

/// A physician's specialty, from the list the INCa quality criteria for RCPs reason with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Specialty {
    /// Medical oncology.
    MedicalOncology,
    /// Radiation therapy.
    Radiotherapy,
    /// Surgery (the organ goes in the subspecialty).
    Surgery,
    /// Radiology.
    Radiology,
    /// Nuclear medicine.
    NuclearMedicine,
    /// Pathology (anatomo-cytopathology).
    Pathology,
    /// Organ specialist (gastroenterologist, pulmonologist, …; the organ in the subspecialty).
    OrganSpecialist,
    /// Geriatrics (oncogeriatrics).
    Geriatrics,
    /// Palliative care.
    PalliativeCare,
    /// Any other specialty.
    Other,
}

impl Specialty {
    /// Every specialty, in the order the API documents them.
    pub const ALL: [Specialty; 10] = [
        Self::MedicalOncology,
        Self::Radiotherapy,
        Self::Surgery,
        Self::Radiology,
        Self::NuclearMedicine,
        Self::Pathology,
        Self::OrganSpecialist,
        Self::Geriatrics,
        Self::PalliativeCare,
        Self::Other,
    ];

    /// The lowercase API and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MedicalOncology => "medical_oncology",
            Self::Radiotherapy => "radiotherapy",
            Self::Surgery => "surgery",
            Self::Radiology => "radiology",
            Self::NuclearMedicine => "nuclear_medicine",
            Self::Pathology => "pathology",
            Self::OrganSpecialist => "organ_specialist",
            Self::Geriatrics => "geriatrics",
            Self::PalliativeCare => "palliative_care",
            Self::Other => "other",
        }
    }

    /// Parses the API spelling; `field` names the request field in the 422.
    pub fn parse_field(s: &str, field: &'static str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| DomainError::invalid(field, ErrorCode::InvalidSpecialty, format!("unknown specialty {s:?}")))
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::parse_field(s, "specialty")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_specialty_round_trips() {
        for s in Specialty::ALL {
            assert_eq!(Specialty::parse(s.as_str()), Ok(s));
        }
        assert!(Specialty::parse("astrology").is_err());
    }
}
