//! Cancer centers (3C, Centres de Coordination en Cancérologie).

use concerto_domain::ErrorCode;
use concerto_domain::principal::Principal;
use concerto_domain::rules;
use diesel::prelude::*;

use crate::schema::cancer_centers;
use crate::{DbConnection, Error, Page, PageRequest, new_id, now};

/// A cancer center.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct CancerCenter {
    /// Opaque id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Short unique code.
    pub code: String,
    /// Its FINESS number, once given.
    pub finess: Option<String>,
}

const COLUMNS: (cancer_centers::id, cancer_centers::name, cancer_centers::code, cancer_centers::finess) =
    (cancer_centers::id, cancer_centers::name, cancer_centers::code, cancer_centers::finess);

/// `PATCH /cancer-centers/{id}`: sets (or with `None` clears) the center's FINESS. The platform
/// administrator and the center's coordinators.
pub fn set_finess(conn: &mut DbConnection, p: &Principal, id: &str, finess: Option<&str>) -> Result<CancerCenter, Error> {
    crate::db::write(conn, |c| {
        let mut center = find(c, id)?;
        rules::may_set_national_settings(p, id)?;
        center.finess = finess.map(concerto_domain::national::finess).transpose()?;
        diesel::update(cancer_centers::table.find(id)).set(cancer_centers::finess.eq(&center.finess)).execute(c)?;
        Ok(center)
    })
}

/// `POST /cancer-centers`: the platform administrator opens a center; codes are unique.
pub fn create(conn: &mut DbConnection, p: &Principal, name: &str, code: &str) -> Result<CancerCenter, Error> {
    rules::may_administer_platform(p)?;
    crate::db::write(conn, |c| {
        let taken = cancer_centers::table.filter(cancer_centers::code.eq(code)).select(cancer_centers::id).first::<String>(c).optional()?;
        if taken.is_some() {
            return Err(Error::conflict(ErrorCode::CodeTaken, "a cancer center with this code already exists"));
        }
        insert(c, name, code)
    })
}

pub(crate) fn insert(conn: &mut DbConnection, name: &str, code: &str) -> Result<CancerCenter, Error> {
    let center = CancerCenter { id: new_id(), name: name.trim().to_owned(), code: code.trim().to_owned(), finess: None };
    diesel::insert_into(cancer_centers::table)
        .values((
            cancer_centers::id.eq(&center.id),
            cancer_centers::name.eq(&center.name),
            cancer_centers::code.eq(&center.code),
            cancer_centers::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(center)
}

/// `GET /cancer-centers`: every center, ordered by code.
pub fn list(conn: &mut DbConnection, page: &PageRequest) -> Result<Page<CancerCenter>, Error> {
    let mut query = cancer_centers::table.select(COLUMNS).into_boxed();
    if let Some((code, id)) = &page.after {
        query = query
            .filter(cancer_centers::code.gt(code.clone()).or(cancer_centers::code.eq(code.clone()).and(cancer_centers::id.gt(id.clone()))));
    }
    let rows = query.order((cancer_centers::code, cancer_centers::id)).limit(page.fetch()).load::<CancerCenter>(conn)?;
    Ok(Page::from_rows(rows, page, |c| (c.code.clone(), c.id.clone())))
}

/// The center with this id.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<CancerCenter, Error> {
    cancer_centers::table.find(id).select(COLUMNS).first(conn).optional()?.ok_or(Error::NotFound("cancer center"))
}
