//! Pro Santé Connect login: `GET /auth/oidc/start` and `GET /auth/oidc/callback`.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use concerto_domain::ErrorCode;
use concerto_domain::professional::Rpps;
use concerto_persistence::audit;
use concerto_persistence::oidc::{self, Attempt, Binding};
use serde::Deserialize;
use utoipa::IntoParams;

use super::session::open_session;
use crate::error::ApiError;
use crate::oidc::{ATTEMPT_SECONDS, Provider, acr_meets};
use crate::state::AppState;

/// The audit action of every Pro Santé Connect refusal.
const ACTION: &str = "auth.oidc";

fn provider(state: &AppState) -> Result<Arc<Provider>, ApiError> {
    state.oidc.clone().ok_or(ApiError::NotFound("Pro Santé Connect login (not configured on this server: CONCERTO_OIDC_DISCOVERY_URL)"))
}

/// Starts a Pro Santé Connect login: 302 to the provider's authorization endpoint
/// (authorization code flow, PKCE S256, `state`, `nonce`, `acr_values`, the configured scopes).
/// The attempt is kept server-side ten minutes, for one callback.
#[utoipa::path(
    tag = "session",
    operation_id = "oidcStart",
    responses(
        (status = 302, description = "To the provider's authorization endpoint (`Location`)"),
        (status = 404, description = "`not_found`: Pro Santé Connect login is not configured on this server"),
        (status = 503, description = "`oidc_provider_unavailable`: the provider's discovery document or keys cannot be fetched"),
    )
)]
#[get("/auth/oidc/start")]
pub async fn start(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let provider = provider(&state)?;
    let started = web::block(move || provider.start()).await?.map_err(|reason| ApiError::ProviderUnavailable(reason.to_owned()))?;
    let attempt = Attempt { state: started.state, nonce: started.nonce, pkce_verifier: started.pkce_verifier };
    let now = state.clock.now();
    let expires_at = now + chrono::TimeDelta::seconds(ATTEMPT_SECONDS);
    state.db(move |c| oidc::begin(c, &attempt, now, expires_at)).await?;
    Ok(HttpResponse::Found().insert_header((header::LOCATION, started.url)).insert_header((header::CACHE_CONTROL, "no-store")).finish())
}

/// What the provider sends back to `/auth/oidc/callback`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` of the attempt.
    pub state: Option<String>,
    /// The provider's error, when it refused.
    pub error: Option<String>,
}

async fn refuse(state: &AppState, account: Option<String>, reason: &'static str) -> ApiError {
    log::warn!("Pro Santé Connect login refused: {reason}");
    let recorded = state.db(move |c| audit::record_refused_login(c, ACTION, account.as_deref(), reason)).await;
    if let Err(e) = recorded {
        return e;
    }
    if reason == ErrorCode::NoLocalAccount.as_str() {
        ApiError::Forbidden(ErrorCode::NoLocalAccount)
    } else if reason == crate::oidc::PROVIDER_UNAVAILABLE {
        ApiError::ProviderUnavailable(reason.to_owned())
    } else if reason == ErrorCode::AccountDisabled.as_str() {
        ApiError::Forbidden(ErrorCode::AccountDisabled)
    } else {
        ApiError::Unauthorized { code: ErrorCode::OidcRefused, detail: format!("Pro Santé Connect login refused: {reason}") }
    }
}

/// The provider's redirect after the login: checks the attempt (single use), exchanges the code,
/// checks the ID token (issuer, audience, expiry, nonce, RS256/ES256 signature) and its `acr`,
/// reads `SubjectNameID` from the userinfo, finds the professional by RPPS, binds (issuer, sub)
/// at the first login, and opens a session (method `psc`) answered as `POST /auth/login` does.
/// Every refusal is an `auth.oidc` audit event with its reason.
#[utoipa::path(
    tag = "session",
    operation_id = "oidcCallback",
    params(CallbackQuery),
    responses(
        (status = 200, description = "Logged in", body = super::session::TokenResponse),
        (status = 401, description = "`oidc_refused`: unknown, used or expired state, failed code exchange, an ID token or userinfo that fails a check, an acr below the required one; `detail` says which"),
        (status = 403, description = "`no_local_account`: no account has this RPPS (none is created); `account_disabled`"),
        (status = 404, description = "`not_found`: Pro Santé Connect login is not configured on this server"),
    )
)]
#[get("/auth/oidc/callback")]
pub async fn callback(state: web::Data<AppState>, req: HttpRequest, query: web::Query<CallbackQuery>) -> Result<HttpResponse, ApiError> {
    let provider = provider(&state)?;
    let CallbackQuery { code, state: attempt_state, error } = query.into_inner();
    let now = state.clock.now();
    let attempt = match attempt_state {
        Some(s) => state.db(move |c| oidc::take(c, &s, now)).await?,
        None => None,
    };
    let Some(attempt) = attempt else { return Err(refuse(&state, None, "unknown_state").await) };
    if error.is_some() {
        return Err(refuse(&state, None, "provider_refused").await);
    }
    let Some(code) = code else { return Err(refuse(&state, None, "no_code").await) };
    let checker = provider.clone();
    let verified = match web::block(move || checker.finish(code, &attempt.nonce, attempt.pkce_verifier)).await? {
        Ok(v) => v,
        Err(reason) => return Err(refuse(&state, None, reason).await),
    };
    if !acr_meets(verified.acr.as_deref(), &provider.settings.required_acr) {
        return Err(refuse(&state, None, "acr_too_low").await);
    }
    let Some(rpps) = verified.subject_name_id.as_deref().and_then(|s| Rpps::from_subject_name_id(s).ok()) else {
        return Err(refuse(&state, None, "no_rpps").await);
    };
    let rpps = rpps.as_str().to_owned();
    let Some(account) = state.db(move |c| oidc::account_by_rpps(c, &rpps)).await? else {
        return Err(refuse(&state, None, ErrorCode::NoLocalAccount.as_str()).await);
    };
    if !account.active {
        return Err(refuse(&state, Some(account.account_id), ErrorCode::AccountDisabled.as_str()).await);
    }
    let (issuer, subject, account_id) = (verified.issuer.clone(), verified.subject.clone(), account.account_id.clone());
    if state.db(move |c| oidc::bind(c, &issuer, &subject, &account_id, now)).await? == Binding::Conflict {
        return Err(refuse(&state, Some(account.account_id), "identity_mismatch").await);
    }
    open_session(&state, &req, account.account_id, account.token_generation, "psc", verified.acr, now).await
}
