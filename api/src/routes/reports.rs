//! Reports of the "infocentre" (Pentaho in the seed): the secretaries of each physician.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use concerto_domain::ErrorCode;
use concerto_persistence::reports::{self, PhysicianSecretaryRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::caller::Caller;
use crate::error::ApiError;
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
        (status = 403, description = "Neither a coordinator of that center nor a manager of one of its RCPs"),
        (status = 404, description = "No such center"),
    )
)]
#[get("/reports/physician-secretaries")]
pub async fn physician_secretaries(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ReportQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let center = query.into_inner().cancer_center_id;
    let rows: Vec<PhysicianSecretaryView> =
        state.db_as(&caller, move |c, p| reports::physician_secretaries(c, p, &center)).await?.into_iter().map(Into::into).collect();
    if wants_csv(&req) {
        return Ok(HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(to_csv(&rows)?));
    }
    Ok(HttpResponse::Ok().json(PhysicianSecretariesReport { items: rows }))
}

pub(crate) fn wants_csv(req: &HttpRequest) -> bool {
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
pub(crate) fn cell(value: Option<&str>) -> String {
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

/// How the activity report is cut.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ActivityBy {
    /// One row per RCP.
    Rcp,
    /// One row per month of the session dates.
    Month,
    /// One row per requesting physician.
    Requester,
    /// One row per requester's specialty.
    Specialty,
    /// One row per tumour site of the fiche, its CIM-10 category (`C34`); `unknown` when the
    /// fiche gives none.
    TumourSite,
    /// One row per treatment type of the fiche's proposal (`frcp-treatment` code); `none` when
    /// it has none. A dossier with several types counts in each of their rows: these rows do not
    /// add up to the total.
    ProposalType,
}

/// Parameters of the activity report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQueryParams {
    /// Only the RCPs of this center. A coordinator who names neither a center nor an RCP gets
    /// her center's report; one who coordinates several must name it (422 `invalid_query`).
    pub cancer_center_id: Option<String>,
    /// Only this RCP (its managers may ask for it).
    pub rcp_id: Option<String>,
    /// Sessions from this date (inclusive, UTC): the first day of a month (422 `invalid_period`
    /// otherwise); default the first day of the month twelve months before the current one.
    pub from: Option<chrono::NaiveDate>,
    /// Sessions before this date (exclusive, UTC): the first day of a month (422
    /// `invalid_period` otherwise); default the first day of next month.
    pub to: Option<chrono::NaiveDate>,
    /// The breakdown; default `rcp`.
    #[param(inline)]
    pub by: Option<ActivityBy>,
}

/// A delay's median and 90th percentile (nearest rank, within 0.5 %), in hours.
#[derive(Debug, Serialize, ToSchema)]
pub struct DelayView {
    /// Median.
    pub median: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
}

/// One row of the activity report. `suppressed` rows carry no figure (fewer than five
/// dossiers, or hidden so that the total does not give such a row back).
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityRowView {
    /// The RCP id, month (`YYYY-MM`), requester id, specialty, tumour site or treatment type.
    pub key: String,
    /// The RCP's name, the month, the requester's name, the specialty, or the code's label in
    /// its loaded list (the code when the list does not have it).
    pub label: String,
    /// Sessions held (started) in the period; `null` by specialty.
    pub sessions_held: Option<i64>,
    /// Dossiers registered.
    pub dossiers_registered: Option<i64>,
    /// Dossiers discussed (validated ones included).
    pub dossiers_discussed: Option<i64>,
    /// Dossiers validated.
    pub dossiers_validated: Option<i64>,
    /// Dossiers withdrawn.
    pub dossiers_withdrawn: Option<i64>,
    /// Dossiers whose report was sent at least once.
    pub reports_sent: Option<i64>,
    /// Registration to validation.
    pub validation_delay_hours: DelayView,
    /// Validation to the first sending of the report.
    pub sending_delay_hours: DelayView,
    /// Share of the sessions held that reached their quorum (0–1); `null` by specialty.
    pub quorum_rate: Option<f64>,
    /// Share of the validated dossiers whose fiche says whether the proposal conforms to its
    /// guideline that say it does (0–1); `null` when no validated fiche of the row says.
    pub conform_share: Option<f64>,
    /// Small-number suppression applied.
    pub suppressed: bool,
}

impl From<concerto_persistence::activity::ActivityRow> for ActivityRowView {
    fn from(r: concerto_persistence::activity::ActivityRow) -> Self {
        let delay = |d: concerto_persistence::activity::Delay| DelayView { median: d.median, p90: d.p90 };
        Self {
            key: r.key,
            label: r.label,
            sessions_held: r.sessions_held,
            dossiers_registered: r.dossiers_registered,
            dossiers_discussed: r.dossiers_discussed,
            dossiers_validated: r.dossiers_validated,
            dossiers_withdrawn: r.dossiers_withdrawn,
            reports_sent: r.reports_sent,
            validation_delay_hours: delay(r.validation_delay_hours),
            sending_delay_hours: delay(r.sending_delay_hours),
            quorum_rate: r.quorum_rate,
            conform_share: r.conform_share,
            suppressed: r.suppressed,
        }
    }
}

/// The activity report's rows, by key.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityReport {
    /// One row per key.
    pub items: Vec<ActivityRowView>,
}

/// Activity of the boards: sessions, dossiers by fate, reports sent, delays, quorum rate, share
/// of validated fiches conform to their guideline; JSON,
/// or CSV with `Accept: text/csv` (the same figures, written as JSON writes them: no rounding).
/// The platform administrator (any scope; the region when no center or RCP is named), the
/// coordinators of the center (without `cancer_center_id` and `rcp_id`, the center she
/// coordinates), the managers of the RCP. No patient identity. Small numbers are suppressed in
/// every breakdown (`suppressed: true`, every figure `null`): a row drawn from 1 to 4 dossiers,
/// unless all of them are the caller's own requests; and, since every breakdown of a query adds
/// up to the same total, a row that would give a suppressed one back by subtraction: while fewer
/// than two rows are suppressed (or they hold one dossier each), the next smallest row is
/// suppressed too. By proposal type the rows overlap (a dossier counts in each of its types'
/// rows, `none` holds those without one), so subtraction gives only a lower bound of the
/// suppressed rows' sum: the same rule applies to the rows' own counts, so a suppressed row is
/// protected even from a reader who knows the overlap. Suppression is within one answer:
/// comparing overlapping periods is not covered. The period is whole months (`from` and `to`
/// the first day of a month): the figures are kept as counters per month and year, so any
/// period reads a few rows per key. The delays' median and p90 are read from histograms of
/// 1 % buckets: within 0.5 % of the exact nearest rank (under half a second below a second).
/// By specialty, `sessions_held` and `quorum_rate` are `null` (a session is not counted per
/// specialty).
#[utoipa::path(
    tag = "reports",
    operation_id = "getActivityReport",
    params(ActivityQueryParams),
    responses(
        (status = 200, description = "The rows", content(
            (ActivityReport = "application/json"),
            (String = "text/csv", example = "key,label,sessions_held,dossiers_registered,dossiers_discussed,dossiers_validated,dossiers_withdrawn,reports_sent,validation_delay_median_hours,validation_delay_p90_hours,sending_delay_median_hours,sending_delay_p90_hours,quorum_rate,conform_share,suppressed\n")
        )),
        (status = 403, description = "`forbidden`"),
        (status = 404, description = "No such center or RCP"),
        (status = 422, description = "`invalid_period` (also a `from` or `to` not the first day of a month); `invalid_query` (also when a coordinator of several centers names none: the error names `cancer_center_id`)"),
    )
)]
#[get("/reports/activity")]
pub async fn activity(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ActivityQueryParams>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    use chrono::Datelike as _;
    use concerto_persistence::activity::{self, ActivityQuery, Breakdown};
    let q = query.into_inner();
    // Whole months (the counters' grain); by default the current month and the twelve before,
    // which always hold the last 365 days.
    let this_month = chrono::Utc::now().date_naive().with_day(1).unwrap_or_default();
    let to = q.to.unwrap_or_else(|| this_month + chrono::Months::new(1));
    let from = q.from.unwrap_or_else(|| this_month - chrono::Months::new(12));
    if from >= to {
        return Err(ApiError::invalid_field(ErrorCode::InvalidPeriod, "from", "from must come before to"));
    }
    for (field, day) in [("from", from), ("to", to)] {
        if day.day() != 1 {
            let message = format!("the activity report counts whole months: {field} must be the first day of a month");
            return Err(ApiError::invalid_field(ErrorCode::InvalidPeriod, field, message));
        }
    }
    let by = match q.by.unwrap_or(ActivityBy::Rcp) {
        ActivityBy::Rcp => Breakdown::Rcp,
        ActivityBy::Month => Breakdown::Month,
        ActivityBy::Requester => Breakdown::Requester,
        ActivityBy::Specialty => Breakdown::Specialty,
        ActivityBy::TumourSite => Breakdown::TumourSite,
        ActivityBy::ProposalType => Breakdown::ProposalType,
    };
    let query = ActivityQuery {
        cancer_center_id: super::common::non_blank(q.cancer_center_id),
        rcp_id: super::common::non_blank(q.rcp_id),
        from: from.and_time(chrono::NaiveTime::MIN),
        to: to.and_time(chrono::NaiveTime::MIN),
        by,
    };
    let rows: Vec<ActivityRowView> =
        state.db_as(&caller, move |c, p| activity::report(c, p, &query)).await?.into_iter().map(Into::into).collect();
    if wants_csv(&req) {
        return Ok(HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(activity_csv(&rows)?));
    }
    Ok(HttpResponse::Ok().json(ActivityReport { items: rows }))
}

fn activity_csv(rows: &[ActivityRowView]) -> Result<Vec<u8>, ApiError> {
    let csv_error = |e: csv::Error| ApiError::Internal(e.to_string());
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "key",
            "label",
            "sessions_held",
            "dossiers_registered",
            "dossiers_discussed",
            "dossiers_validated",
            "dossiers_withdrawn",
            "reports_sent",
            "validation_delay_median_hours",
            "validation_delay_p90_hours",
            "sending_delay_median_hours",
            "sending_delay_p90_hours",
            "quorum_rate",
            "conform_share",
            "suppressed",
        ])
        .map_err(csv_error)?;
    let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    // The figures as JSON gives them (shortest exact form), so both answers agree.
    let f = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for r in rows {
        writer
            .write_record([
                cell(Some(&r.key)),
                cell(Some(&r.label)),
                n(r.sessions_held),
                n(r.dossiers_registered),
                n(r.dossiers_discussed),
                n(r.dossiers_validated),
                n(r.dossiers_withdrawn),
                n(r.reports_sent),
                f(r.validation_delay_hours.median),
                f(r.validation_delay_hours.p90),
                f(r.sending_delay_hours.median),
                f(r.sending_delay_hours.p90),
                f(r.quorum_rate),
                f(r.conform_share),
                r.suppressed.to_string(),
            ])
            .map_err(csv_error)?;
    }
    writer.into_inner().map_err(|e| ApiError::Internal(e.to_string()))
}
