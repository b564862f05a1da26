//! RCPs (tumor boards) and their sessions: member roles, the session life cycle, and the roles
//! of one RCP as the delegation rules read them.

use crate::DomainError;
use crate::ErrorCode;

/// The role of a physician in an RCP.
///
/// Ordered so that `Animateur` is the stronger role: if storage ever held both rows for one
/// physician, the chair's rights are the ones he has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberRole {
    /// Takes part in the sessions and sees every dossier of them.
    Participant,
    /// Chairs the sessions: runs them and validates the dossiers.
    Animateur,
}

impl MemberRole {
    /// Every role, in the order the API documents them.
    pub const ALL: [MemberRole; 2] = [Self::Participant, Self::Animateur];

    /// The lowercase API and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Participant => "participant",
            Self::Animateur => "animateur",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| DomainError::invalid("role", ErrorCode::InvalidRole, "role must be one of participant, animateur"))
    }
}

/// Where a session stands: `planned` → `in_progress` → `closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionStatus {
    /// Scheduled; dossiers may still be registered.
    Planned,
    /// Being held; members discuss and animateurs validate.
    InProgress,
    /// Over; the medical content is frozen.
    Closed,
}

/// What is asked of a session's life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionAction {
    /// `POST /sessions/{id}/start`.
    Start,
    /// `POST /sessions/{id}/close`.
    Close,
}

impl SessionAction {
    /// The verb, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Close => "close",
        }
    }
}

impl SessionStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [SessionStatus; 3] = [Self::Planned, Self::InProgress, Self::Closed];

    /// The lowercase API and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::InProgress => "in_progress",
            Self::Closed => "closed",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            DomainError::invalid("status", ErrorCode::InvalidStatus, "session status must be one of planned, in_progress, closed")
        })
    }

    /// The status after `action`; the life cycle only moves forward, one step at a time.
    pub fn next(self, action: SessionAction) -> Result<SessionStatus, DomainError> {
        match (self, action) {
            (Self::Planned, SessionAction::Start) => Ok(Self::InProgress),
            (Self::InProgress, SessionAction::Close) => Ok(Self::Closed),
            _ => Err(DomainError::Conflict {
                code: ErrorCode::InvalidTransition,
                message: format!("cannot {} a session that is {}", action.as_str(), self.as_str()),
            }),
        }
    }
}

/// Reads the storage spelling back: a stored value that is not one of them is a fault of the store.
impl TryFrom<String> for SessionStatus {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::parse(&s)
    }
}

/// The relations of one RCP that the delegation rules are decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RcpRoles {
    /// The RCP.
    pub rcp_id: String,
    /// The cancer center the RCP belongs to; a secretary acts on it only through a secretary
    /// profile on this center.
    pub cancer_center_id: String,
    /// The member physicians and their roles.
    pub members: Vec<(String, MemberRole)>,
    /// The RCP managers ("responsables de RCP"); being a manager grants no medical right.
    pub managers: Vec<String>,
}

impl RcpRoles {
    /// The role of this professional in the RCP, if he is a member (the stronger one should the
    /// members list repeat him).
    pub fn role_of(&self, professional_id: &str) -> Option<MemberRole> {
        self.members.iter().filter(|(id, _)| id == professional_id).map(|(_, role)| *role).max()
    }

    /// True when this professional is a member, whatever the role.
    pub fn is_member(&self, professional_id: &str) -> bool {
        self.role_of(professional_id).is_some()
    }

    /// True when this professional chairs the RCP.
    pub fn is_animateur(&self, professional_id: &str) -> bool {
        self.role_of(professional_id) == Some(MemberRole::Animateur)
    }

    /// True when this professional manages the RCP.
    pub fn is_manager(&self, professional_id: &str) -> bool {
        self.managers.iter().any(|id| id == professional_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for r in MemberRole::ALL {
            assert_eq!(MemberRole::parse(r.as_str()), Ok(r));
        }
        for s in SessionStatus::ALL {
            assert_eq!(SessionStatus::parse(s.as_str()), Ok(s));
        }
        assert!(matches!(MemberRole::parse("chair"), Err(DomainError::Invalid { field: "role", code: ErrorCode::InvalidRole, .. })));
        assert!(SessionStatus::parse("Planned").is_err());
    }

    #[test]
    fn sessions_move_forward_one_step_at_a_time() {
        use SessionAction::{Close, Start};
        use SessionStatus::{Closed, InProgress, Planned};
        assert_eq!(Planned.next(Start), Ok(InProgress));
        assert_eq!(InProgress.next(Close), Ok(Closed));
        for (from, action) in [(Planned, Close), (InProgress, Start), (Closed, Start), (Closed, Close)] {
            assert!(matches!(from.next(action), Err(DomainError::Conflict { code: ErrorCode::InvalidTransition, .. })));
        }
    }

    #[test]
    fn roles_are_read_from_the_member_list() {
        let rcp = RcpRoles {
            rcp_id: "r1".into(),
            cancer_center_id: "c1".into(),
            members: vec![
                ("d1".into(), MemberRole::Participant),
                ("d2".into(), MemberRole::Animateur),
                ("d1".into(), MemberRole::Animateur),
            ],
            managers: vec!["m1".into()],
        };
        assert_eq!(rcp.role_of("d2"), Some(MemberRole::Animateur));
        assert!(rcp.is_animateur("d1"), "a repeated member keeps the stronger role");
        assert!(rcp.is_member("d1") && !rcp.is_member("m1"));
        assert!(rcp.is_manager("m1") && !rcp.is_manager("d1"));
    }
}
