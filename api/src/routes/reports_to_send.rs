//! The secretary's worklist: the validated reports to send (`GET /me/reports-to-send`) and its badge.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, NaiveDate, Utc};
use concerto_persistence::reports_to_send::ReportToSend;
use serde::Serialize;
use utoipa::ToSchema;

use super::common::{List, Paging};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// A default recipient of a report.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecipientView {
    /// The professional.
    pub professional_id: String,
    /// "Given FAMILY".
    pub display_name: String,
    /// `requester`, `treating` or `correspondent`.
    pub role: &'static str,
    /// Whether a transmission already named him.
    pub reached: bool,
}

/// A validated report still to send.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportToSendView {
    /// The dossier.
    pub dossier_id: String,
    /// The patient.
    pub patient_id: String,
    /// Family name.
    pub patient_family_name: String,
    /// Given name.
    pub patient_given_name: String,
    /// Birth date.
    pub patient_birth_date: NaiveDate,
    /// The requesting physician.
    pub requester_id: String,
    /// The RCP.
    pub rcp_id: String,
    /// Its name.
    pub rcp_name: String,
    /// The session.
    pub session_id: String,
    /// When the session started.
    pub session_starts_at: DateTime<Utc>,
    /// When the dossier was validated.
    pub validated_at: DateTime<Utc>,
    /// The default recipients, the requester first, each with whether the report reached him.
    pub recipients: Vec<RecipientView>,
}

impl From<ReportToSend> for ReportToSendView {
    fn from(r: ReportToSend) -> Self {
        Self {
            dossier_id: r.dossier_id,
            patient_id: r.patient_id,
            patient_family_name: r.patient_family_name,
            patient_given_name: r.patient_given_name,
            patient_birth_date: r.patient_birth_date,
            requester_id: r.requester_id,
            rcp_id: r.rcp_id,
            rcp_name: r.rcp_name,
            session_id: r.session_id,
            session_starts_at: r.session_starts_at.and_utc(),
            validated_at: r.validated_at.and_utc(),
            recipients: r
                .recipients
                .into_iter()
                .map(|x| RecipientView {
                    professional_id: x.professional_id,
                    display_name: x.display_name,
                    role: x.role.as_str(),
                    reached: x.reached,
                })
                .collect(),
        }
    }
}

/// The validated reports the caller may see (a secretary: those her physicians requested; a
/// physician: his requests) that have not reached each default recipient yet, oldest
/// validation first. Sending through `sendReport` takes a dossier off once all have it.
#[utoipa::path(
    tag = "dossiers",
    operation_id = "listReportsToSend",
    params(Paging),
    responses((status = 200, description = "A page of reports to send", body = List<ReportToSendView>))
)]
#[get("/me/reports-to-send")]
pub async fn reports_to_send(state: web::Data<AppState>, caller: Caller, paging: web::Query<Paging>) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let found = state.db_as(&caller, move |c, p| concerto_persistence::reports_to_send::reports_to_send(c, p, &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(found, ReportToSendView::from)))
}

/// How many reports wait.
#[derive(Debug, Serialize, ToSchema)]
pub struct Count {
    /// The number.
    pub count: i64,
}

/// The badge of the worklist: how many reports wait (the same rows as `listReportsToSend`).
#[utoipa::path(
    tag = "dossiers",
    operation_id = "countReportsToSend",
    params(("X-Concerto-Background" = Option<String>, Header, description = "`1` when the front end polls by itself: the call does not count as the user's activity for the login session's idle timeout (any authenticated call may carry it)")),
    responses((status = 200, description = "How many reports wait", body = Count))
)]
#[get("/me/reports-to-send/count")]
pub async fn reports_to_send_count(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let count = state.db_as(&caller, concerto_persistence::reports_to_send::reports_to_send_count).await?;
    Ok(HttpResponse::Ok().json(Count { count }))
}
