//! Dossiers (a patient's passage in one session) and the transmission of their reports.

use crate::DomainError;
use crate::ErrorCode;

/// Where a dossier stands: `registered` → `discussed` (a proposal is recorded) → `validated`;
/// or `withdrawn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DossierStatus {
    /// Registered in a session, not discussed yet.
    Registered,
    /// A therapeutic proposal has been recorded.
    Discussed,
    /// Validated by an animateur (or a secretary of one); the report exists.
    Validated,
    /// Taken out of the session.
    Withdrawn,
}

impl DossierStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [DossierStatus; 4] = [Self::Registered, Self::Discussed, Self::Validated, Self::Withdrawn];

    /// The lowercase API and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Discussed => "discussed",
            Self::Validated => "validated",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            DomainError::invalid(
                "status",
                ErrorCode::InvalidStatus,
                "dossier status must be one of registered, discussed, validated, withdrawn",
            )
        })
    }
}

/// Reads the storage spelling back: a stored value that is not one of them is a fault of the store.
impl TryFrom<String> for DossierStatus {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::parse(&s)
    }
}

/// How a validated report is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportChannel {
    /// MSSanté, the French secure health messaging.
    Mssante,
    /// Ordinary mail.
    Mail,
    /// Printed and handed over.
    Print,
}

impl ReportChannel {
    /// Every channel, in the order the API documents them.
    pub const ALL: [ReportChannel; 3] = [Self::Mssante, Self::Mail, Self::Print];

    /// The lowercase API and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mssante => "mssante",
            Self::Mail => "mail",
            Self::Print => "print",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| DomainError::invalid("channel", ErrorCode::InvalidChannel, "channel must be one of mssante, mail, print"))
    }
}

/// Reads the storage spelling back: a stored value that is not one of them is a fault of the store.
impl TryFrom<String> for ReportChannel {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::parse(&s)
    }
}

/// `POST /dossiers/{id}/validate`: whether a dossier in this state may be validated. The state
/// conflicts are reported before the missing proposal, since a validated dossier with no
/// proposal cannot exist and a withdrawn one will never get one.
pub fn validate_transition(status: DossierStatus, has_proposal: bool) -> Result<(), DomainError> {
    match status {
        DossierStatus::Validated => {
            Err(DomainError::Conflict { code: ErrorCode::AlreadyValidated, message: "this dossier is already validated".to_owned() })
        }
        DossierStatus::Withdrawn => Err(DomainError::Conflict {
            code: ErrorCode::DossierWithdrawn,
            message: "this dossier was withdrawn from the session".to_owned(),
        }),
        DossierStatus::Registered | DossierStatus::Discussed if !has_proposal => Err(DomainError::Unprocessable {
            code: ErrorCode::ProposalMissing,
            message: "a dossier is validated only once a therapeutic proposal is recorded".to_owned(),
        }),
        DossierStatus::Registered | DossierStatus::Discussed => Ok(()),
    }
}

/// `PATCH /dossiers/{id}`: the status after an edit. A validated dossier is frozen and a
/// withdrawn one is out of the session; otherwise a withdrawal wins, and the status follows the
/// proposal: recorded makes the dossier `discussed`, cleared makes it `registered` again.
pub fn edit_transition(status: DossierStatus, has_proposal_after: bool, withdraw: bool) -> Result<DossierStatus, DomainError> {
    match status {
        DossierStatus::Validated => {
            Err(DomainError::Conflict { code: ErrorCode::AlreadyValidated, message: "a validated dossier is frozen".to_owned() })
        }
        DossierStatus::Withdrawn => Err(DomainError::Conflict {
            code: ErrorCode::DossierWithdrawn,
            message: "this dossier was withdrawn from the session".to_owned(),
        }),
        _ if withdraw => Ok(DossierStatus::Withdrawn),
        _ if has_proposal_after => Ok(DossierStatus::Discussed),
        _ => Ok(DossierStatus::Registered),
    }
}

/// `POST /dossiers/{id}/report/transmissions`: only a validated dossier has a report to send.
pub fn ensure_report_sendable(status: DossierStatus) -> Result<(), DomainError> {
    if status == DossierStatus::Validated {
        Ok(())
    } else {
        Err(DomainError::Conflict { code: ErrorCode::NotValidated, message: "the report exists once the dossier is validated".to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for s in DossierStatus::ALL {
            assert_eq!(DossierStatus::parse(s.as_str()), Ok(s));
        }
        for c in ReportChannel::ALL {
            assert_eq!(ReportChannel::parse(c.as_str()), Ok(c));
        }
        assert!(matches!(ReportChannel::parse("fax"), Err(DomainError::Invalid { field: "channel", code: ErrorCode::InvalidChannel, .. })));
        assert!(DossierStatus::parse("VALIDATED").is_err());
    }

    #[test]
    fn validation_needs_a_live_dossier_with_a_proposal() {
        assert_eq!(validate_transition(DossierStatus::Discussed, true), Ok(()));
        assert_eq!(validate_transition(DossierStatus::Registered, true), Ok(()));
        assert!(matches!(
            validate_transition(DossierStatus::Registered, false),
            Err(DomainError::Unprocessable { code: ErrorCode::ProposalMissing, .. })
        ));
        for proposal in [true, false] {
            assert!(matches!(
                validate_transition(DossierStatus::Validated, proposal),
                Err(DomainError::Conflict { code: ErrorCode::AlreadyValidated, .. })
            ));
            assert!(matches!(
                validate_transition(DossierStatus::Withdrawn, proposal),
                Err(DomainError::Conflict { code: ErrorCode::DossierWithdrawn, .. })
            ));
        }
    }

    #[test]
    fn edits_follow_the_proposal_until_validation() {
        use DossierStatus::{Discussed, Registered, Validated, Withdrawn};
        assert_eq!(edit_transition(Registered, true, false), Ok(Discussed));
        assert_eq!(edit_transition(Registered, false, false), Ok(Registered));
        assert_eq!(edit_transition(Discussed, false, false), Ok(Registered));
        assert_eq!(edit_transition(Discussed, true, true), Ok(Withdrawn));
        assert!(matches!(edit_transition(Validated, true, false), Err(DomainError::Conflict { code: ErrorCode::AlreadyValidated, .. })));
        assert!(matches!(edit_transition(Withdrawn, true, false), Err(DomainError::Conflict { code: ErrorCode::DossierWithdrawn, .. })));
    }

    #[test]
    fn only_validated_reports_are_sent() {
        assert_eq!(ensure_report_sendable(DossierStatus::Validated), Ok(()));
        for s in [DossierStatus::Registered, DossierStatus::Discussed, DossierStatus::Withdrawn] {
            assert!(matches!(ensure_report_sendable(s), Err(DomainError::Conflict { code: ErrorCode::NotValidated, .. })));
        }
    }
}
