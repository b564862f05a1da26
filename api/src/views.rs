//! Shapes of the wire shared by the error mapping and the routes: the values a problem
//! carries (`possible_duplicate`'s candidates) and the enumerations they spell. Below `error`
//! and every route, so that neither imports the other.

use chrono::NaiveDate;
use concerto_domain::patient::Sex;
use concerto_persistence::patients::PatientIdentity;
use serde::Serialize;
use utoipa::ToSchema;

/// Administrative sex, as FHIR's administrative gender.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SexName {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Neither female nor male.
    Other,
    /// Not known.
    Unknown,
}

impl From<Sex> for SexName {
    fn from(s: Sex) -> Self {
        match s {
            Sex::Female => Self::Female,
            Sex::Male => Self::Male,
            Sex::Other => Self::Other,
            Sex::Unknown => Self::Unknown,
        }
    }
}

/// A possible duplicate named by a 409 (`candidates` of the problem): the fewest traits that
/// let the caller recognise the patient.
#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateCandidate {
    /// Opaque id.
    pub id: String,
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Administrative sex.
    pub sex: SexName,
}

impl From<PatientIdentity> for DuplicateCandidate {
    fn from(i: PatientIdentity) -> Self {
        Self { id: i.id, family_name: i.family_name, given_name: i.given_name, birth_date: i.birth_date, sex: i.sex.into() }
    }
}
