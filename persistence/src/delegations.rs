//! The history of delegations, read back: every change of who holds whose rights is recorded
//! (`delegation_events`) in the transaction that makes it, so that "who held Dr X's rights on
//! 3 March, and through whom" is answered from the record.

use concerto_domain::ErrorCode;
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use concerto_domain::affiliation::Validity;
use concerto_domain::principal::Principal;
use concerto_domain::professional::display_name;
use concerto_domain::profile::ProfileKind;
use concerto_domain::rules;
use diesel::prelude::*;

use crate::delegation_events::{Action, Kind};
use crate::schema::{delegation_events, professionals};
use crate::{DbConnection, Error, Page, PageRequest, professionals as directory};

/// A recorded change, as `GET /professionals/{id}/delegation-history` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct DelegationEvent {
    /// Opaque id.
    pub id: String,
    /// When.
    pub at: NaiveDateTime,
    /// Who made it (`migration` for links that existed before the history).
    pub actor_id: String,
    /// What link changed.
    #[diesel(deserialize_as = String)]
    pub kind: Kind,
    /// What happened to it.
    #[diesel(deserialize_as = String)]
    pub action: Action,
    /// The physician, for (group) affiliations.
    pub physician_id: Option<String>,
    /// The secretary (or the professional of a profile).
    pub secretary_id: Option<String>,
    /// The group.
    pub group_id: Option<String>,
    /// The center of a profile.
    pub cancer_center_id: Option<String>,
    /// The kind of a profile.
    pub profile_kind: Option<String>,
    /// Dates after the change.
    pub valid_from: Option<NaiveDateTime>,
    /// Dates after the change.
    pub valid_until: Option<NaiveDateTime>,
    /// Dates before the change.
    pub previous_valid_from: Option<NaiveDateTime>,
    /// Dates before the change.
    pub previous_valid_until: Option<NaiveDateTime>,
}

/// Someone who held a physician's rights at an instant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Holder {
    /// The secretary.
    pub secretary_id: String,
    /// Her name.
    pub display_name: String,
    /// The group she held them through; `None`: directly.
    pub via_group_id: Option<String>,
}

/// Every event that bears on who holds `physician_id`'s rights: his affiliations and group
/// affiliations, the membership of the groups ever affiliated to him, and the secretary
/// profiles of the secretaries ever linked to him.
fn events_of(conn: &mut DbConnection, physician_id: &str) -> Result<delegation_events::BoxedQuery<'static, crate::db::Backend>, Error> {
    let groups: Vec<String> = delegation_events::table
        .filter(delegation_events::physician_id.eq(physician_id))
        .filter(delegation_events::kind.eq(Kind::GroupAffiliation.as_str()))
        .select(delegation_events::group_id.assume_not_null())
        .distinct()
        .load(conn)?;
    let mut secretaries: Vec<String> = delegation_events::table
        .filter(
            delegation_events::physician_id
                .eq(physician_id)
                .and(delegation_events::kind.eq(Kind::Affiliation.as_str()))
                .or(delegation_events::group_id.eq_any(groups.clone()).and(delegation_events::kind.eq(Kind::GroupMembership.as_str()))),
        )
        .select(delegation_events::secretary_id.assume_not_null())
        .distinct()
        .load(conn)?;
    secretaries.sort();
    Ok(delegation_events::table
        .filter(
            delegation_events::physician_id
                .eq(physician_id.to_owned())
                .or(delegation_events::kind.eq(Kind::GroupMembership.as_str()).and(delegation_events::group_id.eq_any(groups)))
                .or(delegation_events::kind
                    .eq(Kind::Profile.as_str())
                    .and(delegation_events::profile_kind.eq(ProfileKind::Secretary.as_str()))
                    .and(delegation_events::secretary_id.eq_any(secretaries))),
        )
        .into_boxed())
}

/// `GET /professionals/{id}/delegation-history`: the physician himself, coordinators of his
/// centers, the platform administrator; oldest first. With `at`, also who held his rights then.
pub fn history(
    conn: &mut DbConnection,
    p: &Principal,
    physician_id: &str,
    at: Option<NaiveDateTime>,
    page: &PageRequest,
) -> Result<(Page<DelegationEvent>, Option<Vec<Holder>>), Error> {
    crate::db::read(conn, |c| {
        directory::find(c, physician_id)?;
        rules::may_read_secretaries_of(p, physician_id, &directory::centers_of(c, physician_id)?)?;
        let mut query = events_of(c, physician_id)?;
        if let Some((t, id)) = &page.after {
            let t = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| {
                concerto_domain::DomainError::invalid("cursor", ErrorCode::InvalidCursor, "this cursor was not issued by this list")
            })?;
            query = query.filter(delegation_events::at.gt(t).or(delegation_events::at.eq(t).and(delegation_events::id.gt(id.clone()))));
        }
        let rows = query.order((delegation_events::at, delegation_events::id)).limit(page.fetch()).load::<DelegationEvent>(c)?;
        let events = Page::from_rows(rows, page, |e| (crate::page::cursor_time(e.at), e.id.clone()));
        let holders = match at {
            Some(t) => Some(holders_at(c, physician_id, t)?),
            None => None,
        };
        Ok((events, holders))
    })
}

/// Replays the events up to `t` (included): who held the physician's rights at that instant.
fn holders_at(conn: &mut DbConnection, physician_id: &str, t: NaiveDateTime) -> Result<Vec<Holder>, Error> {
    let events = events_of(conn, physician_id)?
        .filter(delegation_events::at.le(t))
        .order((delegation_events::at, delegation_events::id))
        .load::<DelegationEvent>(conn)?;
    let (mut direct, mut groups) = (BTreeMap::<String, Validity>::new(), BTreeMap::<String, Validity>::new());
    let (mut members, mut profiled) = (BTreeSet::<(String, String)>::new(), BTreeSet::<(String, String)>::new());
    for e in &events {
        let live = e.action != Action::Ended;
        let validity = Validity { valid_from: e.valid_from, valid_until: e.valid_until };
        let (secretary, group, center) = (
            e.secretary_id.clone().unwrap_or_default(),
            e.group_id.clone().unwrap_or_default(),
            e.cancer_center_id.clone().unwrap_or_default(),
        );
        match e.kind {
            Kind::Affiliation if live => drop(direct.insert(secretary, validity)),
            Kind::Affiliation => drop(direct.remove(&secretary)),
            Kind::GroupAffiliation if live => drop(groups.insert(group, validity)),
            Kind::GroupAffiliation => drop(groups.remove(&group)),
            Kind::GroupMembership if live => drop(members.insert((group, secretary))),
            Kind::GroupMembership => drop(members.remove(&(group, secretary))),
            Kind::Profile if live => drop(profiled.insert((secretary, center))),
            Kind::Profile => drop(profiled.remove(&(secretary, center))),
        }
    }
    // She holds rights only as a secretary: with a secretary profile on some center.
    let is_secretary = |s: &str| profiled.iter().any(|(who, _)| who == s);
    let mut held: Vec<(String, Option<String>)> =
        direct.iter().filter(|(s, v)| v.grants_at(t) && is_secretary(s)).map(|(s, _)| (s.clone(), None)).collect();
    for group in groups.iter().filter(|(_, v)| v.grants_at(t)).map(|(g, _)| g) {
        held.extend(members.iter().filter(|(g, s)| g == group && is_secretary(s)).map(|(_, s)| (s.clone(), Some(group.clone()))));
    }
    let ids: Vec<&String> = held.iter().map(|(s, _)| s).collect();
    let names: BTreeMap<String, String> = professionals::table
        .filter(professionals::id.eq_any(ids))
        .select((professionals::id, professionals::family_name, professionals::given_name))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, f, g)| (id, display_name(&f, &g)))
        .collect();
    let mut holders: Vec<Holder> = held
        .into_iter()
        .map(|(secretary_id, via_group_id)| Holder {
            display_name: names.get(&secretary_id).cloned().unwrap_or_default(),
            secretary_id,
            via_group_id,
        })
        .collect();
    holders.sort();
    Ok(holders)
}
