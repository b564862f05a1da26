//! Delegations with dates (holiday cover) and their history: "who held Dr X's rights on
//! 3 March, and through whom".

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use concerto_domain::affiliation::Validity;
use concerto_persistence::delegations::{self, DelegationEvent, Holder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::common::Paging;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// The dates of a delegation (`PUT /professionals/{id}/secretaries/{secretary_id}` and
/// `…/secretary-groups/{group_id}`); the body is optional: without it, from now on, until ended.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegationDates {
    /// First instant it grants (inclusive); absent: at once.
    pub valid_from: Option<DateTime<Utc>>,
    /// First instant it no longer grants (exclusive); absent: until ended. Required when the
    /// physician grants it himself.
    pub valid_until: Option<DateTime<Utc>>,
}

impl DelegationDates {
    /// Reads the optional JSON body of a delegation and checks its dates.
    pub fn from_body(body: &[u8]) -> Result<Validity, ApiError> {
        // No body, or `null`: no dates.
        let dates: Option<DelegationDates> = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            serde_json::from_slice(body).map_err(|e| ApiError::invalid_field("validation_failed", "body", e.to_string()))?
        };
        let dates = dates.unwrap_or_default();
        let now = concerto_persistence::now();
        Ok(Validity::new(dates.valid_from.map(|t| t.naive_utc()), dates.valid_until.map(|t| t.naive_utc()), now)?)
    }

    /// The view of stored dates.
    pub fn of(v: Validity) -> Self {
        Self { valid_from: v.valid_from.map(|t| t.and_utc()), valid_until: v.valid_until.map(|t| t.and_utc()) }
    }
}

/// One recorded change of who holds whose rights.
#[derive(Debug, Serialize, ToSchema)]
pub struct DelegationEventView {
    /// Opaque id.
    pub id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Who made the change (`migration` for links that existed before the history was kept).
    pub actor_id: String,
    /// `affiliation`, `group_affiliation`, `group_membership` or `profile`.
    pub kind: String,
    /// `granted`, `changed` or `ended`.
    pub action: String,
    /// The physician of a (group) affiliation.
    pub physician_id: Option<String>,
    /// The secretary (for a profile: its holder).
    pub secretary_id: Option<String>,
    /// The group.
    pub group_id: Option<String>,
    /// The center of a profile.
    pub cancer_center_id: Option<String>,
    /// The kind of a profile.
    pub profile_kind: Option<String>,
    /// Dates after the change.
    pub valid_from: Option<DateTime<Utc>>,
    /// Dates after the change.
    pub valid_until: Option<DateTime<Utc>>,
    /// Dates before the change.
    pub previous_valid_from: Option<DateTime<Utc>>,
    /// Dates before the change.
    pub previous_valid_until: Option<DateTime<Utc>>,
}

impl From<DelegationEvent> for DelegationEventView {
    fn from(e: DelegationEvent) -> Self {
        let utc = |t: Option<chrono::NaiveDateTime>| t.map(|t| t.and_utc());
        Self {
            id: e.id,
            at: e.at.and_utc(),
            actor_id: e.actor_id,
            kind: e.kind,
            action: e.action,
            physician_id: e.physician_id,
            secretary_id: e.secretary_id,
            group_id: e.group_id,
            cancer_center_id: e.cancer_center_id,
            profile_kind: e.profile_kind,
            valid_from: utc(e.valid_from),
            valid_until: utc(e.valid_until),
            previous_valid_from: utc(e.previous_valid_from),
            previous_valid_until: utc(e.previous_valid_until),
        }
    }
}

/// A secretary who held the physician's rights at the instant asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct HolderView {
    /// The secretary.
    pub secretary_id: String,
    /// Her name.
    pub display_name: String,
    /// The group she held them through; `null`: directly.
    pub via_group_id: Option<String>,
}

impl From<Holder> for HolderView {
    fn from(h: Holder) -> Self {
        Self { secretary_id: h.secretary_id, display_name: h.display_name, via_group_id: h.via_group_id }
    }
}

/// A page of a physician's delegation history, and with `?at=`, who held his rights then.
#[derive(Debug, Serialize, ToSchema)]
pub struct DelegationHistory {
    /// The changes, oldest first.
    pub items: Vec<DelegationEventView>,
    /// Cursor of the next page; `null` on the last.
    pub next_cursor: Option<String>,
    /// With `?at=`: the secretaries who held his rights at that instant, directly or through
    /// a group (and held a secretary profile then).
    pub holders_at: Option<Vec<HolderView>>,
}

/// Parameter of the history.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// An instant (RFC 3339): who held his rights then.
    pub at: Option<DateTime<Utc>>,
}

/// Every change of his affiliations, of his groups' membership and of the profiles of the
/// secretaries involved: the physician himself, coordinators of his centers, the administrator.
#[utoipa::path(
    tag = "directory",
    operation_id = "listDelegationHistory",
    params(("id" = String, Path, description = "Physician id"), HistoryQuery, Paging),
    responses(
        (status = 200, description = "The history", body = DelegationHistory),
        (status = 403, description = "Not allowed to see it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such professional", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/professionals/{id}/delegation-history")]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<HistoryQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let (id, at) = (id.into_inner(), query.at.map(|t| t.naive_utc()));
    let (events, holders) = state.db_as(&caller, move |c, p| delegations::history(c, p, &id, at, &page)).await?;
    Ok(HttpResponse::Ok().json(DelegationHistory {
        items: events.items.into_iter().map(Into::into).collect(),
        next_cursor: events.next_cursor,
        holders_at: holders.map(|h| h.into_iter().map(Into::into).collect()),
    }))
}
