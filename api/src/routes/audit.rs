//! The audit trail of patient data.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use concerto_domain::ErrorCode;
use concerto_persistence::audit::{self, AuditEvent, AuditFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::common::{List, Paging, non_blank};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Outcome of an audited access.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The access was granted and done.
    Allowed,
    /// The access was refused or failed; nothing was read or written.
    Denied,
}

impl From<audit::Outcome> for Outcome {
    fn from(o: audit::Outcome) -> Self {
        match o {
            audit::Outcome::Allowed => Self::Allowed,
            audit::Outcome::Denied => Self::Denied,
        }
    }
}

/// One access to patient data.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (professional id).
    pub actor_id: String,
    /// For a secretary: the physicians whose rights granted the access.
    pub on_behalf_of: Vec<String>,
    /// What (`dossier.read`, `document.create`, `agenda.read`, …).
    pub action: String,
    /// On what kind of resource.
    pub resource_type: String,
    /// On which one.
    pub resource_id: Option<String>,
    /// Whose data.
    pub patient_id: Option<String>,
    /// Allowed or denied.
    pub outcome: Outcome,
    /// What a login session's event adds in words: how a login authenticated (`method=password`,
    /// `method=psc acr=eidas1`), why a refusal (`wrong_password`, `refresh_token_reused`, …).
    /// Absent from the events of patient data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        Self {
            at: e.at.and_utc(),
            actor_id: e.actor_id,
            on_behalf_of: e.on_behalf_of,
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            patient_id: e.patient_id,
            outcome: e.outcome.into(),
            detail: e.detail,
        }
    }
}

/// Filters of `GET /audit-events`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this patient's data.
    pub patient_id: Option<String>,
    /// Only this actor.
    pub actor_id: Option<String>,
    /// From (inclusive, RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// To (exclusive, RFC 3339).
    pub to: Option<DateTime<Utc>>,
}

/// The audit trail, oldest first: every event for the platform administrator, the events of
/// their centers' RCPs for center coordinators.
#[utoipa::path(
    tag = "audit",
    operation_id = "listAuditEvents",
    params(AuditQuery, Paging),
    responses(
        (status = 200, description = "A page of events", body = List<AuditEventView>),
        (status = 403, description = "Neither administrator nor coordinator"),
    )
)]
#[get("/audit-events")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AuditQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let query = query.into_inner();
    let filter = AuditFilter {
        patient_id: non_blank(query.patient_id),
        actor_id: non_blank(query.actor_id),
        from: query.from.map(|t| t.naive_utc()),
        to: query.to.map(|t| t.naive_utc()),
    };
    let found = state
        .db_as(&caller, move |c, p| {
            let centers = concerto_domain::rules::administered_centers(p, ErrorCode::CenterCoordinatorRequired)?;
            audit::list(c, &filter, centers.as_deref(), &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(List::from_page(found, AuditEventView::from)))
}
