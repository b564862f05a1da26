//! Dossiers: registration, medical content, validation, reports, transmissions, tabs.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use concerto_domain::ErrorCode;
use concerto_domain::cda;
use concerto_domain::dossier::{DossierStatus, ReportChannel};
use concerto_domain::fiche::{self, Fiche, FichePatch, QuorumStatus};
use concerto_persistence::dossiers::{self, Dossier, DossierChanges, DossierSummary, NewDossier, Report, Tab, Transmission};
use concerto_persistence::fiche::StoredFiche;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::common::{List, Paging, created, etag, if_match, non_blank};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;

/// Status of a dossier.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, ToSchema)]
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

impl From<DossierStatus> for DossierStatusName {
    fn from(s: DossierStatus) -> Self {
        match s {
            DossierStatus::Registered => Self::Registered,
            DossierStatus::Discussed => Self::Discussed,
            DossierStatus::Validated => Self::Validated,
            DossierStatus::Withdrawn => Self::Withdrawn,
        }
    }
}

impl From<DossierStatusName> for DossierStatus {
    fn from(s: DossierStatusName) -> Self {
        match s {
            DossierStatusName::Registered => Self::Registered,
            DossierStatusName::Discussed => Self::Discussed,
            DossierStatusName::Validated => Self::Validated,
            DossierStatusName::Withdrawn => Self::Withdrawn,
        }
    }
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
    pub status: DossierStatusName,
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
            status: d.status.into(),
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
    pub status: DossierStatusName,
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
    /// The fiche RCP (FRCP 2025.01), each part `null` until someone fills it in; shown to
    /// whoever reads the dossier. Absent from the session run's list: read the dossier for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fiche: Option<Fiche>,
    /// What validation would refuse now (`fiche_incomplete`): the paths of the missing fields,
    /// empty when the fiche is complete. Absent where `fiche` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fiche_missing: Option<Vec<String>>,
    /// The board's quorum recorded at validation: `reached`, `not_reached` (a case registered
    /// without discussion), `unknown` before validation or when no attendance was recorded.
    /// Absent where `fiche` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fiche_quorum: Option<QuorumStatus>,
}

impl DossierView {
    /// The dossier with its fiche, as the dossier's own operations answer it.
    pub fn with_fiche(d: Dossier, stored: StoredFiche) -> Self {
        let missing = fiche::missing_for_validation(&stored.fiche).into_iter().map(str::to_owned).collect();
        Self {
            fiche_missing: Some(missing),
            fiche_quorum: Some(stored.quorum.unwrap_or(QuorumStatus::Unknown)),
            fiche: Some(stored.fiche),
            ..Self::from(d)
        }
    }
}

impl From<Dossier> for DossierView {
    fn from(d: Dossier) -> Self {
        Self {
            id: d.id,
            session_id: d.session_id,
            rcp_id: d.rcp_id,
            patient_id: d.patient_id,
            requester_id: d.requester_id,
            status: d.status.into(),
            clinical_summary: d.clinical_summary,
            question: d.question,
            proposal: d.proposal,
            version: d.version,
            registered_by: d.registered_by,
            created_at: d.created_at.and_utc(),
            updated_at: d.updated_at.and_utc(),
            validated_by: d.validated_by,
            validated_at: d.validated_at.map(|t| t.and_utc()),
            fiche: None,
            fiche_missing: None,
            fiche_quorum: None,
        }
    }
}

/// A dossier and its fiche answered with its `ETag`.
fn with_etag(status: actix_web::http::StatusCode, (d, stored): (Dossier, StoredFiche)) -> HttpResponse {
    let tag = etag(d.version);
    HttpResponse::build(status).insert_header((header::ETAG, tag)).json(DossierView::with_fiche(d, stored))
}

/// `POST /sessions/{id}/dossiers`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RegisterDossier {
    /// The patient to register.
    #[validate(length(min = 1, max = 64, message = "must hold 1 to 64 characters"))]
    pub patient_id: String,
    /// The requesting physician, a member of the RCP.
    #[validate(length(min = 1, max = 64, message = "must hold 1 to 64 characters"))]
    pub requester_id: String,
    /// Summary of the case (medical content: never from a secretary).
    #[validate(length(max = 20000, message = "at most 20000 characters"))]
    #[schema(max_length = 20000)]
    pub clinical_summary: Option<String>,
    /// The question put to the board (medical content: never from a secretary).
    #[validate(length(max = 20000, message = "at most 20000 characters"))]
    #[schema(max_length = 20000)]
    pub question: Option<String>,
}

/// Registers a patient in a planned session: a member physician for himself, an animateur for
/// any member, a secretary for one of her physicians who is a member. Medical content sent by
/// someone who may not write it (a secretary) is refused and nothing is registered.
#[utoipa::path(
    tag = "dossiers",
    operation_id = "registerDossier",
    params(("id" = String, Path, description = "Session id")),
    request_body = RegisterDossier,
    responses(
        (status = 201, description = "Registered; `ETag` is its version", body = DossierView),
        (status = 403, description = "`not_member`, `not_requester`, `medical_act_forbidden`"),
        (status = 404, description = "No such session or patient"),
        (status = 409, description = "`session_not_open`: started or closed; `already_registered`"),
        (status = 422, description = "`validation_failed`"),
    )
)]
#[post("/sessions/{id}/dossiers")]
pub async fn register(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Json<RegisterDossier>,
) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    let (session, body) = (id.into_inner(), body.into_inner());
    let new = NewDossier {
        patient_id: body.patient_id,
        requester_id: body.requester_id,
        clinical_summary: non_blank(body.clinical_summary),
        question: non_blank(body.question),
    };
    let d = state.db_as(&caller, move |c, p| dossiers::register(c, p, &session, &new)).await?;
    let tag = etag(d.version);
    Ok(created(&format!("/dossiers/{}", d.id)).insert_header((header::ETAG, tag)).json(DossierView::with_fiche(d, StoredFiche::default())))
}

/// A dossier: for whoever sees it (agenda, dossier tabs); 404 for anyone else, who may not even
/// know it exists.
#[utoipa::path(
    tag = "dossiers",
    operation_id = "getDossier",
    params(("id" = String, Path, description = "Dossier id")),
    responses(
        (status = 200, description = "The dossier; `ETag` is its version", body = DossierView),
        (status = 404, description = "No such dossier, or not visible to the caller"),
    )
)]
#[get("/dossiers/{id}")]
pub async fn read(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let d = state.db_as(&caller, move |c, p| dossiers::read(c, p, &id)).await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, d))
}

/// The only status a caller may ask for.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestedStatus {
    /// Take the dossier out of its session.
    Withdrawn,
}

/// A field that may be absent but not `null` (a blank text clears one).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `PATCH /dossiers/{id}`: the fields to change, at least one (422 "nothing to change"); a
/// blank text clears it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[schema(min_properties = 1)]
pub struct PatchDossier {
    /// Summary of the case.
    #[validate(length(max = 20000, message = "at most 20000 characters"))]
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_length = 20000)]
    pub clinical_summary: Option<String>,
    /// The question put to the board.
    #[validate(length(max = 20000, message = "at most 20000 characters"))]
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_length = 20000)]
    pub question: Option<String>,
    /// The board's therapeutic proposal; recording one makes a registered dossier `discussed`.
    #[validate(length(max = 20000, message = "at most 20000 characters"))]
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_length = 20000)]
    pub proposal: Option<String>,
    /// Only `withdrawn`, by whoever may register for the requester, while the session is planned.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub status: Option<RequestedStatus>,
    /// Parts of the fiche RCP: a part sent replaces that part whole, `null` clears it, a part
    /// absent is left as it is. `referral` is administrative (whoever may register for the
    /// requester, a secretary of his included, until validation); every other part is medical
    /// content (as `clinical_summary`). Checked before anything is written: the fiche's rules
    /// (`validation_failed`) and each code sent against its loaded list (`unknown_code`).
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub fiche: Option<FichePatch>,
}

/// Changes the medical content (the requester before the session, the members during it; never
/// a secretary), the fiche RCP (its `referral` part also by a secretary of the requester), or
/// withdraws the dossier. Needs `If-Match` with the ETag read.
#[utoipa::path(
    tag = "dossiers",
    operation_id = "updateDossier",
    params(
        ("id" = String, Path, description = "Dossier id"),
        ("If-Match" = String, Header, description = "The ETag read"),
    ),
    request_body = PatchDossier,
    responses(
        (status = 200, description = "Changed; `ETag` is the new version", body = DossierView),
        (status = 403, description = "`medical_act_forbidden` (a secretary), `not_requester`, `not_member`, `forbidden`"),
        (status = 404, description = "No such dossier, or not visible to the caller"),
        (status = 409, description = "`already_validated`, `dossier_withdrawn`, `session_closed`, `session_not_open` (withdrawal)"),
        (status = 412, description = "`precondition_failed`: changed since read"),
        (status = 422, description = "`validation_failed`: nothing to change, too long, or a fiche that breaks its rules; `unknown_code`: a code of the fiche outside its loaded list (the field and the system are named); `list_not_loaded`"),
        (status = 428, description = "`precondition_required`: no `If-Match`"),
    )
)]
#[patch("/dossiers/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Json<PatchDossier>,
) -> Result<HttpResponse, ApiError> {
    // The body is judged before the precondition: an invalid one is invalid whatever the version.
    body.validate()?;
    let body = body.into_inner();
    let changes = DossierChanges {
        clinical_summary: body.clinical_summary.map(|t| non_blank(Some(t))),
        question: body.question.map(|t| non_blank(Some(t))),
        proposal: body.proposal.map(|t| non_blank(Some(t))),
        withdraw: body.status.is_some(),
        fiche: body.fiche,
    };
    if changes.is_empty() {
        return Err(ApiError::invalid_field(ErrorCode::ValidationFailed, "body", "nothing to change"));
    }
    let version = if_match(&req);
    let id = id.into_inner();
    let d = state.db_as(&caller, move |c, p| dossiers::update(c, p, &id, version, &changes)).await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, d))
}

/// Validates a dossier and produces its report: the animateurs of its RCP and their
/// secretaries. Honours `If-Match` when sent. Requires a proposal, then a complete fiche RCP
/// (`fiche_missing` of the dossier empty: reasons, case status, tumour site, treatments, the
/// guideline of a `registered` case, the reason of a non-conform proposal, the name of a proposed
/// trial), then the board's quorum present, except for a case `registered` without discussion
/// (FRCP ORG-128). The quorum is recorded in `fiche_quorum`.
#[utoipa::path(
    tag = "dossiers",
    operation_id = "validateDossier",
    params(
        ("id" = String, Path, description = "Dossier id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read, optional"),
    ),
    responses(
        (status = 200, description = "Validated; the report exists", body = DossierView),
        (status = 403, description = "`not_animateur`"),
        (status = 404, description = "No such dossier, or not visible to the caller"),
        (status = 409, description = "`already_validated`, `dossier_withdrawn`; `quorum_not_met`: the board present lacks the RCP's quorum (`missing` says what)"),
        (status = 412, description = "`precondition_failed`: changed since read"),
        (status = 422, description = "`proposal_missing`; `fiche_incomplete`: `errors` names each missing field of the fiche"),
    )
)]
#[post("/dossiers/{id}/validate")]
pub async fn validate(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let version = if_match(&req);
    let id = id.into_inner();
    let d = state.db_as(&caller, move |c, p| dossiers::validate(c, p, &id, version)).await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, d))
}

/// The report (compte rendu) of a validated dossier.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    /// The dossier it reports.
    pub dossier_id: String,
    /// Plain text.
    pub body: String,
    /// Who validated the dossier.
    pub produced_by: String,
    /// When.
    pub produced_at: chrono::DateTime<chrono::Utc>,
}

impl From<Report> for ReportView {
    fn from(r: Report) -> Self {
        Self { dossier_id: r.dossier_id, body: r.body, produced_by: r.produced_by, produced_at: r.produced_at.and_utc() }
    }
}

/// What `GET /dossiers/{id}/report` answers, by the request's `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// The JSON report (the default: no `Accept`, `*/*`, `application/*`, `application/json`).
    Json,
    /// The FRCP CDA document, served as `application/xml`.
    Xml,
    /// The FRCP CDA document, served as `application/hl7-cda+xml`.
    Cda,
}

impl ReportFormat {
    /// The format an `Accept` header asks for, the media ranges taken by their `q` (highest
    /// first, `q=0` refused, ties in the header's order); `None` when it names none this
    /// operation serves (406).
    pub fn negotiate(accept: Option<&str>) -> Option<ReportFormat> {
        let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else { return Some(ReportFormat::Json) };
        let mut ranges: Vec<(u16, usize, ReportFormat)> = Vec::new();
        for (i, range) in accept.split(',').enumerate() {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|param| param.trim().strip_prefix("q=").or_else(|| param.trim().strip_prefix("Q=")))
                .find_map(|v| v.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q.is_nan() || q <= 0.0 {
                continue;
            }
            let format = match media.as_str() {
                "application/json" | "*/*" | "application/*" => ReportFormat::Json,
                "application/xml" => ReportFormat::Xml,
                "application/hl7-cda+xml" => ReportFormat::Cda,
                _ => continue,
            };
            // q has at most three decimals (RFC 9110): kept as thousandths.
            ranges.push(((q.min(1.0) * 1000.0).round() as u16, i, format));
        }
        ranges.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranges.first().map(|r| r.2)
    }
}

/// The report of a dossier, for whoever sees the dossier: JSON (404 before validation), or with
/// `Accept: application/xml` or `application/hl7-cda+xml` the FRCP 2025.01 CDA R2 document of
/// the validated dossier (409 `not_validated` before validation), in the media type asked for.
/// The same delegation rules either way; each read is audited (`report.read`, `report.read_cda`).
#[utoipa::path(
    tag = "dossiers",
    operation_id = "getReport",
    params(("id" = String, Path, description = "Dossier id")),
    responses(
        (status = 200, description = "The report; the FRCP CDA document with an XML `Accept`", content(
            (ReportView = "application/json"),
            (String = "application/xml", example = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ClinicalDocument xmlns=\"urn:hl7-org:v3\">…</ClinicalDocument>"),
            (String = "application/hl7-cda+xml")
        )),
        (status = 404, description = "No such dossier, not visible, or (JSON) not validated yet"),
        (status = 406, description = "`not_acceptable`: `Accept` names none of JSON, `application/xml`, `application/hl7-cda+xml`"),
        (status = 409, description = "`not_validated`: the CDA document of a dossier not validated yet"),
    )
)]
#[get("/dossiers/{id}/report")]
pub async fn report(state: web::Data<AppState>, caller: Caller, req: HttpRequest, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let accept = req.headers().get(header::ACCEPT).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let format = ReportFormat::negotiate(accept).ok_or_else(|| {
        ApiError::NotAcceptable("this operation serves application/json, application/xml and application/hl7-cda+xml".to_owned())
    })?;
    let id = id.into_inner();
    let content_type = match format {
        ReportFormat::Json => {
            let r = state.db_as(&caller, move |c, p| dossiers::report(c, p, &id)).await?;
            return Ok(HttpResponse::Ok().json(ReportView::from(r)));
        }
        ReportFormat::Xml => "application/xml",
        ReportFormat::Cda => "application/hl7-cda+xml",
    };
    let document = state.db_as(&caller, move |c, p| dossiers::report_document(c, p, &id)).await?;
    let xml = cda::render(&document).map_err(|e| ApiError::Internal(format!("the CDA document: {e}")))?;
    Ok(HttpResponse::Ok().content_type(content_type).body(xml))
}

#[cfg(test)]
mod tests {
    use super::ReportFormat::{self, Cda, Json, Xml};

    #[test]
    fn accept_picks_the_report_format_by_its_weights() {
        let cases: [(Option<&str>, Option<ReportFormat>); 12] = [
            (None, Some(Json)),
            (Some(""), Some(Json)),
            (Some("*/*"), Some(Json)),
            (Some("application/json"), Some(Json)),
            (Some("application/xml"), Some(Xml)),
            (Some("application/hl7-cda+xml"), Some(Cda)),
            (Some("Application/XML; charset=utf-8"), Some(Xml)),
            (Some("application/json;q=0.5, application/xml"), Some(Xml)),
            (Some("application/xml;q=0.2, */*;q=0.9"), Some(Json)),
            (Some("text/csv"), None),
            (Some("application/xml;q=0, text/html"), None),
            (Some("text/html, application/hl7-cda+xml;q=0.1"), Some(Cda)),
        ];
        for (accept, expected) in cases {
            assert_eq!(ReportFormat::negotiate(accept), expected, "{accept:?}");
        }
    }
}

/// How a report is sent.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelName {
    /// MSSanté secure messaging.
    Mssante,
    /// Ordinary mail.
    Mail,
    /// Printed.
    Print,
}

impl From<ChannelName> for ReportChannel {
    fn from(c: ChannelName) -> Self {
        match c {
            ChannelName::Mssante => Self::Mssante,
            ChannelName::Mail => Self::Mail,
            ChannelName::Print => Self::Print,
        }
    }
}

impl From<ReportChannel> for ChannelName {
    fn from(c: ReportChannel) -> Self {
        match c {
            ReportChannel::Mssante => Self::Mssante,
            ReportChannel::Mail => Self::Mail,
            ReportChannel::Print => Self::Print,
        }
    }
}

/// `POST /dossiers/{id}/report/transmissions`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct SendReport {
    /// The professionals it is sent to (1 to 50).
    #[validate(length(min = 1, max = 50, message = "1 to 50 recipients"))]
    #[schema(min_items = 1, max_items = 50)]
    pub recipient_ids: Vec<String>,
    /// How.
    pub channel: ChannelName,
}

/// One sending of a report.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransmissionView {
    /// Opaque id.
    pub id: String,
    /// The dossier.
    pub dossier_id: String,
    /// How.
    pub channel: ChannelName,
    /// Who sent it.
    pub sent_by: String,
    /// When.
    pub sent_at: chrono::DateTime<chrono::Utc>,
    /// To whom.
    pub recipient_ids: Vec<String>,
}

impl From<Transmission> for TransmissionView {
    fn from(t: Transmission) -> Self {
        Self {
            id: t.id,
            dossier_id: t.dossier_id,
            channel: t.channel.into(),
            sent_by: t.sent_by,
            sent_at: t.sent_at.and_utc(),
            recipient_ids: t.recipient_ids,
        }
    }
}

/// Sends the validated report: whoever sees the dossier.
#[utoipa::path(
    tag = "dossiers",
    operation_id = "sendReport",
    params(("id" = String, Path, description = "Dossier id")),
    request_body = SendReport,
    responses(
        (status = 201, description = "Recorded as sent", body = TransmissionView),
        (status = 403, description = "`forbidden`"),
        (status = 404, description = "No such dossier (or not visible), or an unknown recipient"),
        (status = 409, description = "`not_validated`"),
        (status = 422, description = "`validation_failed`: 1 to 50 recipients, a known channel"),
    )
)]
#[post("/dossiers/{id}/report/transmissions")]
pub async fn send_report(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Json<SendReport>,
) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    let (id, body) = (id.into_inner(), body.into_inner());
    let channel = ReportChannel::from(body.channel);
    let t = state.db_as(&caller, move |c, p| dossiers::send_report(c, p, &id, &body.recipient_ids, channel)).await?;
    Ok(created(&format!("/dossiers/{}/report/transmissions/{}", t.dossier_id, t.id)).json(TransmissionView::from(t)))
}

/// What was sent of a dossier's report, to whom, when and by whom, oldest first.
#[utoipa::path(
    tag = "dossiers",
    operation_id = "listReportTransmissions",
    params(("id" = String, Path, description = "Dossier id"), Paging),
    responses(
        (status = 200, description = "A page of transmissions", body = List<TransmissionView>),
        (status = 404, description = "No such dossier, or not visible to the caller"),
    )
)]
#[get("/dossiers/{id}/report/transmissions")]
pub async fn transmissions(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (id, page) = (id.into_inner(), paging.request()?);
    let found = state.db_as(&caller, move |c, p| dossiers::transmissions(c, p, &id, &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(found, TransmissionView::from)))
}

/// A tab of the "dossiers" module.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TabName {
    /// The dossiers I requested (a secretary: those her physicians requested).
    RcpPassages,
    /// The dossiers of the patients I correspond for (physicians only).
    Correspondent,
    /// The dossiers of the patients I treat (physicians only).
    Treating,
}

/// `GET /me/dossiers?tab=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TabQuery {
    /// Which tab.
    #[param(inline)]
    pub tab: TabName,
}

/// The "dossiers" module: one tab, newest first. A secretary has only `rcp_passages`.
#[utoipa::path(
    tag = "dossiers",
    operation_id = "listMyDossiers",
    params(TabQuery, Paging),
    responses(
        (status = 200, description = "A page of dossiers, newest first", body = List<DossierSummaryView>),
        (status = 403, description = "`tab_not_allowed`"),
        (status = 422, description = "`invalid_query`: unknown tab"),
    )
)]
#[get("/me/dossiers")]
pub async fn tab(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<TabQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let tab = match query.tab {
        TabName::RcpPassages => Tab::RcpPassages,
        TabName::Correspondent => Tab::Correspondent,
        TabName::Treating => Tab::Treating,
    };
    let page = paging.request()?;
    let found = state.db_as(&caller, move |c, p| dossiers::tab(c, p, tab, &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(found, DossierSummaryView::from)))
}
