//! The professional directory: creation, search, detail, categories and profiles.

use concerto_domain::ErrorCode;
use concerto_domain::affiliation::{AffiliationTies, check_category_change};
use concerto_domain::id::{CancerCenterId, ProfessionalId};
use concerto_domain::principal::Principal;
use concerto_domain::professional::{Category, Professional, Rpps};
use concerto_domain::profile::{Profile, ProfileKind};
use concerto_domain::{rules, text};
use std::collections::HashMap;

use diesel::prelude::*;

use crate::delegation_events::{self, Action, Change, Kind};
use crate::schema::{physician_secretary_groups, professionals, profiles, rcp_members, secretary_affiliations, secretary_group_members};
use crate::{DbConnection, Error, Page, PageRequest, new_id, now};

/// A professional as stored, read as [`COLUMNS`].
#[derive(Queryable)]
pub(crate) struct Row {
    id: String,
    family_name: String,
    given_name: String,
    rpps: Option<String>,
    email: Option<String>,
    #[diesel(deserialize_as = String)]
    category: Category,
}

/// The columns a [`Professional`] is read from.
pub(crate) const COLUMNS: (
    professionals::id,
    professionals::family_name,
    professionals::given_name,
    professionals::rpps,
    professionals::email,
    professionals::category,
) = (
    professionals::id,
    professionals::family_name,
    professionals::given_name,
    professionals::rpps,
    professionals::email,
    professionals::category,
);

impl From<Row> for Professional {
    fn from(Row { id, family_name, given_name, rpps, email, category }: Row) -> Self {
        Professional { id, family_name, given_name, rpps, email, category }
    }
}

/// A professional to create.
#[derive(Debug, Clone)]
pub struct NewProfessional {
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// Checked RPPS number.
    pub rpps: Option<Rpps>,
    /// Contact email.
    pub email: Option<String>,
    /// Directory category.
    pub category: Category,
}

/// A directory search.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Name prefix (family or given name, case- and accent-insensitive) or an exact RPPS.
    pub q: Option<String>,
    /// Only this category.
    pub category: Option<Category>,
    /// Only professionals holding a profile on this center.
    pub cancer_center_id: Option<String>,
    /// Only physicians of this specialty.
    pub specialty: Option<concerto_domain::specialty::Specialty>,
}

/// Inserts a professional; an RPPS already in the directory is a conflict.
pub(crate) fn insert(conn: &mut DbConnection, new: &NewProfessional) -> Result<Professional, Error> {
    if let Some(rpps) = &new.rpps {
        let taken = professionals::table
            .filter(professionals::rpps.eq(rpps.as_str()))
            .select(professionals::id)
            .first::<String>(conn)
            .optional()?;
        if taken.is_some() {
            return Err(Error::conflict(ErrorCode::RppsTaken, "a professional with this RPPS number already exists"));
        }
    }
    let id = new_id();
    let family_name = new.family_name.trim().to_owned();
    let given_name = new.given_name.trim().to_owned();
    diesel::insert_into(professionals::table)
        .values((
            professionals::id.eq(&id),
            professionals::family_name.eq(&family_name),
            professionals::given_name.eq(&given_name),
            professionals::search_name.eq(text::search_key(&format!("{family_name} {given_name}"))),
            professionals::search_name_given_first.eq(text::search_key(&format!("{given_name} {family_name}"))),
            professionals::rpps.eq(new.rpps.as_ref().map(Rpps::as_str)),
            professionals::email.eq(new.email.as_deref()),
            professionals::category.eq(new.category.as_str()),
            professionals::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(Professional {
        id,
        family_name,
        given_name,
        rpps: new.rpps.as_ref().map(|r| r.as_str().to_owned()),
        email: new.email.clone(),
        category: new.category,
    })
}

/// `POST /professionals`: the platform administrator adds someone to the directory.
pub fn create(conn: &mut DbConnection, p: &Principal, new: &NewProfessional) -> Result<Professional, Error> {
    rules::may_administer_platform(p)?;
    crate::db::write(conn, |c| insert(c, new))
}

/// The professional with this id.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Professional, Error> {
    let row = professionals::table.find(id).select(COLUMNS).first::<Row>(conn).optional()?;
    Ok(row.ok_or(Error::NotFound("professional"))?.into())
}

/// The profiles a professional holds, ordered by center then kind.
pub fn profiles_of(conn: &mut DbConnection, id: &str) -> Result<Vec<Profile>, Error> {
    let rows = profiles::table
        .filter(profiles::professional_id.eq(id))
        .select((profiles::cancer_center_id, profiles::kind))
        .order((profiles::cancer_center_id, profiles::kind))
        .load::<(String, String)>(conn)?;
    rows.into_iter().map(|(cancer_center_id, kind)| Ok(Profile { cancer_center_id, kind: ProfileKind::parse(&kind)? })).collect()
}

/// The profiles of several professionals in one query, keyed by professional.
pub fn profiles_of_many(conn: &mut DbConnection, ids: &[String]) -> Result<HashMap<String, Vec<Profile>>, Error> {
    let rows = profiles::table
        .filter(profiles::professional_id.eq_any(ids))
        .select((profiles::professional_id, profiles::cancer_center_id, profiles::kind))
        .order((profiles::professional_id, profiles::cancer_center_id, profiles::kind))
        .load::<(String, String, String)>(conn)?;
    let mut map: HashMap<String, Vec<Profile>> = HashMap::new();
    for (id, cancer_center_id, kind) in rows {
        map.entry(id).or_default().push(Profile { cancer_center_id, kind: ProfileKind::parse(&kind)? });
    }
    Ok(map)
}

/// The centers on which a professional holds any profile.
pub fn centers_of(conn: &mut DbConnection, id: &str) -> Result<Vec<String>, Error> {
    let mut centers: Vec<String> = profiles_of(conn, id)?.into_iter().map(|p| p.cancer_center_id).collect();
    centers.dedup();
    Ok(centers)
}

/// `GET /professionals`: a page of the directory, ordered by family then given name.
pub fn search(conn: &mut DbConnection, s: &Search, page: &PageRequest) -> Result<Page<Professional>, Error> {
    let mut query = professionals::table.select((COLUMNS, professionals::search_name)).into_boxed();
    if let Some(q) = s.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if let Ok(rpps) = Rpps::parse(q) {
            query = query.filter(professionals::rpps.eq(rpps.as_str().to_owned()));
        } else {
            let key = text::search_key(q);
            let upper = prefix_upper_bound(&key);
            query = query.filter(
                professionals::search_name
                    .ge(key.clone())
                    .and(professionals::search_name.lt(upper.clone()))
                    .or(professionals::search_name_given_first.ge(key).and(professionals::search_name_given_first.lt(upper))),
            );
        }
    }
    if let Some(category) = s.category {
        query = query.filter(professionals::category.eq(category.as_str()));
    }
    if let Some(specialty) = s.specialty {
        use crate::schema::professional_specialties as ps;
        query = query.filter(professionals::id.eq_any(ps::table.filter(ps::specialty.eq(specialty.as_str())).select(ps::professional_id)));
    }
    if let Some(center) = &s.cancer_center_id {
        query = query.filter(
            professionals::id
                .eq_any(profiles::table.filter(profiles::cancer_center_id.eq(center.clone())).select(profiles::professional_id)),
        );
    }
    if let Some((key, id)) = &page.after {
        query = query.filter(
            professionals::search_name.gt(key.clone()).or(professionals::search_name.eq(key.clone()).and(professionals::id.gt(id.clone()))),
        );
    }
    let rows = query.order((professionals::search_name, professionals::id)).limit(page.fetch()).load::<(Row, String)>(conn)?;
    Ok(Page::from_rows(rows, page, |(r, key)| (key.clone(), r.id.clone())).map(|(r, _)| r.into()))
}

/// The smallest string greater than every string that starts with `key` (which is ASCII, as
/// [`text::search_key`] makes it): a prefix search becomes an index range scan on both stores.
pub(crate) fn prefix_upper_bound(key: &str) -> String {
    let mut s = key.to_owned();
    match s.pop() {
        Some(last) => {
            s.push(char::from(u8::try_from(u32::from(last) + 1).unwrap_or(u8::MAX)));
            s
        }
        None => "\u{7f}".to_owned(),
    }
}

/// Locks the rows of these professionals until the transaction ends (a no-op update, which both
/// stores understand), in id order so that two transactions never wait on each other.
///
/// Writes that check a professional's category or ties and then change them (category change,
/// affiliations, group membership, RCP membership, profiles) take this lock first: on
/// PostgreSQL the second of two racing writers then reads what the first committed. SQLite
/// writers are already serialised by `BEGIN IMMEDIATE`.
pub(crate) fn lock(conn: &mut DbConnection, ids: &[&str]) -> Result<(), Error> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        diesel::update(professionals::table.find(id)).set(professionals::category.eq(professionals::category)).execute(conn)?;
    }
    Ok(())
}

/// `PUT /professionals/{id}/category` ("modifier la catégorie").
pub fn set_category(conn: &mut DbConnection, p: &Principal, id: &str, category: Category) -> Result<Professional, Error> {
    crate::db::write(conn, |c| {
        lock(c, &[id])?;
        let mut target = find(c, id)?;
        rules::may_change_category(p, &centers_of(c, id)?)?;
        if target.category == category {
            return Ok(target);
        }
        check_category_change(category, ties(c, id)?)?;
        diesel::update(professionals::table.find(id)).set(professionals::category.eq(category.as_str())).execute(c)?;
        if category != Category::Physician {
            // Only a physician has a specialty: one that left the category would still be listed
            // by `?specialty=` and counted by the quorum.
            use crate::schema::professional_specialties as ps;
            diesel::delete(ps::table.filter(ps::professional_id.eq(id))).execute(c)?;
        }
        target.category = category;
        Ok(target)
    })
}

/// What ties a professional to the delegation graph (`has_affiliations` of a category change).
fn ties(conn: &mut DbConnection, id: &str) -> Result<AffiliationTies, Error> {
    use diesel::dsl::{exists, select};
    let has_direct_secretaries: bool =
        select(exists(secretary_affiliations::table.filter(secretary_affiliations::physician_id.eq(id)))).get_result(conn)?;
    let has_groups: bool =
        select(exists(physician_secretary_groups::table.filter(physician_secretary_groups::physician_id.eq(id)))).get_result(conn)?;
    let is_affiliated: bool =
        select(exists(secretary_affiliations::table.filter(secretary_affiliations::secretary_id.eq(id)))).get_result(conn)?;
    let in_group: bool =
        select(exists(secretary_group_members::table.filter(secretary_group_members::secretary_id.eq(id)))).get_result(conn)?;
    let is_rcp_member: bool = select(exists(rcp_members::table.filter(rcp_members::professional_id.eq(id)))).get_result(conn)?;
    Ok(AffiliationTies {
        has_secretaries: has_direct_secretaries || has_groups,
        acts_as_secretary: is_affiliated || in_group,
        is_rcp_member,
    })
}

/// `PUT /professionals/{id}/profiles/{center}/{kind}`: idempotent grant by the platform administrator.
pub fn grant_profile(
    conn: &mut DbConnection,
    p: &Principal,
    professional: &ProfessionalId,
    center: &CancerCenterId,
    kind: ProfileKind,
) -> Result<(), Error> {
    let (id, center_id) = (professional.as_str(), center.as_str());
    rules::may_administer_platform(p)?;
    crate::db::write(conn, |c| {
        lock(c, &[id])?;
        find(c, id)?;
        crate::cancer_centers::find(c, center_id)?;
        if insert_profile(c, professional, center, kind)? {
            let change =
                Change { secretary_id: Some(id), cancer_center_id: Some(center_id), profile_kind: Some(kind), ..Change::default() };
            delegation_events::record(c, p, Kind::Profile, Action::Granted, &change)?;
        }
        Ok(())
    })
}

/// Grants a profile unless held; true when it was granted now.
pub(crate) fn insert_profile(
    conn: &mut DbConnection,
    professional: &ProfessionalId,
    center: &CancerCenterId,
    kind: ProfileKind,
) -> Result<bool, Error> {
    let (id, center) = (professional.as_str(), center.as_str());
    let held = profiles::table.find((id, center, kind.as_str())).select(profiles::professional_id).first::<String>(conn).optional()?;
    if held.is_none() {
        diesel::insert_into(profiles::table)
            .values((
                profiles::professional_id.eq(id),
                profiles::cancer_center_id.eq(center),
                profiles::kind.eq(kind.as_str()),
                profiles::granted_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(held.is_none())
}

/// `DELETE /professionals/{id}/profiles/{center}/{kind}`: idempotent removal; the rights it gave
/// end with the next request.
pub fn remove_profile(
    conn: &mut DbConnection,
    p: &Principal,
    professional: &ProfessionalId,
    center: &CancerCenterId,
    kind: ProfileKind,
) -> Result<(), Error> {
    let (id, center) = (professional.as_str(), center.as_str());
    rules::may_administer_platform(p)?;
    crate::db::write(conn, |c| {
        lock(c, &[id])?;
        find(c, id)?;
        crate::cancer_centers::find(c, center)?;
        if diesel::delete(profiles::table.find((id, center, kind.as_str()))).execute(c)? > 0 {
            let change = Change { secretary_id: Some(id), cancer_center_id: Some(center), profile_kind: Some(kind), ..Change::default() };
            delegation_events::record(c, p, Kind::Profile, Action::Ended, &change)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_bound_closes_the_prefix_range() {
        assert_eq!(prefix_upper_bound("hel"), "hem");
        assert!("helene martin" < prefix_upper_bound("hel").as_str());
        assert!("hem" >= prefix_upper_bound("hel").as_str());
    }
}
