//! Profiles: what a professional is granted on one cancer center (3C).

use crate::DomainError;
use crate::ErrorCode;

/// The kind of a profile granted on a cancer center.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProfileKind {
    /// Works as a physician in the center's RCPs.
    Physician,
    /// "Secrétaire médecin": holds the rights of the physicians she is affiliated to, on this center.
    Secretary,
    /// 3C staff: administers the center (accounts requests, directory, RCPs, reports, audit).
    CenterCoordinator,
}

impl ProfileKind {
    /// Every kind, in the order the API documents them.
    pub const ALL: [ProfileKind; 3] = [Self::Physician, Self::Secretary, Self::CenterCoordinator];

    /// The lowercase API and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Physician => "physician",
            Self::Secretary => "secretary",
            Self::CenterCoordinator => "center_coordinator",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            DomainError::invalid(
                "kind",
                ErrorCode::InvalidProfileKind,
                "profile kind must be one of physician, secretary, center_coordinator",
            )
        })
    }
}

/// Reads the storage spelling back: a stored value that is not one of them is a fault of the store.
impl TryFrom<String> for ProfileKind {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::parse(&s)
    }
}

/// A profile held by a professional on a cancer center.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Profile {
    /// The cancer center the profile is granted on.
    pub cancer_center_id: String,
    /// What the profile allows.
    pub kind: ProfileKind,
}
