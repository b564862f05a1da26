//! Administration: cancer centers, account requests and accounts.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use concerto_domain::professional::{Rpps, check_name};
use concerto_persistence::account_requests::{self, AccountRequest, NewAccountRequest, RequestStatus};
use concerto_persistence::accounts::{self, Account};
use concerto_persistence::cancer_centers::{self, CancerCenter};
use concerto_persistence::login_sessions;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::common::{List, Paging, created, non_blank};
use super::professionals::ProfileKindName;
use crate::auth::hash_password;
use crate::caller::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;

/// A cancer center (3C).
#[derive(Debug, Serialize, ToSchema)]
pub struct CancerCenterView {
    /// Opaque id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Short unique code.
    pub code: String,
    /// Its FINESS number (9 characters), `null` until set.
    pub finess: Option<String>,
}

impl From<CancerCenter> for CancerCenterView {
    fn from(c: CancerCenter) -> Self {
        Self { id: c.id, name: c.name, code: c.code, finess: c.finess }
    }
}

/// `PATCH /cancer-centers/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(min_properties = 1)]
pub struct PatchCancerCenter {
    /// Its FINESS number (the identifier of organisations in the FRCP's CDA header, under OID
    /// `1.2.250.1.71.4.2.2`): 9 characters, the département (2 digits, or `2A` / `2B`) then 7
    /// digits; the last one is a check key, which is not verified. `null` clears it.
    #[serde(default, deserialize_with = "super::common::nullable")]
    #[schema(value_type = Option<String>, min_length = 9, max_length = 9, pattern = "^(?:[0-9]{2}|2[ABab])[0-9]{7}$")]
    pub finess: Option<Option<String>>,
}

/// Sets a center's national settings (its FINESS): the platform administrator and the center's
/// coordinators.
#[utoipa::path(
    tag = "administration",
    operation_id = "setCancerCenterNationalSettings",
    params(("id" = String, Path, description = "Cancer center id")),
    request_body = PatchCancerCenter,
    responses(
        (status = 200, description = "The center", body = CancerCenterView),
        (status = 403, description = "`center_coordinator_required`"),
        (status = 404, description = "No such center"),
        (status = 422, description = "`validation_failed`"),
    )
)]
#[patch("/cancer-centers/{id}")]
pub async fn patch_center(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Json<PatchCancerCenter>,
) -> Result<HttpResponse, ApiError> {
    let Some(finess) = body.into_inner().finess else {
        return Err(ApiError::invalid_field(concerto_domain::ErrorCode::ValidationFailed, "body", "nothing to change"));
    };
    let id = id.into_inner();
    let center = state.db_as(&caller, move |c, p| cancer_centers::set_finess(c, p, &id, finess.as_deref())).await?;
    Ok(HttpResponse::Ok().json(CancerCenterView::from(center)))
}

/// `POST /cancer-centers`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CreateCancerCenter {
    /// Name (1–200 characters).
    #[validate(length(min = 1, max = 200, message = "must hold 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Short unique code: 1–32 letters, digits, `-` or `_`.
    #[validate(length(min = 1, max = 32, message = "must hold 1 to 32 characters"), custom(function = "code_chars"))]
    #[schema(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9_-]+$")]
    pub code: String,
}

fn code_chars(code: &str) -> Result<(), validator::ValidationError> {
    if code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        Ok(())
    } else {
        Err(validator::ValidationError::new("code").with_message("letters, digits, '-' and '_' only".into()))
    }
}

/// Opens a cancer center (platform administrator).
#[utoipa::path(
    tag = "administration",
    operation_id = "createCancerCenter",
    request_body = CreateCancerCenter,
    responses(
        (status = 201, description = "Created", body = CancerCenterView),
        (status = 403, description = "Not the platform administrator"),
        (status = 409, description = "`code_taken`"),
    )
)]
#[post("/cancer-centers")]
pub async fn create_center(state: web::Data<AppState>, caller: Caller, body: Json<CreateCancerCenter>) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    let body = body.into_inner();
    let center = state.db_as(&caller, move |c, p| cancer_centers::create(c, p, &body.name, &body.code)).await?;
    Ok(created(&format!("/cancer-centers/{}", center.id)).json(CancerCenterView::from(center)))
}

/// Lists the cancer centers, ordered by code (any authenticated user: names and codes are public
/// knowledge and every profile names a center).
#[utoipa::path(operation_id = "listCancerCenters", tag = "administration", params(Paging), responses((status = 200, description = "A page of centers", body = List<CancerCenterView>)))]
#[get("/cancer-centers")]
pub async fn list_centers(state: web::Data<AppState>, caller: Caller, paging: web::Query<Paging>) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let centers = state.db_as(&caller, move |c, _| cancer_centers::list(c, &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(centers, CancerCenterView::from)))
}

/// State of an account request.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatusName {
    /// Waiting for the platform administrator.
    Pending,
    /// Done: professional and account created.
    Fulfilled,
    /// Refused.
    Rejected,
}

impl From<RequestStatus> for RequestStatusName {
    fn from(s: RequestStatus) -> Self {
        match s {
            RequestStatus::Pending => Self::Pending,
            RequestStatus::Fulfilled => Self::Fulfilled,
            RequestStatus::Rejected => Self::Rejected,
        }
    }
}

impl From<RequestStatusName> for RequestStatus {
    fn from(s: RequestStatusName) -> Self {
        match s {
            RequestStatusName::Pending => Self::Pending,
            RequestStatusName::Fulfilled => Self::Fulfilled,
            RequestStatusName::Rejected => Self::Rejected,
        }
    }
}

/// An account request.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountRequestView {
    /// Opaque id.
    pub id: String,
    /// The requesting center.
    pub cancer_center_id: String,
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// Contact email.
    pub email: String,
    /// RPPS number.
    pub rpps: Option<String>,
    /// The profile to grant on the requesting center.
    pub expected_profile: ProfileKindName,
    /// `pending`, `fulfilled` or `rejected`.
    pub status: RequestStatusName,
    /// The coordinator who asked.
    pub requested_by: String,
    /// When it was asked.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was decided.
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// The professional created.
    pub professional_id: Option<String>,
    /// The account created.
    pub account_id: Option<String>,
}

impl From<AccountRequest> for AccountRequestView {
    fn from(r: AccountRequest) -> Self {
        Self {
            id: r.id,
            cancer_center_id: r.cancer_center_id,
            family_name: r.family_name,
            given_name: r.given_name,
            email: r.email,
            rpps: r.rpps,
            expected_profile: r.expected_profile.into(),
            status: r.status.into(),
            requested_by: r.requested_by,
            created_at: r.created_at.and_utc(),
            decided_at: r.decided_at.map(|t| t.and_utc()),
            reject_reason: r.reject_reason,
            professional_id: r.professional_id,
            account_id: r.account_id,
        }
    }
}

/// `POST /account-requests`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CreateAccountRequest {
    /// The requesting center (the caller coordinates it).
    pub cancer_center_id: String,
    /// Family name.
    #[schema(min_length = 1, max_length = 100)]
    pub family_name: String,
    /// Given name.
    #[schema(min_length = 1, max_length = 100)]
    pub given_name: String,
    /// Contact email.
    #[validate(email(message = "not an email address"))]
    #[schema(format = "email")]
    pub email: String,
    /// RPPS number, when the person has one (empty: none).
    #[schema(pattern = "^([0-9]{11})?$")]
    pub rpps: Option<String>,
    /// The profile to grant (`secretary` for a "secrétaire médecin").
    pub expected_profile: ProfileKindName,
}

/// A center coordinator asks the platform to open an account.
#[utoipa::path(
    tag = "administration",
    operation_id = "createAccountRequest",
    request_body = CreateAccountRequest,
    responses(
        (status = 201, description = "Filed", body = AccountRequestView),
        (status = 403, description = "Not a coordinator of that center"),
        (status = 404, description = "No such center"),
    )
)]
#[post("/account-requests")]
pub async fn create_request(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateAccountRequest>,
) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    let body = body.into_inner();
    check_name("family_name", &body.family_name)?;
    check_name("given_name", &body.given_name)?;
    let new = NewAccountRequest {
        cancer_center_id: body.cancer_center_id,
        family_name: body.family_name,
        given_name: body.given_name,
        email: body.email,
        rpps: non_blank(body.rpps).map(|r| Rpps::parse(&r)).transpose()?,
        expected_profile: body.expected_profile.into(),
    };
    let request = state.db_as(&caller, move |c, p| account_requests::create(c, p, &new)).await?;
    Ok(created(&format!("/account-requests/{}", request.id)).json(AccountRequestView::from(request)))
}

/// Filter of `GET /account-requests`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// Only requests in this state.
    pub status: Option<RequestStatusName>,
}

/// Lists account requests, oldest first: all of them for the platform administrator, those of
/// their centers for coordinators.
#[utoipa::path(
    tag = "administration",
    operation_id = "listAccountRequests",
    params(RequestQuery, Paging),
    responses(
        (status = 200, description = "A page of requests", body = List<AccountRequestView>),
        (status = 403, description = "Neither administrator nor coordinator"),
    )
)]
#[get("/account-requests")]
pub async fn list_requests(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<RequestQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (page, status) = (paging.request()?, query.status.map(RequestStatus::from));
    let requests = state.db_as(&caller, move |c, p| account_requests::list(c, p, status, &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(requests, AccountRequestView::from)))
}

/// `POST /account-requests/{id}/fulfil`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct FulfilRequest {
    /// Login name of the new account.
    #[validate(length(min = 3, max = 100, message = "must hold 3 to 100 characters"))]
    #[schema(min_length = 3, max_length = 100)]
    pub username: String,
    /// Initial password (at least 12 characters).
    #[validate(length(min = 12, max = 1000, message = "must hold at least 12 characters"))]
    #[schema(min_length = 12, max_length = 1000)]
    pub initial_password: String,
}

/// What fulfilling created.
#[derive(Debug, Serialize, ToSchema)]
pub struct FulfilmentView {
    /// The new professional (category `physician`, to be corrected by the center).
    pub professional_id: String,
    /// The new account.
    pub account_id: String,
}

/// Fulfils a request (platform administrator): creates the professional, the account and the
/// expected profile on the requesting center, all or nothing.
#[utoipa::path(
    tag = "administration",
    operation_id = "fulfilAccountRequest",
    params(("id" = String, Path, description = "Account request id")),
    request_body = FulfilRequest,
    responses(
        (status = 200, description = "Created", body = FulfilmentView),
        (status = 403, description = "Not the platform administrator"),
        (status = 404, description = "No such request"),
        (status = 409, description = "`request_not_pending`, `username_taken`, `rpps_taken`"),
    )
)]
#[post("/account-requests/{id}/fulfil")]
pub async fn fulfil(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Json<FulfilRequest>,
) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    concerto_domain::rules::may_administer_platform(&state.rights_of(&caller).await?.principal)?;
    let (id, body) = (id.into_inner(), body.into_inner());
    let hash = web::block(move || hash_password(&body.initial_password)).await??;
    let done = state.db_as(&caller, move |c, p| account_requests::fulfil(c, p, &id, &body.username, &hash)).await?;
    Ok(HttpResponse::Ok().json(FulfilmentView { professional_id: done.professional_id, account_id: done.account_id }))
}

/// `POST /account-requests/{id}/reject`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RejectRequest {
    /// Why (1–1000 characters), told to the requesting center.
    #[validate(length(min = 1, max = 1000, message = "must hold 1 to 1000 characters"))]
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// Rejects a request (platform administrator).
#[utoipa::path(
    tag = "administration",
    operation_id = "rejectAccountRequest",
    params(("id" = String, Path, description = "Account request id")),
    request_body = RejectRequest,
    responses(
        (status = 200, description = "Rejected", body = AccountRequestView),
        (status = 403, description = "Not the platform administrator"),
        (status = 404, description = "No such request"),
        (status = 409, description = "`request_not_pending`"),
    )
)]
#[post("/account-requests/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Json<RejectRequest>,
) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    let (id, body) = (id.into_inner(), body.into_inner());
    let request = state.db_as(&caller, move |c, p| account_requests::reject(c, p, &id, &body.reason)).await?;
    Ok(HttpResponse::Ok().json(AccountRequestView::from(request)))
}

/// An account (never its password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    /// Opaque id.
    pub id: String,
    /// The professional behind it.
    pub professional_id: String,
    /// Login name.
    pub username: String,
    /// Platform administrator.
    pub is_platform_admin: bool,
    /// Enabled.
    pub active: bool,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        Self {
            id: a.id,
            professional_id: a.professional_id,
            username: a.username,
            is_platform_admin: a.is_platform_admin,
            active: a.active,
        }
    }
}

/// `POST /accounts`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CreateAccount {
    /// The professional who will log in.
    pub professional_id: String,
    /// Login name.
    #[validate(length(min = 3, max = 100, message = "must hold 3 to 100 characters"))]
    #[schema(min_length = 3, max_length = 100)]
    pub username: String,
    /// Password (at least 12 characters).
    #[validate(length(min = 12, max = 1000, message = "must hold at least 12 characters"))]
    #[schema(min_length = 12, max_length = 1000)]
    pub password: String,
}

/// Opens an account for a professional (platform administrator).
#[utoipa::path(
    tag = "administration",
    operation_id = "createAccount",
    request_body = CreateAccount,
    responses(
        (status = 201, description = "Created", body = AccountView),
        (status = 403, description = "Not the platform administrator"),
        (status = 404, description = "No such professional"),
        (status = 409, description = "`username_taken`, `account_exists`"),
    )
)]
#[post("/accounts")]
pub async fn create_account(state: web::Data<AppState>, caller: Caller, body: Json<CreateAccount>) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    concerto_domain::rules::may_administer_platform(&state.rights_of(&caller).await?.principal)?;
    let body = body.into_inner();
    let password = body.password.clone();
    let hash = web::block(move || hash_password(&password)).await??;
    let account = state.db_as(&caller, move |c, p| accounts::create(c, p, &body.professional_id, &body.username, &hash)).await?;
    Ok(created(&format!("/accounts/{}", account.id)).json(AccountView::from(account)))
}

/// `PATCH /accounts/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchAccount {
    /// `false` disables the account: its tokens stop working at once.
    pub active: bool,
}

/// Enables or disables an account (platform administrator). Nobody disables his own account, and
/// the last active platform administrator stays enabled. A disable ends every login session of
/// the account at once.
#[utoipa::path(
    tag = "administration",
    operation_id = "updateAccount",
    params(("id" = String, Path, description = "Account id")),
    request_body = PatchAccount,
    responses(
        (status = 200, description = "The account", body = AccountView),
        (status = 403, description = "Not the platform administrator"),
        (status = 404, description = "No such account"),
        (status = 409, description = "`cannot_disable_self`: an administrator cannot disable his own account; `last_platform_admin`: disabling it would leave no active platform administrator"),
    )
)]
#[patch("/accounts/{id}")]
pub async fn patch_account(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Json<PatchAccount>,
) -> Result<HttpResponse, ApiError> {
    let (id, active) = (id.into_inner(), body.active);
    let now = state.clock.now();
    let account = state.db_as(&caller, move |c, p| login_sessions::set_account_active(c, p, &id, active, now)).await?;
    Ok(HttpResponse::Ok().json(AccountView::from(account)))
}

/// Ends every login session of an account at once (platform administrator): a lost badge, a
/// workstation left open. The account stays enabled; audited `auth.session_end`.
#[utoipa::path(
    tag = "administration",
    operation_id = "endAccountSessions",
    params(("id" = String, Path, description = "Account id")),
    responses(
        (status = 204, description = "Every session of the account has ended"),
        (status = 403, description = "Not the platform administrator"),
        (status = 404, description = "No such account"),
        (status = 409, description = "`cannot_end_own_sessions`: the administrator's own account (he ends his sessions one by one with `DELETE /me/sessions/{id}`)"),
    )
)]
#[delete("/accounts/{id}/sessions")]
pub async fn end_account_sessions(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (id, now) = (id.into_inner(), state.clock.now());
    state.db_as(&caller, move |c, p| login_sessions::end_all_by_admin(c, p, &id, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}
