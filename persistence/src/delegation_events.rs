//! The record of delegation changes: one event per change of who holds whose rights
//! (affiliations, group affiliations, group membership, profiles), written in the transaction
//! that makes the change. Read back by `delegations` (the history) and replayed by `check`.

use concerto_domain::DomainError;
use concerto_domain::ErrorCode;
use concerto_domain::affiliation::Validity;
use concerto_domain::principal::Principal;
use concerto_domain::profile::ProfileKind;
use diesel::prelude::*;

use crate::schema::delegation_events;
use crate::{DbConnection, Error, new_id, now};

/// What a delegation event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Physician ↔ secretary.
    Affiliation,
    /// Physician ↔ secretary group.
    GroupAffiliation,
    /// Secretary group ↔ secretary.
    GroupMembership,
    /// Professional ↔ center (a profile).
    Profile,
}

impl Kind {
    /// The API and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Affiliation => "affiliation",
            Self::GroupAffiliation => "group_affiliation",
            Self::GroupMembership => "group_membership",
            Self::Profile => "profile",
        }
    }
}

/// What happened to the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Made.
    Granted,
    /// Its dates changed.
    Changed,
    /// Removed.
    Ended,
}

impl Action {
    /// The API and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Changed => "changed",
            Self::Ended => "ended",
        }
    }
}

/// Reads the storage spelling back: a stored value that is not one of them is a fault of the store.
impl TryFrom<String> for Kind {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Self, DomainError> {
        [Self::Affiliation, Self::GroupAffiliation, Self::GroupMembership, Self::Profile]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| DomainError::invalid("kind", ErrorCode::InternalError, format!("`{s}` is not a kind of delegation event")))
    }
}

/// Reads the storage spelling back: a stored value that is not one of them is a fault of the store.
impl TryFrom<String> for Action {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Self, DomainError> {
        [Self::Granted, Self::Changed, Self::Ended]
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| DomainError::invalid("action", ErrorCode::InternalError, format!("`{s}` is not an action of delegation event")))
    }
}

/// One change to record.
#[derive(Debug, Clone, Default)]
pub(crate) struct Change<'a> {
    pub physician_id: Option<&'a str>,
    pub secretary_id: Option<&'a str>,
    pub group_id: Option<&'a str>,
    pub cancer_center_id: Option<&'a str>,
    pub profile_kind: Option<ProfileKind>,
    pub validity: Validity,
    pub previous: Validity,
}

/// Records a change, in the caller's transaction.
pub(crate) fn record(conn: &mut DbConnection, actor: &Principal, kind: Kind, action: Action, c: &Change<'_>) -> Result<(), Error> {
    diesel::insert_into(delegation_events::table)
        .values((
            delegation_events::id.eq(new_id()),
            delegation_events::at.eq(now()),
            delegation_events::actor_id.eq(&actor.professional_id),
            delegation_events::kind.eq(kind.as_str()),
            delegation_events::action.eq(action.as_str()),
            delegation_events::physician_id.eq(c.physician_id),
            delegation_events::secretary_id.eq(c.secretary_id),
            delegation_events::group_id.eq(c.group_id),
            delegation_events::cancer_center_id.eq(c.cancer_center_id),
            delegation_events::profile_kind.eq(c.profile_kind.map(ProfileKind::as_str)),
            delegation_events::valid_from.eq(c.validity.valid_from),
            delegation_events::valid_until.eq(c.validity.valid_until),
            delegation_events::previous_valid_from.eq(c.previous.valid_from),
            delegation_events::previous_valid_until.eq(c.previous.valid_until),
        ))
        .execute(conn)?;
    Ok(())
}

/// One `granted` event for every link that has none yet, dated when the link was made, by
/// `actor`: what a bulk load (the benchmark's region) writes after inserting links set-based,
/// so that its history replays to what exists (`concerto check`). The same statements as
/// migration `2026-11-26-000007`, standard SQL on both stores.
#[cfg(feature = "region")]
pub(crate) fn record_links_without_history(conn: &mut DbConnection, actor: &str) -> Result<(), Error> {
    use diesel::sql_types::Text;
    const STATEMENTS: [&str; 4] = [
        "INSERT INTO delegation_events (id, at, actor_id, kind, action, physician_id, secretary_id) \
         SELECT 'load-a-' || physician_id || '-' || secretary_id, added_at, $1, 'affiliation', 'granted', physician_id, secretary_id \
         FROM secretary_affiliations a WHERE NOT EXISTS (SELECT 1 FROM delegation_events e WHERE e.kind = 'affiliation' \
         AND e.physician_id = a.physician_id AND e.secretary_id = a.secretary_id)",
        "INSERT INTO delegation_events (id, at, actor_id, kind, action, physician_id, group_id) \
         SELECT 'load-g-' || physician_id || '-' || group_id, added_at, $1, 'group_affiliation', 'granted', physician_id, group_id \
         FROM physician_secretary_groups g WHERE NOT EXISTS (SELECT 1 FROM delegation_events e WHERE e.kind = 'group_affiliation' \
         AND e.physician_id = g.physician_id AND e.group_id = g.group_id)",
        "INSERT INTO delegation_events (id, at, actor_id, kind, action, secretary_id, group_id) \
         SELECT 'load-m-' || group_id || '-' || secretary_id, added_at, $1, 'group_membership', 'granted', secretary_id, group_id \
         FROM secretary_group_members m WHERE NOT EXISTS (SELECT 1 FROM delegation_events e WHERE e.kind = 'group_membership' \
         AND e.group_id = m.group_id AND e.secretary_id = m.secretary_id)",
        "INSERT INTO delegation_events (id, at, actor_id, kind, action, secretary_id, cancer_center_id, profile_kind) \
         SELECT 'load-p-' || professional_id || '-' || cancer_center_id || '-' || kind, granted_at, $1, 'profile', 'granted', \
         professional_id, cancer_center_id, kind FROM profiles p WHERE NOT EXISTS (SELECT 1 FROM delegation_events e \
         WHERE e.kind = 'profile' AND e.secretary_id = p.professional_id AND e.cancer_center_id = p.cancer_center_id \
         AND e.profile_kind = p.kind)",
    ];
    for sql in STATEMENTS {
        diesel::sql_query(sql).bind::<Text, _>(actor).execute(conn)?;
    }
    Ok(())
}
