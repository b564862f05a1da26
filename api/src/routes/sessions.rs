//! Sessions of an RCP, the agenda and the session run.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use concerto_domain::ErrorCode;
use concerto_domain::rcp::{SessionAction, SessionStatus};
use concerto_persistence::sessions::{self, NewSession, Session};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::common::{List, Paging, created, non_blank};
use super::dossiers::{DossierSummaryView, DossierView};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;

/// Status of a session.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatusName {
    /// Scheduled; dossiers can be registered.
    Planned,
    /// Running.
    InProgress,
    /// Over.
    Closed,
}

impl From<SessionStatus> for SessionStatusName {
    fn from(s: SessionStatus) -> Self {
        match s {
            SessionStatus::Planned => Self::Planned,
            SessionStatus::InProgress => Self::InProgress,
            SessionStatus::Closed => Self::Closed,
        }
    }
}

/// A session of an RCP.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Opaque id.
    pub id: String,
    /// Its RCP.
    pub rcp_id: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// Expected end.
    pub ends_at: Option<DateTime<Utc>>,
    /// Where.
    pub location: Option<String>,
    /// Where it stands.
    pub status: SessionStatusName,
}

impl From<Session> for SessionView {
    fn from(s: Session) -> Self {
        Self {
            id: s.id,
            rcp_id: s.rcp_id,
            starts_at: s.starts_at.and_utc(),
            ends_at: s.ends_at.map(|t| t.and_utc()),
            location: s.location,
            status: s.status.into(),
        }
    }
}

/// `POST /rcps/{id}/sessions`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateSession {
    /// Start (RFC 3339).
    pub starts_at: DateTime<Utc>,
    /// Expected end, after the start.
    pub ends_at: Option<DateTime<Utc>>,
    /// Where (room, visio link).
    #[schema(max_length = 500)]
    pub location: Option<String>,
}

/// Schedules a session: coordinators of the RCP's center, its managers and its animateurs.
#[utoipa::path(
    tag = "sessions",
    operation_id = "createSession",
    params(("id" = String, Path, description = "RCP id")),
    request_body = CreateSession,
    responses(
        (status = 201, description = "Scheduled", body = SessionView),
        (status = 403, description = "Not allowed to schedule"),
        (status = 404, description = "No such RCP"),
    )
)]
#[post("/rcps/{id}/sessions")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Json<CreateSession>,
) -> Result<HttpResponse, ApiError> {
    let (rcp, body) = (id.into_inner(), body.into_inner());
    if body.location.as_ref().is_some_and(|l| l.chars().count() > 500) {
        return Err(ApiError::invalid_field(ErrorCode::ValidationFailed, "location", "at most 500 characters"));
    }
    let new = NewSession {
        starts_at: body.starts_at.naive_utc(),
        ends_at: body.ends_at.map(|t| t.naive_utc()),
        location: non_blank(body.location),
    };
    let session = state.db_as(&caller, move |c, p| sessions::create(c, p, &rcp, &new)).await?;
    Ok(created(&format!("/sessions/{}", session.id)).json(SessionView::from(session)))
}

/// The sessions of an RCP by start time (any authenticated user; no patient data).
#[utoipa::path(
    tag = "sessions",
    operation_id = "listRcpSessions",
    params(("id" = String, Path, description = "RCP id"), Paging),
    responses(
        (status = 200, description = "A page of sessions", body = List<SessionView>),
        (status = 404, description = "No such RCP"),
    )
)]
#[get("/rcps/{id}/sessions")]
pub async fn of_rcp(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (rcp, page) = (id.into_inner(), paging.request()?);
    let found = state.db_as(&caller, move |c, _| sessions::of_rcp(c, &rcp, &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(found, SessionView::from)))
}

async fn transition(state: web::Data<AppState>, caller: Caller, id: String, action: SessionAction) -> Result<HttpResponse, ApiError> {
    let session = state.db_as(&caller, move |c, p| sessions::transition(c, p, &id, action)).await?;
    Ok(HttpResponse::Ok().json(SessionView::from(session)))
}

/// Starts a planned session: the RCP's animateurs, their secretaries, the center's coordinators.
#[utoipa::path(
    tag = "sessions",
    operation_id = "startSession",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "In progress", body = SessionView),
        (status = 403, description = "`not_animateur`"),
        (status = 404, description = "No such session"),
        (status = 409, description = "`invalid_transition`: not planned"),
    )
)]
#[post("/sessions/{id}/start")]
pub async fn start(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    transition(state, caller, id.into_inner(), SessionAction::Start).await
}

/// Closes a session in progress: the RCP's animateurs, their secretaries, the center's coordinators.
#[utoipa::path(
    tag = "sessions",
    operation_id = "closeSession",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "Closed", body = SessionView),
        (status = 403, description = "`not_animateur`"),
        (status = 404, description = "No such session"),
        (status = 409, description = "`invalid_transition`: not in progress"),
    )
)]
#[post("/sessions/{id}/close")]
pub async fn close(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    transition(state, caller, id.into_inner(), SessionAction::Close).await
}

/// Period of `GET /agenda`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgendaQuery {
    /// From (inclusive): `YYYY-MM-DD` or RFC 3339; default: today 00:00 UTC.
    pub from: Option<String>,
    /// To (exclusive): `YYYY-MM-DD` or RFC 3339; default: 90 days after `from`. At most 366 days after `from`.
    pub to: Option<String>,
}

/// One session of the agenda with the dossiers the caller may see in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgendaItem {
    /// The session.
    pub id: String,
    /// Its RCP.
    pub rcp_id: String,
    /// The RCP's name.
    pub rcp_name: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// Expected end.
    pub ends_at: Option<DateTime<Utc>>,
    /// Where.
    pub location: Option<String>,
    /// Where it stands.
    pub status: SessionStatusName,
    /// Only the dossiers the caller may see.
    pub dossiers: Vec<DossierSummaryView>,
}

fn parse_bound(field: &'static str, value: &str) -> Result<NaiveDateTime, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.naive_utc());
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(|d| d.and_time(chrono::NaiveTime::MIN))
        .map_err(|_| ApiError::invalid_field(ErrorCode::InvalidQuery, field, "expected YYYY-MM-DD or an RFC 3339 time"))
}

/// The caller's agenda: the sessions she may see (physician: RCPs where he is a member;
/// secretary: RCPs of her centers where one of her physicians is a member), each with only the
/// dossiers she may see (all of them through an animateur, otherwise her physicians' requests).
#[utoipa::path(
    tag = "sessions",
    operation_id = "getAgenda",
    params(AgendaQuery, Paging),
    responses((status = 200, description = "A page of sessions by start time", body = List<AgendaItem>))
)]
#[get("/agenda")]
pub async fn agenda(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AgendaQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let from = match non_blank(query.from.clone()) {
        Some(f) => parse_bound("from", &f)?,
        None => Utc::now().date_naive().and_time(chrono::NaiveTime::MIN),
    };
    let to = match non_blank(query.to.clone()) {
        Some(t) => parse_bound("to", &t)?,
        None => from + chrono::Duration::days(90),
    };
    if to <= from || to - from > chrono::Duration::days(366) {
        return Err(ApiError::invalid_field(ErrorCode::InvalidPeriod, "to", "`to` must come after `from`, at most 366 days later"));
    }
    let found = state.db_as(&caller, move |c, p| concerto_persistence::agenda::agenda(c, p, from, to, &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(found, |e| AgendaItem {
        id: e.session.id,
        rcp_id: e.session.rcp_id,
        rcp_name: e.rcp_name,
        starts_at: e.session.starts_at.and_utc(),
        ends_at: e.session.ends_at.map(|t| t.and_utc()),
        location: e.session.location,
        status: e.session.status.into(),
        dossiers: e.dossiers.into_iter().map(Into::into).collect(),
    })))
}

/// The session run ("déroulement"): every dossier of the session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionRun {
    /// The session.
    pub id: String,
    /// Its RCP.
    pub rcp_id: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// Where it stands.
    pub status: SessionStatusName,
    /// Every dossier, by patient name.
    pub dossiers: Vec<DossierView>,
    /// Who is present, and where the board stands against its quorum.
    pub attendance: super::board::AttendanceView,
}

/// The session run: only for the animateurs of its RCP and their secretaries (on the RCP's
/// center); 403 `not_animateur` otherwise.
#[utoipa::path(
    tag = "sessions",
    operation_id = "getSessionRun",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "The run", body = SessionRun),
        (status = 403, description = "`not_animateur`"),
        (status = 404, description = "No such session"),
    )
)]
#[get("/sessions/{id}/run")]
pub async fn run(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let run = state.db_as(&caller, move |c, p| concerto_persistence::run::run(c, p, &id)).await?;
    Ok(HttpResponse::Ok().json(SessionRun {
        id: run.session.id,
        rcp_id: run.session.rcp_id,
        starts_at: run.session.starts_at.and_utc(),
        status: run.session.status.into(),
        dossiers: run.dossiers.into_iter().map(Into::into).collect(),
        attendance: run.attendance.into(),
    }))
}
