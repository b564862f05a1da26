//! Dossiers: a patient's passage in one RCP session (the "fiche RCP").

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::schema::{dossiers, patients, rcp_members};
use crate::scope::ClinicalScope;
use crate::{DbConnection, Error};

/// A dossier as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Dossier {
    /// Opaque id.
    pub id: String,
    /// The session it is registered in.
    pub session_id: String,
    /// The session's RCP.
    pub rcp_id: String,
    /// The patient.
    pub patient_id: String,
    /// The requesting physician ("médecin demandeur").
    pub requester_id: String,
    /// `registered`, `discussed`, `validated` or `withdrawn`.
    pub status: String,
    /// Medical content: summary of the case.
    pub clinical_summary: Option<String>,
    /// Medical content: the question put to the board.
    pub question: Option<String>,
    /// Medical content: the board's therapeutic proposal.
    pub proposal: Option<String>,
    /// Optimistic-concurrency version, the ETag.
    pub version: i32,
    /// Who registered it (the requester or a secretary of his).
    pub registered_by: String,
    /// When it was registered.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
    /// Who validated it.
    pub validated_by: Option<String>,
    /// When it was validated.
    pub validated_at: Option<NaiveDateTime>,
}

/// What a list shows of a dossier: who, for whom, where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierSummary {
    /// The dossier.
    pub id: String,
    /// Its session.
    pub session_id: String,
    /// Its RCP.
    pub rcp_id: String,
    /// The patient.
    pub patient_id: String,
    /// The patient's family name.
    pub patient_family_name: String,
    /// The patient's given name.
    pub patient_given_name: String,
    /// The patient's birth date.
    pub patient_birth_date: NaiveDate,
    /// The requesting physician.
    pub requester_id: String,
    /// Its status.
    pub status: String,
}

type SummaryRow = (String, String, String, String, String, String, NaiveDate, String, String);

pub(crate) const SUMMARY_COLUMNS: (
    dossiers::id,
    dossiers::session_id,
    dossiers::rcp_id,
    dossiers::patient_id,
    patients::family_name,
    patients::given_name,
    patients::birth_date,
    dossiers::requester_id,
    dossiers::status,
) = (
    dossiers::id,
    dossiers::session_id,
    dossiers::rcp_id,
    dossiers::patient_id,
    patients::family_name,
    patients::given_name,
    patients::birth_date,
    dossiers::requester_id,
    dossiers::status,
);

pub(crate) fn summary((id, session_id, rcp_id, patient_id, family, given, birth, requester_id, status): SummaryRow) -> DossierSummary {
    DossierSummary {
        id,
        session_id,
        rcp_id,
        patient_id,
        patient_family_name: family,
        patient_given_name: given,
        patient_birth_date: birth,
        requester_id,
        status,
    }
}

/// The dossier with this id.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Dossier, Error> {
    dossiers::table.find(id).first(conn).optional()?.ok_or(Error::NotFound("dossier"))
}

/// The dossiers of these sessions that the scope sees in the agenda, filtered in SQL:
/// every dossier of the RCPs where the principal is a member or one of P(S) is animateur; in
/// the other RCPs of a secretary's centers, the dossiers requested by a physician of P(S) who is
/// a member of that RCP (`delegation::sees_dossier_in_agenda`).
pub fn visible_in_sessions(conn: &mut DbConnection, scope: &ClinicalScope, session_ids: &[String]) -> Result<Vec<DossierSummary>, Error> {
    use diesel::dsl::exists;
    let requester_is_member = exists(
        rcp_members::table.filter(rcp_members::rcp_id.eq(dossiers::rcp_id)).filter(rcp_members::professional_id.eq(dossiers::requester_id)),
    );
    let rows = dossiers::table
        .inner_join(patients::table)
        .filter(dossiers::session_id.eq_any(session_ids))
        .filter(dossiers::rcp_id.eq_any(scope.all_dossier_rcps()).or(
            dossiers::rcp_id.eq_any(&scope.delegated_rcps).and(dossiers::requester_id.eq_any(&scope.physicians)).and(requester_is_member),
        ))
        .select(SUMMARY_COLUMNS)
        .order((dossiers::session_id, patients::search_family, dossiers::id))
        .load::<SummaryRow>(conn)?;
    Ok(rows.into_iter().map(summary).collect())
}

/// Every dossier of a session (the session run), by patient name.
pub fn of_session(conn: &mut DbConnection, session_id: &str) -> Result<Vec<Dossier>, Error> {
    Ok(dossiers::table
        .inner_join(patients::table)
        .filter(dossiers::session_id.eq(session_id))
        .select(dossiers::all_columns)
        .order((patients::search_family, dossiers::id))
        .load::<Dossier>(conn)?)
}

// Registration without rights checks, kept apart so that the real registration
// (`POST /sessions/{id}/dossiers`) can sit beside it without a conflict.

/// Inserts a dossier without rights checks: for the demo loader and tests.
pub fn register_unchecked(
    conn: &mut DbConnection,
    session_id: &str,
    patient_id: &str,
    requester_id: &str,
    registered_by: &str,
) -> Result<String, Error> {
    let session = crate::sessions::find(conn, session_id)?;
    let (id, at) = (crate::new_id(), crate::now());
    diesel::insert_into(dossiers::table)
        .values((
            dossiers::id.eq(&id),
            dossiers::session_id.eq(session_id),
            dossiers::rcp_id.eq(&session.rcp_id),
            dossiers::patient_id.eq(patient_id),
            dossiers::requester_id.eq(requester_id),
            dossiers::status.eq("registered"),
            dossiers::version.eq(1),
            dossiers::registered_by.eq(registered_by),
            dossiers::created_at.eq(at),
            dossiers::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(id)
}
