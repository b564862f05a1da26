//! Dossiers: registration, medical content, validation, reports, transmissions, tabs.

use concerto_persistence::dossiers::{Dossier, DossierSummary};
use serde::Serialize;
use utoipa::ToSchema;

/// Status of a dossier.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DossierStatusName {
    /// Registered before the session.
    Registered,
    /// A proposal is recorded.
    Discussed,
    /// Validated by an animateur (or a secretary of one); the report exists.
    Validated,
    /// Withdrawn from the session.
    Withdrawn,
}

/// A dossier as a list shows it: the patient's identity, the requester, the status.
#[derive(Debug, Serialize, ToSchema)]
pub struct DossierSummaryView {
    /// Opaque id.
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
    pub patient_birth_date: chrono::NaiveDate,
    /// The requesting physician.
    pub requester_id: String,
    /// Where it stands.
    #[schema(value_type = DossierStatusName)]
    pub status: String,
}

impl From<DossierSummary> for DossierSummaryView {
    fn from(d: DossierSummary) -> Self {
        Self {
            id: d.id,
            session_id: d.session_id,
            rcp_id: d.rcp_id,
            patient_id: d.patient_id,
            patient_family_name: d.patient_family_name,
            patient_given_name: d.patient_given_name,
            patient_birth_date: d.patient_birth_date,
            requester_id: d.requester_id,
            status: d.status,
        }
    }
}

/// A dossier with its medical content.
#[derive(Debug, Serialize, ToSchema)]
pub struct DossierView {
    /// Opaque id.
    pub id: String,
    /// Its session.
    pub session_id: String,
    /// Its RCP.
    pub rcp_id: String,
    /// The patient.
    pub patient_id: String,
    /// The requesting physician.
    pub requester_id: String,
    /// Where it stands.
    #[schema(value_type = DossierStatusName)]
    pub status: String,
    /// Summary of the case.
    pub clinical_summary: Option<String>,
    /// The question put to the board.
    pub question: Option<String>,
    /// The board's therapeutic proposal.
    pub proposal: Option<String>,
    /// Version, also the `ETag`.
    pub version: i32,
    /// Who registered it.
    pub registered_by: String,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Who validated it.
    pub validated_by: Option<String>,
    /// When.
    pub validated_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<Dossier> for DossierView {
    fn from(d: Dossier) -> Self {
        Self {
            id: d.id,
            session_id: d.session_id,
            rcp_id: d.rcp_id,
            patient_id: d.patient_id,
            requester_id: d.requester_id,
            status: d.status,
            clinical_summary: d.clinical_summary,
            question: d.question,
            proposal: d.proposal,
            version: d.version,
            registered_by: d.registered_by,
            created_at: d.created_at.and_utc(),
            updated_at: d.updated_at.and_utc(),
            validated_by: d.validated_by,
            validated_at: d.validated_at.map(|t| t.and_utc()),
        }
    }
}
