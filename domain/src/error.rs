//! The one error type of the domain crate.

use crate::ErrorCode;

/// Why the domain refused a value or an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A value does not have the expected form; `code` is the stable machine string.
    #[error("{field}: {message}")]
    Invalid {
        /// The request field at fault.
        field: &'static str,
        /// Stable machine string (`invalid_rpps`, `invalid_ins`, …).
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
    /// The caller's relations do not grant the action.
    #[error("forbidden: {0}")]
    Forbidden(ErrorCode),
    /// The action contradicts the current state (for example a category change that would
    /// orphan affiliations).
    #[error("conflict: {code}: {message}")]
    Conflict {
        /// Stable machine string.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
    /// A validation without the board's quorum present (`quorum_not_met`), with what is missing.
    #[error("quorum_not_met: {message}")]
    QuorumNotMet {
        /// Human-readable explanation.
        message: String,
        /// What is missing.
        shortfall: QuorumGap,
    },
    /// A validation of a fiche that lacks what the national volet requires (`fiche_incomplete`).
    #[error("fiche_incomplete: {}", missing.join(", "))]
    FicheIncomplete {
        /// The missing fields, by their path in the dossier's JSON.
        missing: Vec<&'static str>,
    },
    /// The action is well formed but not meaningful for these entities
    /// (for example affiliating a nurse as a secretary).
    #[error("unprocessable: {code}: {message}")]
    Unprocessable {
        /// Stable machine string.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
}

/// What a board lacks for its quorum, in plain data: the error names the missing specialties
/// by their wire names so that it needs nothing from the modules that raise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumGap {
    /// Physicians present.
    pub present_physicians: u32,
    /// Distinct specialties among them.
    pub present_specialties: u32,
    /// Physicians still needed.
    pub missing_physicians: u32,
    /// Distinct specialties still needed.
    pub missing_specialties: u32,
    /// Required specialties nobody present holds, by their wire names.
    pub missing_required: Vec<&'static str>,
}

impl DomainError {
    /// Shorthand for an [`DomainError::Invalid`] value.
    pub fn invalid(field: &'static str, code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Invalid { field, code, message: message.into() }
    }
}
