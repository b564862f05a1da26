//! Affiliations ("gérer les secrétaires"): secretaries and secretary groups holding a
//! physician's rights, and the reverse view, the physicians a secretary acts for.

use concerto_domain::affiliation::{ActingFor, ensure_physician, ensure_secretary};
use concerto_domain::principal::Principal;
use concerto_domain::professional::display_name;
use concerto_domain::rules;
use diesel::prelude::*;

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
}

/// The physicians whose rights a professional holds as secretary (P(S) with its routes).
pub fn acting_for(conn: &mut DbConnection, secretary_id: &str) -> Result<Vec<ActingFor>, Error> {
    Ok(acting_for_named(conn, secretary_id)?.into_iter().map(|a| a.acting_for).collect())
}

// Both routes in one round trip, as every request of a secretary loads them. Hand-written
// because diesel's MultiConnection has no UNION.
const ACTING_FOR_SQL: &str = "SELECT p.id, p.family_name, p.given_name, NULL \
     FROM secretary_affiliations a JOIN professionals p ON p.id = a.physician_id WHERE a.secretary_id = ? \
     UNION ALL SELECT p.id, p.family_name, p.given_name, g.group_id \
     FROM secretary_group_members m JOIN physician_secretary_groups g ON g.group_id = m.group_id \
     JOIN professionals p ON p.id = g.physician_id WHERE m.secretary_id = ?";

/// [`acting_for`] with the physicians' names, ordered by name.
pub fn acting_for_named(conn: &mut DbConnection, secretary_id: &str) -> Result<Vec<ActingForNamed>, Error> {
    use crate::cached_sql::{Bind, CachedSql};
    use diesel::sql_types::{Nullable, Text};
    let rows = CachedSql::<(Text, Text, Text, Nullable<Text>)>::new(ACTING_FOR_SQL)
        .bind(Bind::Text(secretary_id.to_owned()))
        .bind(Bind::Text(secretary_id.to_owned()))
        .load::<(String, String, String, Option<String>)>(conn)?;
    let mut all: Vec<ActingForNamed> = rows
        .into_iter()
        .map(|(physician_id, family, given, via_group_id)| ActingForNamed {
            acting_for: ActingFor { physician_id, via_group_id },
            display_name: display_name(&family, &given),
        })
        .collect();
    all.sort_by(|a, b| (&a.display_name, &a.acting_for).cmp(&(&b.display_name, &b.acting_for)));
    Ok(all)
}

/// `GET /professionals/{id}/secretaries`.
pub fn secretaries_of(conn: &mut DbConnection, p: &Principal, physician_id: &str) -> Result<SecretariesOf, Error> {
    crate::db::read(conn, |c| {
        directory::find(c, physician_id)?;
        rules::may_read_secretaries_of(p, physician_id, &directory::centers_of(c, physician_id)?)?;
        let direct = secretary_affiliations::table
            .inner_join(professionals::table.on(professionals::id.eq(secretary_affiliations::secretary_id)))
            .filter(secretary_affiliations::physician_id.eq(physician_id))
            .select((professionals::id, professionals::family_name, professionals::given_name))
            .order((professionals::search_name, professionals::id))
            .load::<(String, String, String)>(c)?;
        let via_groups = physician_secretary_groups::table
            .inner_join(secretary_group_members::table.on(secretary_group_members::group_id.eq(physician_secretary_groups::group_id)))
            .inner_join(professionals::table.on(professionals::id.eq(secretary_group_members::secretary_id)))
            .filter(physician_secretary_groups::physician_id.eq(physician_id))
            .select((professionals::id, professionals::family_name, professionals::given_name, physician_secretary_groups::group_id))
            .order((professionals::search_name, professionals::id, physician_secretary_groups::group_id))
            .load::<(String, String, String, String)>(c)?;
        let group_rows = physician_secretary_groups::table
            .inner_join(secretary_groups::table)
            .filter(physician_secretary_groups::physician_id.eq(physician_id))
            .select((secretary_groups::id, secretary_groups::name, secretary_groups::cancer_center_id))
            .order((secretary_groups::search_name, secretary_groups::id))
            .load::<(String, String, String)>(c)?;
        let secretaries = direct
            .into_iter()
            .map(|(id, f, g)| (id, f, g, None))
            .chain(via_groups.into_iter().map(|(id, f, g, group)| (id, f, g, Some(group))))
            .map(|(secretary_id, f, g, via_group_id)| SecretaryLink { secretary_id, display_name: display_name(&f, &g), via_group_id })
            .collect();
        let groups =
            group_rows.into_iter().map(|(group_id, name, cancer_center_id)| GroupRef { group_id, name, cancer_center_id }).collect();
        Ok(SecretariesOf { secretaries, groups })
    })
}

/// Loads both ends, checks the caller's right on a shared center and the categories.
fn check_direct(conn: &mut DbConnection, p: &Principal, physician_id: &str, secretary_id: &str) -> Result<(), Error> {
    let physician = directory::find(conn, physician_id)?;
    let secretary = directory::find(conn, secretary_id)?;
    rules::may_manage_affiliation(p, &directory::centers_of(conn, physician_id)?, &directory::centers_of(conn, secretary_id)?)?;
    ensure_physician(physician.category)?;
    ensure_secretary(secretary.category)?;
    Ok(())
}

/// `PUT /professionals/{id}/secretaries/{secretary_id}`: idempotent.
pub fn add_secretary(conn: &mut DbConnection, p: &Principal, physician_id: &str, secretary_id: &str) -> Result<(), Error> {
    crate::db::write(conn, |c| {
        directory::lock(c, &[physician_id, secretary_id])?;
        check_direct(c, p, physician_id, secretary_id)?;
        let exists = secretary_affiliations::table
            .find((physician_id, secretary_id))
            .select(secretary_affiliations::physician_id)
            .first::<String>(c)
            .optional()?;
        if exists.is_none() {
            diesel::insert_into(secretary_affiliations::table)
                .values((
                    secretary_affiliations::physician_id.eq(physician_id),
                    secretary_affiliations::secretary_id.eq(secretary_id),
                    secretary_affiliations::added_at.eq(now()),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}

/// `DELETE /professionals/{id}/secretaries/{secretary_id}`: idempotent; the secretary loses the
/// physician's rights with her next request.
pub fn remove_secretary(conn: &mut DbConnection, p: &Principal, physician_id: &str, secretary_id: &str) -> Result<(), Error> {
    crate::db::write(conn, |c| {
        directory::find(c, physician_id)?;
        directory::find(c, secretary_id)?;
        rules::may_manage_affiliation(p, &directory::centers_of(c, physician_id)?, &directory::centers_of(c, secretary_id)?)?;
        diesel::delete(secretary_affiliations::table.find((physician_id, secretary_id))).execute(c)?;
        Ok(())
    })
}

/// `PUT /professionals/{id}/secretary-groups/{group_id}`: idempotent; every member gains the
/// physician's rights at once.
pub fn add_group(conn: &mut DbConnection, p: &Principal, physician_id: &str, group_id: &str) -> Result<(), Error> {
    crate::db::write(conn, |c| {
        directory::lock(c, &[physician_id])?;
        let physician = directory::find(c, physician_id)?;
        let group = groups::find(c, group_id)?;
        rules::may_manage_affiliation(p, &directory::centers_of(c, physician_id)?, std::slice::from_ref(&group.cancer_center_id))?;
        ensure_physician(physician.category)?;
        let exists = physician_secretary_groups::table
            .find((physician_id, group_id))
            .select(physician_secretary_groups::group_id)
            .first::<String>(c)
            .optional()?;
        if exists.is_none() {
            diesel::insert_into(physician_secretary_groups::table)
                .values((
                    physician_secretary_groups::physician_id.eq(physician_id),
                    physician_secretary_groups::group_id.eq(group_id),
                    physician_secretary_groups::added_at.eq(now()),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}

/// `DELETE /professionals/{id}/secretary-groups/{group_id}`: idempotent.
pub fn remove_group(conn: &mut DbConnection, p: &Principal, physician_id: &str, group_id: &str) -> Result<(), Error> {
    crate::db::write(conn, |c| {
        directory::find(c, physician_id)?;
        let group = groups::find(c, group_id)?;
        rules::may_manage_affiliation(p, &directory::centers_of(c, physician_id)?, std::slice::from_ref(&group.cancer_center_id))?;
        diesel::delete(physician_secretary_groups::table.find((physician_id, group_id))).execute(c)?;
        Ok(())
    })
}
