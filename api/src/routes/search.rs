//! The multicriteria dossier search (`GET /dossiers`), in JSON or CSV.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, NaiveDate, Utc};
use concerto_domain::dossier::DossierStatus;
use concerto_persistence::search::{DossierSearch, FoundDossier};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::common::{List, Paging, non_blank};
use super::dossiers::{DossierStatusName, DossierSummaryView};
use super::reports::{cell, wants_csv};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The criteria of the dossier search; at least one.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Only this RCP.
    pub rcp_id: Option<String>,
    /// Sessions from this date (inclusive, UTC).
    pub session_from: Option<NaiveDate>,
    /// Sessions before this date (exclusive, UTC).
    pub session_to: Option<NaiveDate>,
    /// Only this status.
    #[param(inline)]
    pub status: Option<DossierStatusName>,
    /// Only this requester.
    pub requester_id: Option<String>,
    /// An exact INS (when the value is a valid one), or else a prefix of the patient's family
    /// name, compared normalised on both sides: accents folded to ASCII (`é` → `e`, `œ` → `oe`),
    /// lowercase, and every run of other characters (spaces, hyphens, apostrophes) one space, at
    /// the ends none: `"  Dupont-Lév"` finds "DUPONT-LÉVÊQUE", `"d'art"` "D'Artagnan". At least
    /// two characters once normalised (422 `search_too_broad`).
    pub patient: Option<String>,
}

/// A dossier found by the search.
#[derive(Debug, Serialize, ToSchema)]
pub struct FoundDossierView {
    /// The dossier.
    #[serde(flatten)]
    pub dossier: DossierSummaryView,
    /// Its RCP's name.
    pub rcp_name: String,
    /// When its session starts.
    pub session_starts_at: DateTime<Utc>,
}

impl From<FoundDossier> for FoundDossierView {
    fn from(f: FoundDossier) -> Self {
        Self { dossier: f.summary.into(), rcp_name: f.rcp_name, session_starts_at: f.session_starts_at.and_utc() }
    }
}

/// Multicriteria dossier search: only the dossiers the caller may read, by the delegation
/// table (never one outside a secretary's rights, whatever the criteria), newest session first;
/// JSON, or CSV with `Accept: text/csv` (the same page, its next cursor in `X-Next-Cursor`).
#[utoipa::path(
    tag = "dossiers",
    operation_id = "searchDossiers",
    params(SearchQuery, Paging),
    responses(
        (status = 200, description = "A page of dossiers", content(
            (List<FoundDossierView> = "application/json"),
            (String = "text/csv", example = "id,rcp_id,rcp_name,session_starts_at,patient_id,patient_family_name,patient_given_name,patient_birth_date,requester_id,status\n")
        )),
        (status = 422, description = "`search_too_broad`: no criterion, or a name prefix under two letters"),
    )
)]
#[get("/dossiers")]
pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<SearchQuery>,
    paging: web::Query<Paging>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let q = query.into_inner();
    let criteria = DossierSearch {
        rcp_id: non_blank(q.rcp_id),
        session_from: q.session_from.map(|d| d.and_time(chrono::NaiveTime::MIN)),
        session_to: q.session_to.map(|d| d.and_time(chrono::NaiveTime::MIN)),
        status: q.status.map(DossierStatus::from),
        requester_id: non_blank(q.requester_id),
        patient: non_blank(q.patient),
        patient_id: None,
    };
    let found = state.db_as(&caller, move |c, p| concerto_persistence::search::search(c, p, &criteria, &page)).await?;
    let list = List::from_page(found, FoundDossierView::from);
    if wants_csv(&req) {
        let mut res = HttpResponse::Ok();
        res.content_type("text/csv; charset=utf-8");
        if let Some(next) = &list.next_cursor {
            res.insert_header(("X-Next-Cursor", next.as_str()));
        }
        return Ok(res.body(search_csv(&list.items)?));
    }
    Ok(HttpResponse::Ok().json(list))
}

fn search_csv(rows: &[FoundDossierView]) -> Result<Vec<u8>, ApiError> {
    let csv_error = |e: csv::Error| ApiError::Internal(e.to_string());
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "id",
            "rcp_id",
            "rcp_name",
            "session_starts_at",
            "patient_id",
            "patient_family_name",
            "patient_given_name",
            "patient_birth_date",
            "requester_id",
            "status",
        ])
        .map_err(csv_error)?;
    for r in rows {
        let d = &r.dossier;
        writer
            .write_record([
                cell(Some(&d.id)),
                cell(Some(&d.rcp_id)),
                cell(Some(&r.rcp_name)),
                r.session_starts_at.to_rfc3339(),
                cell(Some(&d.patient_id)),
                cell(Some(&d.patient_family_name)),
                cell(Some(&d.patient_given_name)),
                d.patient_birth_date.to_string(),
                cell(Some(&d.requester_id)),
                cell(Some(DossierStatus::from(d.status).as_str())),
            ])
            .map_err(csv_error)?;
    }
    writer.into_inner().map_err(|e| ApiError::Internal(e.to_string()))
}
