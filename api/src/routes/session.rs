//! Login and `/me`: who am I and what may I open.

use actix_web::{HttpResponse, get, post, web};
use concerto_persistence::accounts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::professionals::{ProfessionalView, ProfileView};
use crate::auth::{Caller, hash_password, verify_password};
use crate::error::ApiError;
use crate::state::AppState;

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
/// disabled account, so the answer tells nothing about which accounts exist.
#[utoipa::path(
    tag = "session",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Unknown user, wrong password or disabled account", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub async fn login(state: web::Data<AppState>, body: web::Json<LoginRequest>) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    let LoginRequest { username, password } = body.into_inner();
    let found = state.db(move |c| accounts::credentials(c, &username)).await?;
    let account_id = web::block(move || match found {
        Some(creds) => (verify_password(&password, &creds.password_hash) && creds.active).then_some(creds.account_id),
        None => {
            // Spend the same time as a real check so response times do not reveal usernames.
            let _ = hash_password(&password);
            None
        }
    })
    .await?;
    let account_id = account_id
        .ok_or_else(|| ApiError::Unauthorized { code: "invalid_credentials", detail: "unknown username or wrong password".to_owned() })?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: state.tokens.issue(&account_id)?,
        token_type: "Bearer",
        expires_in: state.tokens.ttl_seconds,
    }))
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
#[utoipa::path(tag = "session", responses((status = 200, description = "The caller", body = Me)))]
#[get("/me")]
pub async fn me(caller: Caller) -> Result<HttpResponse, ApiError> {
    // The names came with the rights: nothing more to read.
    let p = &caller.principal;
    Ok(HttpResponse::Ok().json(Me {
        professional: ProfessionalView::new(caller.professional.clone(), p.profiles.clone()),
        is_platform_admin: p.is_platform_admin,
        profiles: p.profiles.iter().map(ProfileView::from).collect(),
        modules: p.modules(),
        dossier_tabs: p.dossier_tabs(),
        acting_for: caller
            .acting_for
            .iter()
            .cloned()
            .map(|a| ActingForView {
                physician_id: a.acting_for.physician_id,
                display_name: a.display_name,
                via_group_id: a.acting_for.via_group_id,
            })
            .collect(),
    }))
}
