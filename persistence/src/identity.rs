//! A patient's identity traits, the lowest of the patient types: what the identity search and
//! the duplicate check show, and what a `possible_duplicate` error carries (`error.rs` names it,
//! so it lives below both).

use chrono::NaiveDate;
use concerto_domain::patient::Sex;
use diesel::Queryable;

/// A patient's identity traits: all that the identity search and the duplicate check show;
/// read as `patients::IDENTITY`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct PatientIdentity {
    /// Opaque id.
    pub id: String,
    /// Family name, as written.
    pub family_name: String,
    /// Given name, as written.
    pub given_name: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Administrative sex.
    #[diesel(deserialize_as = String)]
    pub sex: Sex,
    /// INSEE code of the birth place.
    pub birth_place_code: Option<String>,
    /// INS (NIR and key).
    pub ins: Option<String>,
}
