//! Patients: creation with duplicate detection, the identity search, the record and its changes.
//!
//! Who may read a record is decided by `delegation::may_read_patient` from the relations read
//! here (creator, treating physician, correspondents, and the patient's dossiers the caller can
//! see); a record the caller may not read is reported as missing, never as forbidden.

use concerto_domain::ErrorCode;
use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use concerto_domain::delegation::{self, DossierRelations, Grant, PatientRelations};
use concerto_domain::patient::{IdentitySearch, Ins, Sex};
use concerto_domain::principal::Principal;
use concerto_domain::professional::Category;
use concerto_domain::rcp::RcpRoles;
use concerto_domain::{DomainError, text};
use diesel::prelude::*;

use crate::professionals::prefix_upper_bound;
use crate::schema::{dossiers, patient_correspondents, patients};
use crate::{DbConnection, Error, Page, PageRequest, audit, new_id, now, professionals as directory, rcps as boards};

/// How many possible duplicates a refused creation names at most.
const MAX_CANDIDATES: i64 = 20;

pub use crate::identity::PatientIdentity;

/// A patient's record: identity, the physicians who follow the patient, and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    /// Identity traits.
    pub identity: PatientIdentity,
    /// The treating physician ("médecin traitant").
    pub treating_physician_id: Option<String>,
    /// The correspondent physicians, sorted.
    pub correspondent_ids: Vec<String>,
    /// Optimistic-concurrency version, the ETag.
    pub version: i32,
    /// Who added the patient.
    pub created_by: String,
    /// When.
    pub created_at: NaiveDateTime,
}

/// A patient to add; the values are already checked by the caller.
#[derive(Debug, Clone)]
pub struct NewPatient {
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// Birth date, not in the future.
    pub birth_date: NaiveDate,
    /// Administrative sex.
    pub sex: Sex,
    /// Checked INSEE code.
    pub birth_place_code: Option<String>,
    /// Checked INS.
    pub ins: Option<Ins>,
    /// Must be a physician of the directory.
    pub treating_physician_id: Option<String>,
    /// Must be physicians of the directory.
    pub correspondent_ids: Vec<String>,
}

/// A change to a record: `None` leaves a field as it is; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct PatientPatch {
    /// New family name.
    pub family_name: Option<String>,
    /// New given name.
    pub given_name: Option<String>,
    /// New birth date.
    pub birth_date: Option<NaiveDate>,
    /// New sex.
    pub sex: Option<Sex>,
    /// New or cleared birth place.
    pub birth_place_code: Option<Option<String>>,
    /// New or cleared INS.
    pub ins: Option<Option<Ins>>,
    /// New or cleared treating physician.
    pub treating_physician_id: Option<Option<String>>,
    /// The new set of correspondents (replaces the old one).
    pub correspondent_ids: Option<Vec<String>>,
}

/// The raw query of an identity search; checked inside the audited call so that a refused
/// search is recorded too.
#[derive(Debug, Clone, Default)]
pub struct IdentityQuery {
    /// A family-name prefix.
    pub family_name: Option<String>,
    /// The exact birth date.
    pub birth_date: Option<NaiveDate>,
    /// An exact INS.
    pub ins: Option<String>,
}

type RecordRow = (PatientIdentity, Option<String>, String, NaiveDateTime, i32);

const IDENTITY: (
    patients::id,
    patients::family_name,
    patients::given_name,
    patients::birth_date,
    patients::sex,
    patients::birth_place_code,
    patients::ins,
) = (
    patients::id,
    patients::family_name,
    patients::given_name,
    patients::birth_date,
    patients::sex,
    patients::birth_place_code,
    patients::ins,
);

/// The record with this id, whoever asks: callers decide with [`readable`].
/// Locks a patient's row until the transaction ends (a no-op update, which both stores
/// understand).
///
/// Taken by every write that maintains a record derived from the patient and his dossiers: the
/// reports to send (validation, sending, a change of his physicians) and a dossier's copy of
/// his search key (registration, a change of his family name), so that on PostgreSQL the
/// second of two such writers reads what the first committed. Lock order: the session
/// (`activity_counters::Tracker`), the patient, then his dossier (`dossiers::lock`). A `PATCH` of the
/// patient takes it with its conditional update. False when there is no such patient.
pub(crate) fn lock(conn: &mut DbConnection, id: &str) -> Result<bool, Error> {
    Ok(diesel::update(patients::table.find(id)).set(patients::version.eq(patients::version)).execute(conn)? == 1)
}

fn find(conn: &mut DbConnection, id: &str) -> Result<Patient, Error> {
    let row = patients::table
        .find(id)
        .select((IDENTITY, patients::treating_physician_id, patients::created_by, patients::created_at, patients::version))
        .first::<RecordRow>(conn)
        .optional()?
        .ok_or(Error::NotFound("patient"))?;
    let (ident, treating_physician_id, created_by, created_at, version) = row;
    Ok(Patient { identity: ident, treating_physician_id, correspondent_ids: correspondents_of(conn, id)?, version, created_by, created_at })
}

fn correspondents_of(conn: &mut DbConnection, id: &str) -> Result<Vec<String>, Error> {
    Ok(patient_correspondents::table
        .filter(patient_correspondents::patient_id.eq(id))
        .select(patient_correspondents::professional_id)
        .order(patient_correspondents::professional_id)
        .load::<String>(conn)?)
}

/// What access to the record depends on, with the grant of every dossier of the patient that
/// the principal can see (`delegation::sees_dossier`, judged in the dossier's RCP).
fn relations(conn: &mut DbConnection, p: &Principal, patient: &Patient) -> Result<PatientRelations, Error> {
    let rows = dossiers::table
        .filter(dossiers::patient_id.eq(&patient.identity.id))
        .select((dossiers::rcp_id, dossiers::requester_id))
        .order(dossiers::id)
        .load::<(String, String)>(conn)?;
    let mut roles: HashMap<String, RcpRoles> = HashMap::new();
    let mut visible_dossier_grants = Vec::new();
    for (rcp_id, requester_id) in rows {
        if !roles.contains_key(&rcp_id) {
            roles.insert(rcp_id.clone(), boards::roles(conn, &rcp_id)?);
        }
        let dossier = DossierRelations {
            requester_id,
            treating_physician_id: patient.treating_physician_id.clone(),
            correspondent_ids: patient.correspondent_ids.clone(),
        };
        if let Some(grant) = roles.get(&rcp_id).and_then(|r| delegation::sees_dossier(p, r, &dossier)) {
            visible_dossier_grants.push(grant);
        }
    }
    Ok(PatientRelations {
        created_by: patient.created_by.clone(),
        treating_physician_id: patient.treating_physician_id.clone(),
        correspondent_ids: patient.correspondent_ids.clone(),
        visible_dossier_grants,
    })
}

/// The record, its relations and the grant to read it; `NotFound("patient")` when it does not
/// exist or the principal may not read it, so that its existence is not disclosed.
pub(crate) fn readable(conn: &mut DbConnection, p: &Principal, id: &str) -> Result<(Patient, PatientRelations, Grant), Error> {
    let patient = find(conn, id)?;
    let rel = relations(conn, p, &patient)?;
    let grant = delegation::may_read_patient(p, &rel).ok_or(Error::NotFound("patient"))?;
    Ok((patient, rel, grant))
}

/// Each named professional must exist (404) and be a physician (422 `not_a_physician`).
fn check_physicians(conn: &mut DbConnection, field: &'static str, ids: &[String]) -> Result<(), Error> {
    for id in ids {
        if directory::find(conn, id)?.category != Category::Physician {
            return Err(DomainError::invalid(field, ErrorCode::NotAPhysician, "only a physician can follow a patient").into());
        }
    }
    Ok(())
}

/// The patient holding this INS, other than `except`.
fn holder_of(conn: &mut DbConnection, ins: &Ins, except: Option<&str>) -> Result<Option<PatientIdentity>, Error> {
    let mut query = patients::table.filter(patients::ins.eq(ins.as_str().to_owned())).select(IDENTITY).into_boxed();
    if let Some(id) = except {
        query = query.filter(patients::id.ne(id.to_owned()));
    }
    Ok(query.first::<PatientIdentity>(conn).optional()?)
}

/// `ins_taken` naming the patient who holds the INS: one INS, one patient, whatever the caller
/// confirms (the identity search by INS would show the same traits).
fn ensure_ins_free(conn: &mut DbConnection, ins: Option<&Ins>, except: Option<&str>) -> Result<(), Error> {
    if let Some(holder) = ins.map(|i| holder_of(conn, i, except)).transpose()?.flatten() {
        return Err(Error::Duplicates { code: ErrorCode::InsTaken, candidates: vec![holder] });
    }
    Ok(())
}

/// A unique violation on `patients.ins` can only be a concurrent writer taking the INS.
fn ins_race(e: diesel::result::Error) -> Error {
    match Error::from(e) {
        Error::Conflict { .. } => Error::conflict(ErrorCode::InsTaken, "another patient was given this INS meanwhile"),
        other => other,
    }
}

fn sorted_ids(ids: &[String]) -> Vec<String> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    ids
}

fn insert_correspondents(conn: &mut DbConnection, patient_id: &str, ids: &[String]) -> Result<(), Error> {
    for id in ids {
        diesel::insert_into(patient_correspondents::table)
            .values((patient_correspondents::patient_id.eq(patient_id), patient_correspondents::professional_id.eq(id)))
            .execute(conn)?;
    }
    Ok(())
}

/// `POST /patients`: physicians and secretaries. Refused with the possible duplicates (same
/// family name, given name and birth date, as search keys) unless `confirm_new`; an INS already
/// held is always refused (`ins_taken`).
pub fn create(conn: &mut DbConnection, p: &Principal, new: &NewPatient, confirm_new: bool) -> Result<Patient, Error> {
    audit::audited(conn, p, "patient.create", "patient", |c, trail| {
        trail.grant = delegation::may_add_patient(p)?;
        check_physicians(c, "treating_physician_id", new.treating_physician_id.as_slice())?;
        let correspondent_ids = sorted_ids(&new.correspondent_ids);
        check_physicians(c, "correspondent_ids", &correspondent_ids)?;
        ensure_ins_free(c, new.ins.as_ref(), None)?;
        let (family_name, given_name) = (new.family_name.trim().to_owned(), new.given_name.trim().to_owned());
        let (search_family, search_given) = (text::search_key(&family_name), text::search_key(&given_name));
        if !confirm_new {
            let candidates = patients::table
                .filter(patients::birth_date.eq(new.birth_date))
                .filter(patients::search_family.eq(&search_family))
                .filter(patients::search_given.eq(&search_given))
                .select(IDENTITY)
                .order(patients::id)
                .limit(MAX_CANDIDATES)
                .load::<PatientIdentity>(c)?;
            if !candidates.is_empty() {
                return Err(Error::Duplicates { code: ErrorCode::PossibleDuplicate, candidates });
            }
        }
        let patient = Patient {
            identity: PatientIdentity {
                id: new_id(),
                family_name,
                given_name,
                birth_date: new.birth_date,
                sex: new.sex,
                birth_place_code: new.birth_place_code.clone(),
                ins: new.ins.as_ref().map(|i| i.as_str().to_owned()),
            },
            treating_physician_id: new.treating_physician_id.clone(),
            correspondent_ids,
            version: 1,
            created_by: p.professional_id.clone(),
            created_at: now(),
        };
        let id = &patient.identity.id;
        trail.resource_id = Some(id.clone());
        trail.patient_id = Some(id.clone());
        diesel::insert_into(patients::table)
            .values((
                patients::id.eq(id),
                patients::family_name.eq(&patient.identity.family_name),
                patients::given_name.eq(&patient.identity.given_name),
                patients::search_family.eq(&search_family),
                patients::search_given.eq(&search_given),
                patients::birth_date.eq(patient.identity.birth_date),
                patients::sex.eq(patient.identity.sex.as_str()),
                patients::birth_place_code.eq(&patient.identity.birth_place_code),
                patients::ins.eq(&patient.identity.ins),
                patients::treating_physician_id.eq(&patient.treating_physician_id),
                patients::created_by.eq(&patient.created_by),
                patients::created_at.eq(patient.created_at),
                patients::version.eq(patient.version),
            ))
            .execute(c)
            .map_err(ins_race)?;
        insert_correspondents(c, id, &patient.correspondent_ids)?;
        Ok(patient)
    })
}

/// `GET /patients?family_name=&birth_date=` or `?ins=`: identity traits for physicians and
/// secretaries, never a browse of the population (`search_too_broad`). Filtered in SQL on the
/// `patients_identity` index (birth date, then a family-name range), by family name.
pub fn search(conn: &mut DbConnection, p: &Principal, query: &IdentityQuery, page: &PageRequest) -> Result<Page<PatientIdentity>, Error> {
    audit::audited_read(conn, p, "patient.search", "patient", |c, trail| {
        trail.grant = delegation::may_add_patient(p)?;
        let criteria = IdentitySearch::new(query.family_name.as_deref(), query.birth_date, query.ins.as_deref())?;
        let mut q = patients::table.select((IDENTITY, patients::search_family)).into_boxed();
        q = match criteria {
            IdentitySearch::Name { family_prefix, birth_date } => {
                let upper = prefix_upper_bound(&family_prefix);
                q.filter(patients::birth_date.eq(birth_date))
                    .filter(patients::search_family.ge(family_prefix))
                    .filter(patients::search_family.lt(upper))
            }
            IdentitySearch::Ins(ins) => q.filter(patients::ins.eq(ins.as_str().to_owned())),
        };
        if let Some((key, id)) = &page.after {
            q = q.filter(
                patients::search_family.gt(key.clone()).or(patients::search_family.eq(key.clone()).and(patients::id.gt(id.clone()))),
            );
        }
        let rows = q.order((patients::search_family, patients::id)).limit(page.fetch()).load::<(PatientIdentity, String)>(c)?;
        let page = Page::from_rows(rows, page, |(r, key)| (key.clone(), r.id.clone()));
        Ok(page.map(|(identity, _)| identity))
    })
}

/// `GET /patients/{id}`: the record, for whoever `delegation::may_read_patient` grants;
/// `NotFound` for anyone else.
pub fn read(conn: &mut DbConnection, p: &Principal, id: &str) -> Result<Patient, Error> {
    audit::audited_read(conn, p, "patient.read", "patient", |c, trail| {
        trail.resource_id = Some(id.to_owned());
        trail.patient_id = Some(id.to_owned());
        let (patient, _, grant) = readable(c, p, id)?;
        trail.grant = grant;
        Ok(patient)
    })
}

/// `PATCH /patients/{id}`: whoever may read the record, at the version read (`Stale`
/// otherwise); the version moves on by one.
pub fn update(
    conn: &mut DbConnection,
    p: &Principal,
    id: &str,
    expected_version: Option<i32>,
    patch: &PatientPatch,
) -> Result<Patient, Error> {
    audit::audited(conn, p, "patient.update", "patient", |c, trail| {
        trail.resource_id = Some(id.to_owned());
        trail.patient_id = Some(id.to_owned());
        let (mut patient, _, grant) = readable(c, p, id)?;
        trail.grant = grant;
        // Checked after the rights, so that a caller who may not see the patient learns nothing.
        let expected_version = expected_version.ok_or(Error::VersionRequired)?;
        if patient.version != expected_version {
            return Err(Error::Stale { current: patient.version });
        }
        let ident = &mut patient.identity;
        if let Some(v) = &patch.family_name {
            ident.family_name = v.trim().to_owned();
        }
        if let Some(v) = &patch.given_name {
            ident.given_name = v.trim().to_owned();
        }
        if let Some(v) = patch.birth_date {
            ident.birth_date = v;
        }
        if let Some(v) = patch.sex {
            ident.sex = v;
        }
        if let Some(v) = &patch.birth_place_code {
            ident.birth_place_code.clone_from(v);
        }
        if let Some(v) = &patch.ins {
            ensure_ins_free(c, v.as_ref(), Some(id))?;
            patient.identity.ins = v.as_ref().map(|i| i.as_str().to_owned());
        }
        if let Some(v) = &patch.treating_physician_id {
            check_physicians(c, "treating_physician_id", v.as_slice())?;
            patient.treating_physician_id.clone_from(v);
        }
        if let Some(v) = &patch.correspondent_ids {
            let ids = sorted_ids(v);
            check_physicians(c, "correspondent_ids", &ids)?;
            patient.correspondent_ids = ids;
        }
        patient.version += 1;
        let ident = &patient.identity;
        let changed = diesel::update(patients::table.find(id).filter(patients::version.eq(expected_version)))
            .set((
                patients::family_name.eq(&ident.family_name),
                patients::given_name.eq(&ident.given_name),
                patients::search_family.eq(text::search_key(&ident.family_name)),
                patients::search_given.eq(text::search_key(&ident.given_name)),
                patients::birth_date.eq(ident.birth_date),
                patients::sex.eq(ident.sex.as_str()),
                patients::birth_place_code.eq(&ident.birth_place_code),
                patients::ins.eq(&ident.ins),
                patients::treating_physician_id.eq(&patient.treating_physician_id),
                patients::version.eq(patient.version),
            ))
            .execute(c)
            .map_err(ins_race)?;
        // Another writer got in between the read and this write.
        if changed == 0 {
            return Err(Error::Stale { current: expected_version + 1 });
        }
        if patch.correspondent_ids.is_some() {
            diesel::delete(patient_correspondents::table.filter(patient_correspondents::patient_id.eq(id))).execute(c)?;
            insert_correspondents(c, id, &patient.correspondent_ids)?;
        }
        // New physicians of the patient are new default recipients of his validated reports.
        if patch.correspondent_ids.is_some() || patch.treating_physician_id.is_some() {
            crate::reports_to_send::refresh_patient(c, id)?;
        }
        Ok(patient)
    })
}
