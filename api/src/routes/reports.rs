//! Reports of the "infocentre" (Pentaho in the seed): the secretaries of each physician.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use concerto_persistence::reports::{self, PhysicianSecretaryRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// One physician and one secretary holding his rights.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhysicianSecretaryView {
    /// The physician.
    pub physician_id: String,
    /// "Given FAMILY".
    pub physician_name: String,
    /// His RPPS number.
    pub rpps: Option<String>,
    /// The secretary.
    pub secretary_id: String,
    /// "Given FAMILY".
    pub secretary_name: String,
    /// The group she holds his rights through; `null` when direct.
    pub via_group_id: Option<String>,
    /// That group's name.
    pub via_group_name: Option<String>,
}

impl From<PhysicianSecretaryRow> for PhysicianSecretaryView {
    fn from(r: PhysicianSecretaryRow) -> Self {
        Self {
            physician_id: r.physician_id,
            physician_name: r.physician_name,
            rpps: r.rpps,
            secretary_id: r.secretary_id,
            secretary_name: r.secretary_name,
            via_group_id: r.via_group_id,
            via_group_name: r.via_group_name,
        }
    }
}

/// The report's rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhysicianSecretariesReport {
    /// One row per (physician, secretary, route), by physician then secretary name.
    pub items: Vec<PhysicianSecretaryView>,
}

/// Parameter of the report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The cancer center whose physicians are listed.
    pub cancer_center_id: String,
}

/// The secretaries of each physician holding a physician profile on the center, direct and
/// through groups; JSON, or CSV with `Accept: text/csv`. Center coordinators of that center and
/// the platform administrator; RCP managers get the members of the RCPs they manage there.
#[utoipa::path(
    tag = "reports",
    operation_id = "getPhysicianSecretariesReport",
    params(ReportQuery),
    responses(
        (status = 200, description = "The rows", content(
            (PhysicianSecretariesReport = "application/json"),
            (String = "text/csv", example = "physician_id,physician_name,rpps,secretary_id,secretary_name,via_group_id,via_group_name\n")
        )),
        (status = 403, description = "Neither a coordinator of that center nor a manager of one of its RCPs", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such center", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/physician-secretaries")]
pub async fn physician_secretaries(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ReportQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (center, p) = (query.into_inner().cancer_center_id, caller.principal);
    let rows: Vec<PhysicianSecretaryView> =
        state.db(move |c| reports::physician_secretaries(c, &p, &center)).await?.into_iter().map(Into::into).collect();
    if wants_csv(&req) {
        return Ok(HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(to_csv(&rows)?));
    }
    Ok(HttpResponse::Ok().json(PhysicianSecretariesReport { items: rows }))
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.split(',').any(|m| m.trim().starts_with("text/csv")))
}

/// The CSV columns, in order.
const CSV_HEADER: [&str; 7] =
    ["physician_id", "physician_name", "rpps", "secretary_id", "secretary_name", "via_group_id", "via_group_name"];

/// A spreadsheet runs a cell that starts like a formula: names come from users, so such a cell
/// is written as text (OWASP's advice on CSV injection).
fn cell(value: Option<&str>) -> String {
    match value {
        Some(v) if v.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{v}"),
        Some(v) => v.to_owned(),
        None => String::new(),
    }
}

fn to_csv(rows: &[PhysicianSecretaryView]) -> Result<Vec<u8>, ApiError> {
    let csv_error = |e: csv::Error| ApiError::Internal(e.to_string());
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CSV_HEADER).map_err(csv_error)?;
    for r in rows {
        let fields = [
            Some(r.physician_id.as_str()),
            Some(r.physician_name.as_str()),
            r.rpps.as_deref(),
            Some(r.secretary_id.as_str()),
            Some(r.secretary_name.as_str()),
            r.via_group_id.as_deref(),
            r.via_group_name.as_deref(),
        ];
        writer.write_record(fields.map(cell)).map_err(csv_error)?;
    }
    writer.into_inner().map_err(|e| ApiError::Internal(e.to_string()))
}
