//! Login and `/me`: who am I and what may I open.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use concerto_domain::ErrorCode;
use concerto_persistence::accounts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::professionals::{ProfessionalView, ProfileView};
use crate::auth::{hash_password, verify_nobody, verify_password};
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

/// An access token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: i64,
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
        Some(creds) => (verify_password(&password, &creds.password_hash) && creds.active).then_some(creds),
        None => {
            // Spend the same time as a real check so response times do not reveal usernames.
            verify_nobody(&password);
            None
        }
    })
    .await?;
    let Some(account) = account else {
        throttle::refused_attempt(&state, None, "auth.login", &username).await?;
        return Err(ApiError::Unauthorized {
            code: ErrorCode::InvalidCredentials,
            detail: "unknown username or wrong password".to_owned(),
        });
    };
    throttle::succeeded(&state, None, attempt).await?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: state.tokens.issue(&account.account_id, account.token_generation)?,
        token_type: "Bearer",
        expires_in: state.tokens.ttl_seconds,
    }))
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
/// audited as `auth.password_change`. On 204 every token issued before, this one included,
/// stops working: log in again with the new password.
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
        throttle::refused_attempt(&state, Some(&caller.connection), "auth.password_change", &creds.username).await?;
        return Err(ApiError::Forbidden(ErrorCode::WrongPassword));
    };
    let (account_id, generation) = (creds.account_id.clone(), creds.token_generation);
    state.db_as(&caller, move |c, _| accounts::change_password(c, &account_id, generation, &new_hash)).await?;
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
