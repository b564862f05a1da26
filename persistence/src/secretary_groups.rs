//! Secretary groups: a set of secretaries that can be affiliated to physicians as a whole.

use concerto_domain::ErrorCode;
use concerto_domain::affiliation::ensure_secretary;
use concerto_domain::id::{GroupId, ProfessionalId};
use concerto_domain::principal::Principal;
use concerto_domain::professional::Professional;
use concerto_domain::{DomainError, rules, text};
use diesel::prelude::*;

use crate::delegation_events::{self, Action, Change, Kind};
use crate::schema::{professionals, secretary_group_members, secretary_groups};
use crate::{DbConnection, Error, Page, PageRequest, new_id, now, professionals as directory};

/// A secretary group of a cancer center.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct SecretaryGroup {
    /// Opaque id.
    pub id: String,
    /// The center it belongs to.
    pub cancer_center_id: String,
    /// Display name, unique in its center.
    pub name: String,
}

const COLUMNS: (secretary_groups::id, secretary_groups::cancer_center_id, secretary_groups::name) =
    (secretary_groups::id, secretary_groups::cancer_center_id, secretary_groups::name);

/// `POST /secretary-groups`: by the center's coordinators or the platform administrator.
pub fn create(conn: &mut DbConnection, p: &Principal, cancer_center_id: &str, name: &str) -> Result<SecretaryGroup, Error> {
    crate::db::write(conn, |c| {
        crate::cancer_centers::find(c, cancer_center_id)?;
        rules::may_administer_center(p, cancer_center_id)?;
        let name = name.trim().to_owned();
        let key = text::search_key(&name);
        if key.is_empty() {
            return Err(DomainError::invalid("name", ErrorCode::InvalidName, "a group name needs letters or digits").into());
        }
        let taken = secretary_groups::table
            .filter(secretary_groups::cancer_center_id.eq(cancer_center_id))
            .filter(secretary_groups::search_name.eq(&key))
            .select(secretary_groups::id)
            .first::<String>(c)
            .optional()?;
        if taken.is_some() {
            return Err(Error::conflict(ErrorCode::NameTaken, "this center already has a secretary group of that name"));
        }
        let group = SecretaryGroup { id: new_id(), cancer_center_id: cancer_center_id.to_owned(), name };
        diesel::insert_into(secretary_groups::table)
            .values((
                secretary_groups::id.eq(&group.id),
                secretary_groups::cancer_center_id.eq(&group.cancer_center_id),
                secretary_groups::name.eq(&group.name),
                secretary_groups::search_name.eq(&key),
                secretary_groups::created_at.eq(now()),
            ))
            .execute(c)?;
        Ok(group)
    })
}

/// The group with this id.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<SecretaryGroup, Error> {
    secretary_groups::table.find(id).select(COLUMNS).first(conn).optional()?.ok_or(Error::NotFound("secretary group"))
}

/// `GET /secretary-groups?q=&cancer_center_id=`: name prefix, case- and accent-insensitive.
pub fn search(
    conn: &mut DbConnection,
    q: Option<&str>,
    cancer_center_id: Option<&str>,
    page: &PageRequest,
) -> Result<Page<SecretaryGroup>, Error> {
    let mut query = secretary_groups::table.select((COLUMNS, secretary_groups::search_name)).into_boxed();
    if let Some(q) = q {
        let key = text::search_key(q);
        if !key.is_empty() {
            let upper = directory::prefix_upper_bound(&key);
            query = query.filter(secretary_groups::search_name.ge(key).and(secretary_groups::search_name.lt(upper)));
        }
    }
    if let Some(center) = cancer_center_id {
        query = query.filter(secretary_groups::cancer_center_id.eq(center.to_owned()));
    }
    if let Some((key, id)) = &page.after {
        query = query.filter(
            secretary_groups::search_name
                .gt(key.clone())
                .or(secretary_groups::search_name.eq(key.clone()).and(secretary_groups::id.gt(id.clone()))),
        );
    }
    let rows =
        query.order((secretary_groups::search_name, secretary_groups::id)).limit(page.fetch()).load::<(SecretaryGroup, String)>(conn)?;
    Ok(Page::from_rows(rows, page, |(g, key)| (key.clone(), g.id.clone())).map(|(g, _)| g))
}

/// The members of a group ("le détail des personnes le composant"), ordered by name.
pub fn members(conn: &mut DbConnection, group_id: &str) -> Result<Vec<Professional>, Error> {
    let rows = secretary_group_members::table
        .inner_join(professionals::table)
        .filter(secretary_group_members::group_id.eq(group_id))
        .select(directory::COLUMNS)
        .order((professionals::search_name, professionals::id))
        .load::<directory::Row>(conn)?;
    Ok(rows.into_iter().map(Professional::from).collect())
}

/// Checks the caller may change this group's membership for this professional.
fn check_member_change(
    conn: &mut DbConnection,
    p: &Principal,
    group: &SecretaryGroup,
    professional_id: &str,
) -> Result<Professional, Error> {
    let member = directory::find(conn, professional_id)?;
    rules::may_manage_affiliation(p, std::slice::from_ref(&group.cancer_center_id), &directory::centers_of(conn, professional_id)?)?;
    Ok(member)
}

/// `PUT /secretary-groups/{id}/members/{professional_id}`: idempotent; the new member holds the
/// rights of the group's physicians from her next request on.
pub fn add_member(conn: &mut DbConnection, p: &Principal, group: &GroupId, professional: &ProfessionalId) -> Result<(), Error> {
    let (group_id, professional_id) = (group.as_str(), professional.as_str());
    crate::db::write(conn, |c| {
        directory::lock(c, &[professional_id])?;
        let group = find(c, group_id)?;
        let member = check_member_change(c, p, &group, professional_id)?;
        ensure_secretary(member.category)?;
        let exists = secretary_group_members::table
            .find((group_id, professional_id))
            .select(secretary_group_members::group_id)
            .first::<String>(c)
            .optional()?;
        if exists.is_none() {
            diesel::insert_into(secretary_group_members::table)
                .values((
                    secretary_group_members::group_id.eq(group_id),
                    secretary_group_members::secretary_id.eq(professional_id),
                    secretary_group_members::added_at.eq(now()),
                ))
                .execute(c)?;
            let change = Change { secretary_id: Some(professional_id), group_id: Some(group_id), ..Change::default() };
            delegation_events::record(c, p, Kind::GroupMembership, Action::Granted, &change)?;
        }
        Ok(())
    })
}

/// `DELETE /secretary-groups/{id}/members/{professional_id}`: idempotent; the member loses the
/// group's physicians with her next request.
pub fn remove_member(conn: &mut DbConnection, p: &Principal, group: &GroupId, professional: &ProfessionalId) -> Result<(), Error> {
    let (group_id, professional_id) = (group.as_str(), professional.as_str());
    crate::db::write(conn, |c| {
        // The lock `add_member` takes: the history records a join and a leave in their order.
        directory::lock(c, &[professional_id])?;
        let group = find(c, group_id)?;
        check_member_change(c, p, &group, professional_id)?;
        if diesel::delete(secretary_group_members::table.find((group_id, professional_id))).execute(c)? > 0 {
            let change = Change { secretary_id: Some(professional_id), group_id: Some(group_id), ..Change::default() };
            delegation_events::record(c, p, Kind::GroupMembership, Action::Ended, &change)?;
        }
        Ok(())
    })
}
