//! RCPs (tumor boards): creation, members, managers.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use concerto_domain::id::{ProfessionalId, RcpId};
use concerto_domain::rcp::MemberRole;
use concerto_persistence::rcps::{self, National, NationalPatch, Person, Rcp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::common::{List, Paging, created, non_blank, nullable};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;

/// Role of a member in an RCP.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MemberRoleName {
    /// Takes part in the board.
    Participant,
    /// Chairs the board: sees every dossier in the run and validates them.
    Animateur,
}

impl From<MemberRoleName> for MemberRole {
    fn from(r: MemberRoleName) -> Self {
        match r {
            MemberRoleName::Participant => Self::Participant,
            MemberRoleName::Animateur => Self::Animateur,
        }
    }
}

impl From<MemberRole> for MemberRoleName {
    fn from(r: MemberRole) -> Self {
        match r {
            MemberRole::Participant => Self::Participant,
            MemberRole::Animateur => Self::Animateur,
        }
    }
}

/// An RCP.
#[derive(Debug, Serialize, ToSchema)]
pub struct RcpView {
    /// Opaque id.
    pub id: String,
    /// Its center.
    pub cancer_center_id: String,
    /// Name.
    pub name: String,
    /// Specialty.
    pub specialty: String,
    /// Its national settings (FRCP header), each `null` until set.
    #[serde(flatten)]
    pub national: NationalView,
}

impl From<Rcp> for RcpView {
    fn from(r: Rcp) -> Self {
        Self { id: r.id, cancer_center_id: r.cancer_center_id, name: r.name, specialty: r.specialty, national: r.national.into() }
    }
}

/// The national settings of an RCP, as the FRCP header names them.
#[derive(Debug, Serialize, ToSchema)]
pub struct NationalView {
    /// Its nature, a `frcp-rcp-nature` code: `ORG-117` organ RCP, `ORG-132` cross-cutting
    /// (supportive care).
    pub nature: Option<String>,
    /// Its organ, a `frcp-organ` code (list `1.2.250.1.213.1.1.5.598`).
    pub organ: Option<String>,
    /// The regional cancer network's identifier (extension under OID `1.2.250.1.161.1.20.1.1`).
    pub network_id: Option<String>,
    /// The RCP manager's identifier (extension under OID `1.2.250.1.161.1.20.2.1`).
    pub manager_id: Option<String>,
    /// The RCP's national identifier (extension under OID `1.2.250.1.161.1.20.3.1`).
    pub national_id: Option<String>,
}

impl From<National> for NationalView {
    fn from(n: National) -> Self {
        Self { nature: n.nature, organ: n.organ, network_id: n.network_id, manager_id: n.manager_id, national_id: n.national_id }
    }
}

/// A member of an RCP.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    /// The physician.
    pub professional_id: String,
    /// His display name.
    pub display_name: String,
    /// His role.
    pub role: MemberRoleName,
}

/// A manager of an RCP ("responsable de RCP").
#[derive(Debug, Serialize, ToSchema)]
pub struct ManagerView {
    /// The professional.
    pub professional_id: String,
    /// Display name.
    pub display_name: String,
}

/// An RCP with its members and managers.
#[derive(Debug, Serialize, ToSchema)]
pub struct RcpDetailView {
    /// Opaque id.
    pub id: String,
    /// Its center.
    pub cancer_center_id: String,
    /// Name.
    pub name: String,
    /// Specialty.
    pub specialty: String,
    /// Its national settings (FRCP header), each `null` until set.
    #[serde(flatten)]
    pub national: NationalView,
    /// Members by name.
    pub members: Vec<MemberView>,
    /// Managers by name.
    pub managers: Vec<ManagerView>,
}

/// `POST /rcps`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CreateRcp {
    /// Its center (the caller coordinates it).
    pub cancer_center_id: String,
    /// Name (1–200 characters).
    #[validate(length(min = 1, max = 200, message = "must hold 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Specialty (1–200 characters).
    #[validate(length(min = 1, max = 200, message = "must hold 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub specialty: String,
}

/// Creates an RCP: the center's coordinators (or the platform administrator).
#[utoipa::path(
    tag = "rcps",
    operation_id = "createRcp",
    request_body = CreateRcp,
    responses(
        (status = 201, description = "Created", body = RcpView),
        (status = 403, description = "Not a coordinator of that center"),
        (status = 404, description = "No such center"),
    )
)]
#[post("/rcps")]
pub async fn create(state: web::Data<AppState>, caller: Caller, body: Json<CreateRcp>) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    let body = body.into_inner();
    let rcp = state.db_as(&caller, move |c, p| rcps::create(c, p, &body.cancer_center_id, &body.name, &body.specialty)).await?;
    Ok(created(&format!("/rcps/{}", rcp.id)).json(RcpView::from(rcp)))
}

/// Filter of `GET /rcps`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RcpQuery {
    /// Only the RCPs of this center.
    pub cancer_center_id: Option<String>,
}

/// Lists RCPs by name (any authenticated user: boards and their members are no medical data).
#[utoipa::path(operation_id = "listRcps", tag = "rcps", params(RcpQuery, Paging), responses((status = 200, description = "A page of RCPs", body = List<RcpView>)))]
#[get("/rcps")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<RcpQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (page, center) = (paging.request()?, non_blank(query.into_inner().cancer_center_id));
    let found = state.db_as(&caller, move |c, _| rcps::list(c, center.as_deref(), &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(found, RcpView::from)))
}

/// An RCP with its members and managers.
#[utoipa::path(
    tag = "rcps",
    operation_id = "getRcp",
    params(("id" = String, Path, description = "RCP id")),
    responses(
        (status = 200, description = "The RCP", body = RcpDetailView),
        (status = 404, description = "No such RCP"),
    )
)]
#[get("/rcps/{id}")]
pub async fn detail(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let d = state.db_as(&caller, move |c, _| rcps::detail(c, &id)).await?;
    let member =
        |p: Person| p.role.map(|role| MemberView { professional_id: p.professional_id, display_name: p.display_name, role: role.into() });
    Ok(HttpResponse::Ok().json(RcpDetailView {
        id: d.rcp.id,
        cancer_center_id: d.rcp.cancer_center_id,
        name: d.rcp.name,
        specialty: d.rcp.specialty,
        national: d.rcp.national.into(),
        members: d.members.into_iter().filter_map(member).collect(),
        managers: d
            .managers
            .into_iter()
            .map(|p| ManagerView { professional_id: p.professional_id, display_name: p.display_name })
            .collect(),
    }))
}

/// `PATCH /rcps/{id}`: the RCP's national settings. Only the fields sent change (at least
/// one); `null` clears one.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(min_properties = 1)]
pub struct PatchRcp {
    /// Its nature, a code of the loaded `frcp-rcp-nature` list (`ORG-117` organ RCP, `ORG-132`
    /// cross-cutting); 422 `unknown_code` otherwise.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub nature: Option<Option<String>>,
    /// Its organ, a code of the loaded `frcp-organ` list; 422 `unknown_code` otherwise.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub organ: Option<Option<String>>,
    /// The regional cancer network's identifier (extension under OID
    /// `1.2.250.1.161.1.20.1.1`): 1–64 printable ASCII characters, no space.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 64)]
    pub network_id: Option<Option<String>>,
    /// The RCP manager's identifier (extension under OID `1.2.250.1.161.1.20.2.1`): 1–64
    /// printable ASCII characters, no space.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 64)]
    pub manager_id: Option<Option<String>>,
    /// The RCP's national identifier (extension under OID `1.2.250.1.161.1.20.3.1`): 1–64
    /// printable ASCII characters, no space.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 64)]
    pub national_id: Option<Option<String>>,
}

/// Sets the RCP's national settings (its nature, organ and national identifiers): the platform
/// administrator and the coordinators of its center. The coded ones are checked against the
/// loaded lists on today's date.
#[utoipa::path(
    tag = "rcps",
    operation_id = "setRcpNationalSettings",
    params(("id" = String, Path, description = "RCP id")),
    request_body = PatchRcp,
    responses(
        (status = 200, description = "The RCP", body = RcpView),
        (status = 403, description = "`center_coordinator_required`"),
        (status = 404, description = "No such RCP"),
        (status = 422, description = "`validation_failed`; `unknown_code`; `list_not_loaded`"),
    )
)]
#[patch("/rcps/{id}")]
pub async fn set_national(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Json<PatchRcp>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    if b.nature.is_none() && b.organ.is_none() && b.network_id.is_none() && b.manager_id.is_none() && b.national_id.is_none() {
        return Err(ApiError::invalid_field(concerto_domain::ErrorCode::ValidationFailed, "body", "nothing to change"));
    }
    let patch =
        NationalPatch { nature: b.nature, organ: b.organ, network_id: b.network_id, manager_id: b.manager_id, national_id: b.national_id };
    let id = id.into_inner();
    let rcp = state.db_as(&caller, move |c, p| rcps::set_national(c, p, &id, &patch)).await?;
    Ok(HttpResponse::Ok().json(RcpView::from(rcp)))
}

/// `PUT /rcps/{id}/members/{professional_id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetMember {
    /// The member's role.
    pub role: MemberRoleName,
}

/// Adds a physician to an RCP or changes his role; idempotent. Coordinators of the RCP's center
/// and its managers.
#[utoipa::path(
    tag = "rcps",
    operation_id = "setRcpMember",
    params(("id" = String, Path, description = "RCP id"), ("professional_id" = String, Path, description = "Physician id")),
    request_body = SetMember,
    responses(
        (status = 204, description = "He is a member with this role"),
        (status = 403, description = "Neither a coordinator of the center nor a manager"),
        (status = 404, description = "No such RCP or professional"),
        (status = 422, description = "`not_a_physician`"),
    )
)]
#[put("/rcps/{id}/members/{professional_id}")]
pub async fn set_member(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: Json<SetMember>,
) -> Result<HttpResponse, ApiError> {
    let ((rcp, member), role) = (path.into_inner(), MemberRole::from(body.role));
    let (rcp, member) = (RcpId::from(rcp), ProfessionalId::from(member));
    state.db_as(&caller, move |c, p| rcps::set_member(c, p, &rcp, &member, role)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes a member; idempotent. His secretaries lose what they saw through him at once.
#[utoipa::path(
    tag = "rcps",
    operation_id = "removeRcpMember",
    params(("id" = String, Path, description = "RCP id"), ("professional_id" = String, Path, description = "Physician id")),
    responses(
        (status = 204, description = "He is not a member"),
        (status = 403, description = "Neither a coordinator of the center nor a manager"),
        (status = 404, description = "No such RCP or professional"),
    )
)]
#[delete("/rcps/{id}/members/{professional_id}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (rcp, member) = path.into_inner();
    let (rcp, member) = (RcpId::from(rcp), ProfessionalId::from(member));
    state.db_as(&caller, move |c, p| rcps::remove_member(c, p, &rcp, &member)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Makes a professional a manager of the RCP; idempotent.
#[utoipa::path(
    tag = "rcps",
    operation_id = "addRcpManager",
    params(("id" = String, Path, description = "RCP id"), ("professional_id" = String, Path, description = "Professional id")),
    responses(
        (status = 204, description = "He manages the RCP"),
        (status = 403, description = "Neither a coordinator of the center nor a manager"),
        (status = 404, description = "No such RCP or professional"),
    )
)]
#[put("/rcps/{id}/managers/{professional_id}")]
pub async fn add_manager(state: web::Data<AppState>, caller: Caller, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (rcp, manager) = path.into_inner();
    let (rcp, manager) = (RcpId::from(rcp), ProfessionalId::from(manager));
    state.db_as(&caller, move |c, p| rcps::add_manager(c, p, &rcp, &manager)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes a manager; idempotent.
#[utoipa::path(
    tag = "rcps",
    operation_id = "removeRcpManager",
    params(("id" = String, Path, description = "RCP id"), ("professional_id" = String, Path, description = "Professional id")),
    responses(
        (status = 204, description = "He does not manage the RCP"),
        (status = 403, description = "Neither a coordinator of the center nor a manager"),
        (status = 404, description = "No such RCP or professional"),
    )
)]
#[delete("/rcps/{id}/managers/{professional_id}")]
pub async fn remove_manager(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (rcp, manager) = path.into_inner();
    let (rcp, manager) = (RcpId::from(rcp), ProfessionalId::from(manager));
    state.db_as(&caller, move |c, p| rcps::remove_manager(c, p, &rcp, &manager)).await?;
    Ok(HttpResponse::NoContent().finish())
}
