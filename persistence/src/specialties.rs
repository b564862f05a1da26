//! Physicians' specialties: set by the coordinators of their centers, read by everyone (the
//! directory), counted by the quorum and the activity report.

use concerto_domain::ErrorCode;
use std::collections::HashMap;

use concerto_domain::affiliation::ensure_physician;
use concerto_domain::principal::Principal;
use concerto_domain::rules;
use concerto_domain::specialty::Specialty;
use diesel::prelude::*;

use crate::schema::professional_specialties;
use crate::{DbConnection, Error, now, professionals as directory};

/// A physician's specialty and, for a surgeon or an organ specialist, the organ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialtyOf {
    /// The specialty.
    pub specialty: Specialty,
    /// Free text ("digestive", "thoracic").
    pub subspecialty: Option<String>,
}

/// `PUT /professionals/{id}/specialty`: coordinators of his centers and the platform
/// administrator; only a physician has one (`not_a_physician`).
pub fn set(conn: &mut DbConnection, p: &Principal, id: &str, value: &SpecialtyOf) -> Result<SpecialtyOf, Error> {
    crate::db::write(conn, |c| {
        // The category is checked and the specialty written under one lock: a category change
        // racing this waits, then sees it (or this sees the new category).
        directory::lock(c, &[id])?;
        let target = directory::find(c, id)?;
        rules::may_set_specialty(p, &directory::centers_of(c, id)?)?;
        ensure_physician(target.category).map_err(|_| concerto_domain::DomainError::Unprocessable {
            code: ErrorCode::NotAPhysician,
            message: "only a physician has a specialty".to_owned(),
        })?;
        diesel::delete(professional_specialties::table.find(id)).execute(c)?;
        diesel::insert_into(professional_specialties::table)
            .values((
                professional_specialties::professional_id.eq(id),
                professional_specialties::specialty.eq(value.specialty.as_str()),
                professional_specialties::subspecialty.eq(&value.subspecialty),
                professional_specialties::set_by.eq(&p.professional_id),
                professional_specialties::set_at.eq(now()),
            ))
            .execute(c)?;
        Ok(value.clone())
    })
}

/// The specialties of these professionals (those without one are absent).
pub fn of(conn: &mut DbConnection, ids: &[String]) -> Result<HashMap<String, SpecialtyOf>, Error> {
    professional_specialties::table
        .filter(professional_specialties::professional_id.eq_any(ids))
        .select((professional_specialties::professional_id, professional_specialties::specialty, professional_specialties::subspecialty))
        .load::<(String, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, s, subspecialty)| Ok((id, SpecialtyOf { specialty: Specialty::parse(&s)?, subspecialty })))
        .collect()
}
