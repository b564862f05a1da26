//! Affiliations ("gérer les secrétaires"): secretaries and secretary groups holding a
//! physician's rights, and the reverse view, the physicians a secretary acts for.

use chrono::NaiveDateTime;
use concerto_domain::affiliation::{ActingFor, Validity, ensure_physician, ensure_secretary};
use concerto_domain::id::{GroupId, ProfessionalId};
use concerto_domain::principal::Principal;
use concerto_domain::professional::display_name;
use concerto_domain::profile::ProfileKind;
use concerto_domain::rules;
use diesel::prelude::*;

use crate::delegation_events::{self, Action, Change, Kind};
use crate::schema::{physician_secretary_groups, professionals, secretary_affiliations, secretary_group_members, secretary_groups};
use crate::{DbConnection, Error, now, professionals as directory, secretary_groups as groups};

/// A secretary of a physician, directly (`via_group_id: None`) or as a member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretaryLink {
    /// The secretary.
    pub secretary_id: String,
    /// Her display name.
    pub display_name: String,
    /// The group through which she is affiliated.
    pub via_group_id: Option<String>,
    /// The delegation's dates (the group's, via a group).
    pub validity: Validity,
}

/// A secretary group affiliated to a physician.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    /// The group.
    pub group_id: String,
    /// Its name.
    pub name: String,
    /// Its center.
    pub cancer_center_id: String,
    /// The delegation's dates.
    pub validity: Validity,
}

/// "Gérer les secrétaires" of one physician.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretariesOf {
    /// Every secretary holding his rights, direct ones first.
    pub secretaries: Vec<SecretaryLink>,
    /// The groups affiliated to him.
    pub groups: Vec<GroupRef>,
}

/// A physician a secretary acts for, with the name `/me` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActingForNamed {
    /// Physician and route.
    pub acting_for: ActingFor,
    /// The physician's display name.
    pub display_name: String,
    /// The dates of the delegation it comes through (of the group's, via a group).
    pub validity: Validity,
}

/// A row of P(S), as `accounts::load_caller` reads it with the rights: the physician's id and
/// names, the group it comes through, the dates.
pub(crate) struct ActingForRow {
    pub physician_id: String,
    pub family: String,
    pub given: String,
    pub via_group_id: Option<String>,
    pub valid_from: Option<NaiveDateTime>,
    pub valid_until: Option<NaiveDateTime>,
}

/// P(S) from its rows, ordered by name.
pub(crate) fn named(rows: Vec<ActingForRow>) -> Vec<ActingForNamed> {
    let mut all: Vec<ActingForNamed> = rows
        .into_iter()
        .map(|ActingForRow { physician_id, family, given, via_group_id, valid_from, valid_until }| ActingForNamed {
            acting_for: ActingFor { physician_id, via_group_id },
            display_name: display_name(&family, &given),
            validity: Validity { valid_from, valid_until },
        })
        .collect();
    all.sort_by(|a, b| (&a.display_name, &a.acting_for).cmp(&(&b.display_name, &b.acting_for)));
    all
}

/// `GET /professionals/{id}/secretaries`.
pub fn secretaries_of(conn: &mut DbConnection, p: &Principal, physician_id: &str) -> Result<SecretariesOf, Error> {
    crate::db::read(conn, |c| {
        directory::find(c, physician_id)?;
        rules::may_read_secretaries_of(p, physician_id, &directory::centers_of(c, physician_id)?)?;
        let direct = secretary_affiliations::table
            .inner_join(professionals::table.on(professionals::id.eq(secretary_affiliations::secretary_id)))
            .filter(secretary_affiliations::physician_id.eq(physician_id))
            .select((
                professionals::id,
                professionals::family_name,
                professionals::given_name,
                secretary_affiliations::valid_from,
                secretary_affiliations::valid_until,
            ))
            .order((professionals::search_name, professionals::id))
            .load::<(String, String, String, Option<NaiveDateTime>, Option<NaiveDateTime>)>(c)?;
        let via_groups = physician_secretary_groups::table
            .inner_join(secretary_group_members::table.on(secretary_group_members::group_id.eq(physician_secretary_groups::group_id)))
            .inner_join(professionals::table.on(professionals::id.eq(secretary_group_members::secretary_id)))
            .filter(physician_secretary_groups::physician_id.eq(physician_id))
            .select((
                professionals::id,
                professionals::family_name,
                professionals::given_name,
                physician_secretary_groups::group_id,
                physician_secretary_groups::valid_from,
                physician_secretary_groups::valid_until,
            ))
            .order((professionals::search_name, professionals::id, physician_secretary_groups::group_id))
            .load::<(String, String, String, String, Option<NaiveDateTime>, Option<NaiveDateTime>)>(c)?;
        let group_rows = physician_secretary_groups::table
            .inner_join(secretary_groups::table)
            .filter(physician_secretary_groups::physician_id.eq(physician_id))
            .select((
                secretary_groups::id,
                secretary_groups::name,
                secretary_groups::cancer_center_id,
                physician_secretary_groups::valid_from,
                physician_secretary_groups::valid_until,
            ))
            .order((secretary_groups::search_name, secretary_groups::id))
            .load::<(String, String, String, Option<NaiveDateTime>, Option<NaiveDateTime>)>(c)?;
        let secretaries = direct
            .into_iter()
            .map(|(id, f, g, from, until)| (id, f, g, None, from, until))
            .chain(via_groups.into_iter().map(|(id, f, g, group, from, until)| (id, f, g, Some(group), from, until)))
            .map(|(secretary_id, f, g, via_group_id, valid_from, valid_until)| SecretaryLink {
                secretary_id,
                display_name: display_name(&f, &g),
                via_group_id,
                validity: Validity { valid_from, valid_until },
            })
            .collect();
        let groups = group_rows
            .into_iter()
            .map(|(group_id, name, cancer_center_id, valid_from, valid_until)| GroupRef {
                group_id,
                name,
                cancer_center_id,
                validity: Validity { valid_from, valid_until },
            })
            .collect();
        Ok(SecretariesOf { secretaries, groups })
    })
}

/// Loads both ends of a direct affiliation and asks `rules::may_grant_delegation` who may make
/// it, then checks the categories.
fn may_grant_direct(conn: &mut DbConnection, p: &Principal, physician_id: &str, secretary_id: &str, dates: &Validity) -> Result<(), Error> {
    let physician = directory::find(conn, physician_id)?;
    let secretary = directory::find(conn, secretary_id)?;
    let physician_centers = directory::centers_of(conn, physician_id)?;
    let profiles = directory::profiles_of(conn, secretary_id)?;
    let mut secretary_centers: Vec<String> = profiles.iter().map(|pr| pr.cancer_center_id.clone()).collect();
    secretary_centers.dedup();
    let secretary_profile_centers: Vec<String> =
        profiles.into_iter().filter(|pr| pr.kind == ProfileKind::Secretary).map(|pr| pr.cancer_center_id).collect();
    let has_end = dates.valid_until.is_some();
    rules::may_grant_delegation(p, physician_id, &physician_centers, &secretary_centers, &secretary_profile_centers, has_end)?;
    ensure_physician(physician.category)?;
    ensure_secretary(secretary.category)?;
    Ok(())
}

/// `PUT /professionals/{id}/secretaries/{secretary_id}`: idempotent; with dates, the delegation
/// grants only between them (a second PUT changes them). Recorded in the delegation history.
pub fn add_secretary(conn: &mut DbConnection, p: &Principal, physician_id: &str, secretary_id: &str, dates: Validity) -> Result<(), Error> {
    crate::db::write(conn, |c| {
        directory::lock(c, &[physician_id, secretary_id])?;
        may_grant_direct(c, p, physician_id, secretary_id, &dates)?;
        let current = secretary_affiliations::table
            .find((physician_id, secretary_id))
            .select((secretary_affiliations::valid_from, secretary_affiliations::valid_until))
            .first::<(Option<NaiveDateTime>, Option<NaiveDateTime>)>(c)
            .optional()?
            .map(|(valid_from, valid_until)| Validity { valid_from, valid_until });
        let change = Change { physician_id: Some(physician_id), secretary_id: Some(secretary_id), validity: dates, ..Change::default() };
        match current {
            None => {
                diesel::insert_into(secretary_affiliations::table)
                    .values((
                        secretary_affiliations::physician_id.eq(physician_id),
                        secretary_affiliations::secretary_id.eq(secretary_id),
                        secretary_affiliations::added_at.eq(now()),
                        secretary_affiliations::valid_from.eq(dates.valid_from),
                        secretary_affiliations::valid_until.eq(dates.valid_until),
                    ))
                    .execute(c)?;
                delegation_events::record(c, p, Kind::Affiliation, Action::Granted, &change)?;
            }
            Some(previous) if previous != dates => {
                let changed = diesel::update(secretary_affiliations::table.find((physician_id, secretary_id)))
                    .set((
                        secretary_affiliations::valid_from.eq(dates.valid_from),
                        secretary_affiliations::valid_until.eq(dates.valid_until),
                    ))
                    .execute(c)?;
                // The history records what the statement did, never what the read above assumed.
                if changed == 1 {
                    delegation_events::record(c, p, Kind::Affiliation, Action::Changed, &Change { previous, ..change })?;
                }
            }
            Some(_) => {}
        }
        Ok(())
    })
}

/// `DELETE /professionals/{id}/secretaries/{secretary_id}`: idempotent; the secretary loses the
/// physician's rights with her next request. The physician himself may end any of his.
pub fn remove_secretary(conn: &mut DbConnection, p: &Principal, physician_id: &str, secretary_id: &str) -> Result<(), Error> {
    crate::db::write(conn, |c| {
        // The grant's lock: a removal and a grant of one delegation take turns, so the history
        // records them in the order they happened.
        directory::lock(c, &[physician_id, secretary_id])?;
        directory::find(c, physician_id)?;
        directory::find(c, secretary_id)?;
        let managed = rules::may_manage_affiliation(p, &directory::centers_of(c, physician_id)?, &directory::centers_of(c, secretary_id)?);
        rules::may_end_delegation(p, physician_id, managed)?;
        let previous = secretary_affiliations::table
            .find((physician_id, secretary_id))
            .select((secretary_affiliations::valid_from, secretary_affiliations::valid_until))
            .first::<(Option<NaiveDateTime>, Option<NaiveDateTime>)>(c)
            .optional()?;
        if let Some((valid_from, valid_until)) = previous {
            // Only the removal that removed the row records its end: of identical removals
            // racing, the others wait on the lock and then find nothing.
            if diesel::delete(secretary_affiliations::table.find((physician_id, secretary_id))).execute(c)? == 0 {
                return Ok(());
            }
            let previous = Validity { valid_from, valid_until };
            let change = Change { physician_id: Some(physician_id), secretary_id: Some(secretary_id), previous, ..Change::default() };
            delegation_events::record(c, p, Kind::Affiliation, Action::Ended, &change)?;
        }
        Ok(())
    })
}

/// `PUT /professionals/{id}/secretary-groups/{group_id}`: idempotent; every member gains the
/// physician's rights at once (or between the dates given). Recorded in the history.
pub fn add_group(
    conn: &mut DbConnection,
    p: &Principal,
    physician: &ProfessionalId,
    group: &GroupId,
    dates: Validity,
) -> Result<(), Error> {
    let (physician_id, group_id) = (physician.as_str(), group.as_str());
    crate::db::write(conn, |c| {
        directory::lock(c, &[physician_id])?;
        let physician = directory::find(c, physician_id)?;
        let group = groups::find(c, group_id)?;
        rules::may_manage_affiliation(p, &directory::centers_of(c, physician_id)?, std::slice::from_ref(&group.cancer_center_id))?;
        ensure_physician(physician.category)?;
        let current = physician_secretary_groups::table
            .find((physician_id, group_id))
            .select((physician_secretary_groups::valid_from, physician_secretary_groups::valid_until))
            .first::<(Option<NaiveDateTime>, Option<NaiveDateTime>)>(c)
            .optional()?
            .map(|(valid_from, valid_until)| Validity { valid_from, valid_until });
        let change = Change { physician_id: Some(physician_id), group_id: Some(group_id), validity: dates, ..Change::default() };
        match current {
            None => {
                diesel::insert_into(physician_secretary_groups::table)
                    .values((
                        physician_secretary_groups::physician_id.eq(physician_id),
                        physician_secretary_groups::group_id.eq(group_id),
                        physician_secretary_groups::added_at.eq(now()),
                        physician_secretary_groups::valid_from.eq(dates.valid_from),
                        physician_secretary_groups::valid_until.eq(dates.valid_until),
                    ))
                    .execute(c)?;
                delegation_events::record(c, p, Kind::GroupAffiliation, Action::Granted, &change)?;
            }
            Some(previous) if previous != dates => {
                let changed = diesel::update(physician_secretary_groups::table.find((physician_id, group_id)))
                    .set((
                        physician_secretary_groups::valid_from.eq(dates.valid_from),
                        physician_secretary_groups::valid_until.eq(dates.valid_until),
                    ))
                    .execute(c)?;
                // The history records what the statement did, never what the read above assumed.
                if changed == 1 {
                    delegation_events::record(c, p, Kind::GroupAffiliation, Action::Changed, &Change { previous, ..change })?;
                }
            }
            Some(_) => {}
        }
        Ok(())
    })
}

/// `DELETE /professionals/{id}/secretary-groups/{group_id}`: idempotent; the physician himself
/// may end it too.
pub fn remove_group(conn: &mut DbConnection, p: &Principal, physician: &ProfessionalId, group: &GroupId) -> Result<(), Error> {
    let (physician_id, group_id) = (physician.as_str(), group.as_str());
    crate::db::write(conn, |c| {
        directory::lock(c, &[physician_id])?;
        directory::find(c, physician_id)?;
        let group = groups::find(c, group_id)?;
        let managed =
            rules::may_manage_affiliation(p, &directory::centers_of(c, physician_id)?, std::slice::from_ref(&group.cancer_center_id));
        rules::may_end_delegation(p, physician_id, managed)?;
        let previous = physician_secretary_groups::table
            .find((physician_id, group_id))
            .select((physician_secretary_groups::valid_from, physician_secretary_groups::valid_until))
            .first::<(Option<NaiveDateTime>, Option<NaiveDateTime>)>(c)
            .optional()?;
        if let Some((valid_from, valid_until)) = previous {
            // Only the removal that removed the row records its end: of identical removals
            // racing, the others wait on the lock and then find nothing.
            if diesel::delete(physician_secretary_groups::table.find((physician_id, group_id))).execute(c)? == 0 {
                return Ok(());
            }
            let previous = Validity { valid_from, valid_until };
            let change = Change { physician_id: Some(physician_id), group_id: Some(group_id), previous, ..Change::default() };
            delegation_events::record(c, p, Kind::GroupAffiliation, Action::Ended, &change)?;
        }
        Ok(())
    })
}
