//! Login and `/me`: who am I and what may I open.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use concerto_domain::ErrorCode;
use concerto_persistence::accounts;
use concerto_persistence::login_sessions::{self, NewSession, Refresh};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::professionals::{ProfessionalView, ProfileView};
use crate::auth::{hash_password, new_refresh_token, refresh_digest, verify_nobody, verify_password};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;
use crate::throttle;

/// Credentials of `POST /auth/login`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct LoginRequest {
    /// Login name (case-insensitive).
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub username: String,
    /// Password.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub password: String,
}

/// An access token and the refresh token of its login session.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The JWT to send as `Authorization: Bearer …`; it names its login session.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires (`CONCERTO_TOKEN_TTL_SECONDS`, 600 by default).
    pub expires_in: i64,
    /// The opaque refresh token (256 random bits), for `POST /auth/refresh`: it works once, and
    /// the answer carries the next one. `null` when it travels in the `concerto_refresh` cookie.
    pub refresh_token: Option<String>,
    /// The login session (see `GET /me/sessions`).
    pub session_id: String,
    /// When the session ends whatever its activity (`CONCERTO_SESSION_MAX_SECONDS` after login).
    pub session_expires_at: DateTime<Utc>,
}

/// The cookie that carries the refresh token of a browser front end.
pub const REFRESH_COOKIE: &str = "concerto_refresh";
/// The header with which a browser front end asks for, and presents, the refresh cookie: a
/// cross-site page cannot send it without a CORS preflight the API refuses (the CSRF rule).
pub const REFRESH_HEADER: &str = "x-concerto-refresh";

/// Whether the request asks for cookie mode (`X-Concerto-Refresh: cookie`).
fn wants_cookie(req: &HttpRequest) -> bool {
    req.headers().get(REFRESH_HEADER).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() == "cookie")
}

/// The refresh cookie (`max_age` 0 removes it).
fn refresh_cookie(value: &str, max_age: chrono::TimeDelta) -> Cookie<'static> {
    Cookie::build(REFRESH_COOKIE, value.to_owned())
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .path("/api/v1/auth")
        .max_age(actix_web::cookie::time::Duration::seconds(max_age.num_seconds().max(0)))
        .finish()
}

/// What a login or a refresh hands out.
struct Issued {
    account_id: String,
    generation: i64,
    session_id: String,
    refresh_token: String,
    /// The session's absolute end.
    expires_at: NaiveDateTime,
}

/// The answer of a login or a refresh at `now`: the refresh token in the body, or in the cookie
/// when cookie mode is on and the request asked for it.
fn tokens(state: &AppState, req: &HttpRequest, issued: Issued, now: NaiveDateTime) -> Result<HttpResponse, ApiError> {
    let Issued { account_id, generation, session_id, refresh_token, expires_at } = issued;
    let cookie = state.sessions.refresh_cookie && wants_cookie(req);
    let mut answer = HttpResponse::Ok();
    answer.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    if cookie {
        answer.cookie(refresh_cookie(&refresh_token, expires_at - now));
    }
    Ok(answer.json(TokenResponse {
        access_token: state.tokens.issue(&account_id, generation, &session_id, now)?,
        token_type: "Bearer",
        expires_in: state.tokens.ttl_seconds,
        refresh_token: (!cookie).then_some(refresh_token),
        session_id,
        session_expires_at: expires_at.and_utc(),
    }))
}

/// The `User-Agent` of a request, cut to 200 characters.
fn user_agent(req: &HttpRequest) -> Option<String> {
    req.headers().get(actix_web::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(200).collect())
}

/// Logs in: the same 401 `invalid_credentials` for an unknown user, a wrong password and a
/// disabled account, so the answer tells nothing about which accounts exist. Throttled per
/// account and per client address (429 `too_many_attempts` with `Retry-After`); every refusal is
/// an `auth.login` audit event.
#[utoipa::path(
    tag = "session",
    operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`: unknown user, wrong password or disabled account (the same answer for all three)"),
        (status = 429, description = "`too_many_attempts`: this account or this address used its attempts of the window; `Retry-After` says when to try again"),
    )
)]
#[post("/auth/login")]
pub async fn login(state: web::Data<AppState>, req: HttpRequest, body: Json<LoginRequest>) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    let LoginRequest { username, password } = body.into_inner();
    let attempt = throttle::begin(&state, None, "auth.login", &username, &throttle::client_address(&req, &state)).await?;
    let name = username.clone();
    let found = state.db(move |c| accounts::credentials(c, &name)).await?;
    let account = web::block(move || match found {
        Some(creds) if !verify_password(&password, &creds.password_hash) => Err(ErrorCode::WrongPassword.as_str()),
        Some(creds) if !creds.active => Err(ErrorCode::AccountDisabled.as_str()),
        Some(creds) => Ok(creds),
        None => {
            // Spend the same time as a real check so response times do not reveal usernames.
            verify_nobody(&password);
            Err("unknown_username")
        }
    })
    .await?;
    let account = match account {
        Ok(account) => account,
        Err(reason) => {
            throttle::refused_attempt(&state, None, "auth.login", &username, reason).await?;
            return Err(ApiError::Unauthorized {
                code: ErrorCode::InvalidCredentials,
                detail: "unknown username or wrong password".to_owned(),
            });
        }
    };
    throttle::succeeded(&state, None, attempt).await?;
    open_session(&state, &req, account.account_id, account.token_generation, "password", None, state.clock.now()).await
}

/// Opens a login session for an account that has just authenticated (`method`: `password` or
/// `psc`, with its `acr`), and answers its tokens as every login does.
pub(crate) async fn open_session(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    account_id: String,
    generation: i64,
    method: &'static str,
    acr: Option<String>,
    now: NaiveDateTime,
) -> Result<HttpResponse, ApiError> {
    let (refresh_token, refresh_hash) = new_refresh_token()?;
    let new = NewSession {
        account_id: account_id.clone(),
        method,
        acr,
        client_address: throttle::client_address(req, state),
        user_agent: user_agent(req),
        refresh_hash,
    };
    let lifetimes = state.sessions.lifetimes();
    let session_id = state.db(move |c| login_sessions::open(c, &new, lifetimes, now)).await?;
    let issued = Issued { account_id, generation, session_id, refresh_token, expires_at: now + lifetimes.absolute };
    tokens(state, req, issued, now)
}

/// Body of `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token; absent when it travels in the `concerto_refresh` cookie (cookie mode,
    /// with the header `X-Concerto-Refresh: cookie`).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub refresh_token: Option<String>,
}

/// The refresh token a request presents: the body's, else the cookie's in cookie mode, which
/// needs the header `X-Concerto-Refresh: cookie` (403 `csrf_header_required`).
fn presented(state: &AppState, req: &HttpRequest, body: Option<String>) -> Result<Option<(String, bool)>, ApiError> {
    if let Some(token) = body {
        return Ok(Some((token, false)));
    }
    let Some(cookie) = req.cookie(REFRESH_COOKIE).filter(|_| state.sessions.refresh_cookie) else {
        return Ok(None);
    };
    if !wants_cookie(req) {
        return Err(ApiError::Forbidden(ErrorCode::CsrfHeaderRequired));
    }
    Ok(Some((cookie.value().to_owned(), true)))
}

/// A session has no ETag: an `If-Match` other than `*` answers 412, after the body is judged, as
/// every write without an ETag does (these two have no caller, whose extractor would judge it).
fn refuse_foreign_if_match(req: &HttpRequest) -> Result<(), ApiError> {
    if crate::precondition::names_a_foreign_etag(req) { Err(ApiError::PreconditionFailed) } else { Ok(()) }
}

fn invalid_refresh_token() -> ApiError {
    ApiError::Unauthorized { code: ErrorCode::InvalidRefreshToken, detail: "this refresh token opens no session: log in again".to_owned() }
}

/// Rotates a refresh token: the answer carries a new access token and the next refresh token;
/// the one presented stops working. A refresh token presented a second time ends its session
/// at once (401 `refresh_token_reused`): of two refreshes racing with one token, one succeeds
/// and the other ends the session, so a front end refreshes one at a time. A refresh does not
/// count as activity for the idle timeout. Every outcome is an `auth.refresh` audit event.
#[utoipa::path(
    tag = "session",
    operation_id = "refreshSession",
    request_body = RefreshRequest,
    params(("X-Concerto-Refresh" = Option<String>, Header, description = "`cookie`: the refresh token travels in the `concerto_refresh` cookie (cookie mode)")),
    responses(
        (status = 200, description = "Rotated: a new access token and the next refresh token", body = TokenResponse),
        (status = 401, description = "`invalid_refresh_token`: unknown, or its session ended or timed out; `refresh_token_reused`: already used, its session has ended"),
        (status = 403, description = "`csrf_header_required`: the refresh cookie came without `X-Concerto-Refresh: cookie`"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(state: web::Data<AppState>, req: HttpRequest, body: Json<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    refuse_foreign_if_match(&req)?;
    let Some((token, _)) = presented(&state, &req, body.into_inner().refresh_token)? else {
        return Err(invalid_refresh_token());
    };
    let (next, next_hash) = new_refresh_token()?;
    let presented_hash = refresh_digest(&token);
    let (now, lifetimes) = (state.clock.now(), state.sessions.lifetimes());
    match state.db(move |c| login_sessions::refresh(c, &presented_hash, &next_hash, lifetimes, now)).await? {
        Refresh::Rotated { session_id, account_id, generation, expires_at } => {
            tokens(&state, &req, Issued { account_id, generation, session_id, refresh_token: next, expires_at }, now)
        }
        Refresh::Reused => Err(ApiError::Unauthorized {
            code: ErrorCode::RefreshTokenReused,
            detail: "this refresh token was already used: its session has ended, log in again".to_owned(),
        }),
        Refresh::Invalid => Err(invalid_refresh_token()),
    }
}

/// Logs out: ends the session of the refresh token at once (its access tokens stop on their
/// next request, on every instance) and removes the refresh cookie. 204 also for a token that
/// opens no session: there is nothing more to end.
#[utoipa::path(
    tag = "session",
    operation_id = "logout",
    request_body = RefreshRequest,
    params(("X-Concerto-Refresh" = Option<String>, Header, description = "`cookie`: the refresh token travels in the `concerto_refresh` cookie (cookie mode)")),
    responses(
        (status = 204, description = "The session has ended"),
        (status = 403, description = "`csrf_header_required`: the refresh cookie came without `X-Concerto-Refresh: cookie`"),
    )
)]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, req: HttpRequest, body: Json<RefreshRequest>) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    refuse_foreign_if_match(&req)?;
    let presented = presented(&state, &req, body.into_inner().refresh_token)?;
    if let Some((token, _)) = presented {
        let (digest, now) = (refresh_digest(&token), state.clock.now());
        state.db(move |c| login_sessions::logout(c, &digest, now)).await?;
    }
    let mut answer = HttpResponse::NoContent();
    if state.sessions.refresh_cookie && req.cookie(REFRESH_COOKIE).is_some() {
        answer.cookie(refresh_cookie("", chrono::TimeDelta::zero()));
    }
    Ok(answer.finish())
}

/// A login session of the caller's.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginSessionView {
    /// Opaque id.
    pub id: String,
    /// How the user authenticated: `password` or `psc` (Pro Santé Connect).
    pub method: String,
    /// The authentication level of a Pro Santé Connect login (`eidas1`).
    pub acr: Option<String>,
    /// The client address at login.
    pub client_address: String,
    /// The browser or system at login.
    pub user_agent: Option<String>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// The last user request (to the minute; background calls do not count).
    pub last_activity_at: DateTime<Utc>,
    /// When it ends whatever its activity.
    pub expires_at: DateTime<Utc>,
    /// The session of this request's token.
    pub current: bool,
}

/// The caller's open login sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginSessions {
    /// Newest first.
    pub items: Vec<LoginSessionView>,
}

/// The caller's open login sessions: when, from where, how authenticated.
#[utoipa::path(operation_id = "listMySessions", tag = "session", responses((status = 200, description = "Open sessions", body = LoginSessions)))]
#[get("/me/sessions")]
pub async fn my_sessions(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let (now, lifetimes) = (state.clock.now(), state.sessions.lifetimes());
    let rows = state.db_as(&caller, move |c, p| login_sessions::list_open(c, &p.account_id, lifetimes, now)).await?;
    let current = caller.subject.session_id.clone();
    let items = rows
        .into_iter()
        .map(|s| LoginSessionView {
            current: s.id == current,
            id: s.id,
            method: s.method,
            acr: s.acr,
            client_address: s.client_address,
            user_agent: s.user_agent,
            created_at: s.created_at.and_utc(),
            last_activity_at: s.last_activity_at.and_utc(),
            expires_at: s.expires_at.and_utc(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(LoginSessions { items }))
}

/// Ends one of the caller's sessions at once (another device, or this one). Audited.
#[utoipa::path(
    operation_id = "endMySession",
    tag = "session",
    params(("id" = String, Path, description = "The session")),
    responses((status = 204, description = "Ended"), (status = 404, description = "No open session of the caller's with this id")),
)]
#[delete("/me/sessions/{id}")]
pub async fn end_my_session(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (id, now) = (id.into_inner(), state.clock.now());
    state.db_as(&caller, move |c, p| login_sessions::end_own(c, &p.account_id, &id, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Body of `POST /me/password`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct PasswordChange {
    /// The password the caller logs in with now.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub current_password: String,
    /// The new password: at least 12 characters.
    #[validate(length(min = 12, max = 1000, message = "must hold 12 to 1000 characters"))]
    #[schema(min_length = 12, max_length = 1000)]
    pub new_password: String,
}

/// Changes the caller's password. The current password is required and throttled like a login
/// (a stolen token does not let its holder guess it); a wrong one is 403 `wrong_password`,
/// audited as `auth.password_change`. On 204 every session of the account ends, this one
/// included, and every token issued before stops working: log in again with the new password.
#[utoipa::path(
    operation_id = "changePassword",
    tag = "session",
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed; every earlier token of the account is revoked"),
        (status = 403, description = "`wrong_password`: the current password is not the right one"),
        (status = 409, description = "`password_changed`: the password changed meanwhile"),
        (status = 422, description = "`validation_failed`: the new password is shorter than 12 characters"),
        (status = 429, description = "`too_many_attempts`: too many wrong passwords for this account or from this address",
            headers(("Retry-After" = i64, description = "Seconds to wait"))),
    )
)]
#[post("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    body: Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    let PasswordChange { current_password, new_password } = body.into_inner();
    let creds = state.db_as(&caller, |c, p| accounts::credentials_of(c, &p.account_id)).await?;
    let attempt =
        throttle::begin(&state, Some(&caller.connection), "auth.password_change", &creds.username, &throttle::client_address(&req, &state))
            .await?;
    let phc = creds.password_hash.clone();
    let new_hash = web::block(move || verify_password(&current_password, &phc).then(|| hash_password(&new_password))).await?;
    let Some(new_hash) = new_hash.transpose()? else {
        throttle::refused_attempt(
            &state,
            Some(&caller.connection),
            "auth.password_change",
            &creds.username,
            ErrorCode::WrongPassword.as_str(),
        )
        .await?;
        return Err(ApiError::Forbidden(ErrorCode::WrongPassword));
    };
    let (account_id, generation) = (creds.account_id.clone(), creds.token_generation);
    let now = state.clock.now();
    state.db_as(&caller, move |c, _| login_sessions::change_password(c, &account_id, generation, &new_hash, now)).await?;
    throttle::succeeded(&state, Some(&caller.connection), attempt).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A physician a secretary acts for.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActingForView {
    /// The physician.
    pub physician_id: String,
    /// His display name.
    pub display_name: String,
    /// The secretary group through which she holds his rights; `null` when direct.
    pub via_group_id: Option<String>,
    /// The delegation's dates: `valid_until` is when she stops holding his rights (holiday cover).
    pub dates: super::delegations::DelegationDates,
}

/// `/me`: the caller, her rights and what the front end shows her.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The professional behind the account.
    pub professional: ProfessionalView,
    /// Platform administrator.
    pub is_platform_admin: bool,
    /// Profiles held on cancer centers.
    pub profiles: Vec<ProfileView>,
    /// The front-end modules: among `agenda`, `patients`, `session_run`, `dossiers`, `directory`, `administration`, `reports`.
    pub modules: Vec<&'static str>,
    /// The tabs of the dossiers module: `rcp_passages`, `correspondent`, `treating`.
    pub dossier_tabs: Vec<&'static str>,
    /// For a secretary: the physicians whose rights she holds (directly or through groups).
    pub acting_for: Vec<ActingForView>,
}

/// Who am I: read fresh from the database, so a revoked right is gone at once.
#[utoipa::path(operation_id = "getMe", tag = "session", responses((status = 200, description = "The caller", body = Me)))]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    // The names come with the rights: nothing more to read.
    let who = state.rights_of(&caller).await?;
    let p = &who.principal;
    Ok(HttpResponse::Ok().json(Me {
        professional: ProfessionalView::new(who.professional.clone(), p.profiles.clone()),
        is_platform_admin: p.is_platform_admin,
        profiles: p.profiles.iter().map(ProfileView::from).collect(),
        modules: p.modules(),
        dossier_tabs: p.dossier_tabs(),
        acting_for: who
            .acting_for
            .iter()
            .cloned()
            .map(|a| ActingForView {
                physician_id: a.acting_for.physician_id,
                display_name: a.display_name,
                via_group_id: a.acting_for.via_group_id,
                dates: super::delegations::DelegationDates::of(a.validity),
            })
            .collect(),
    }))
}
