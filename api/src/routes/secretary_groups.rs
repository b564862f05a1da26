//! Secretary groups and their members.

use actix_web::{HttpResponse, delete, get, post, put, web};
use concerto_domain::id::{GroupId, ProfessionalId};
use concerto_persistence::secretary_groups::{self as groups, SecretaryGroup};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::common::{List, Paging, created, non_blank};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;

/// A secretary group.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretaryGroupView {
    /// Opaque id.
    pub id: String,
    /// Its center.
    pub cancer_center_id: String,
    /// Name, unique in the center.
    pub name: String,
}

impl From<SecretaryGroup> for SecretaryGroupView {
    fn from(g: SecretaryGroup) -> Self {
        Self { id: g.id, cancer_center_id: g.cancer_center_id, name: g.name }
    }
}

/// A member of a group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupMemberView {
    /// The secretary.
    pub professional_id: String,
    /// Her display name.
    pub display_name: String,
}

/// A group with its members ("le détail des personnes le composant").
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretaryGroupDetail {
    /// Opaque id.
    pub id: String,
    /// Its center.
    pub cancer_center_id: String,
    /// Name.
    pub name: String,
    /// Its members, by name.
    pub members: Vec<GroupMemberView>,
}

/// `POST /secretary-groups`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CreateGroup {
    /// The center the group belongs to.
    pub cancer_center_id: String,
    /// Name (1–200 characters), unique in the center.
    #[validate(length(min = 1, max = 200, message = "must hold 1 to 200 characters"))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

/// Creates a secretary group: the center's coordinators or the platform administrator.
#[utoipa::path(
    tag = "secretary groups",
    operation_id = "createSecretaryGroup",
    request_body = CreateGroup,
    responses(
        (status = 201, description = "Created", body = SecretaryGroupView),
        (status = 403, description = "Not a coordinator of that center"),
        (status = 404, description = "No such center"),
        (status = 409, description = "`name_taken`"),
    )
)]
#[post("/secretary-groups")]
pub async fn create(state: web::Data<AppState>, caller: Caller, body: Json<CreateGroup>) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    let body = body.into_inner();
    let group = state.db_as(&caller, move |c, p| groups::create(c, p, &body.cancer_center_id, &body.name)).await?;
    Ok(created(&format!("/secretary-groups/{}", group.id)).json(SecretaryGroupView::from(group)))
}

/// Filters of `GET /secretary-groups`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupQuery {
    /// Name prefix, case- and accent-insensitive.
    pub q: Option<String>,
    /// Only the groups of this center.
    pub cancer_center_id: Option<String>,
}

/// Searches secretary groups by name (any authenticated user).
#[utoipa::path(operation_id = "listSecretaryGroups", tag = "secretary groups", params(GroupQuery, Paging), responses((status = 200, description = "A page of groups", body = List<SecretaryGroupView>)))]
#[get("/secretary-groups")]
pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<GroupQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let query = query.into_inner();
    let (q, center) = (non_blank(query.q), non_blank(query.cancer_center_id));
    let found = state.db_as(&caller, move |c, _| groups::search(c, q.as_deref(), center.as_deref(), &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(found, SecretaryGroupView::from)))
}

/// A group with its members (any authenticated user).
#[utoipa::path(
    tag = "secretary groups",
    operation_id = "getSecretaryGroup",
    params(("id" = String, Path, description = "Secretary group id")),
    responses(
        (status = 200, description = "The group", body = SecretaryGroupDetail),
        (status = 404, description = "No such group"),
    )
)]
#[get("/secretary-groups/{id}")]
pub async fn detail(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (group, members) = state.db_as(&caller, move |c, _| Ok((groups::find(c, &id)?, groups::members(c, &id)?))).await?;
    Ok(HttpResponse::Ok().json(SecretaryGroupDetail {
        id: group.id,
        cancer_center_id: group.cancer_center_id,
        name: group.name,
        members: members.into_iter().map(|m| GroupMemberView { display_name: m.display_name(), professional_id: m.id }).collect(),
    }))
}

/// Adds a secretary to a group; idempotent. She holds the rights of the group's physicians from
/// her next request on.
#[utoipa::path(
    tag = "secretary groups",
    operation_id = "addSecretaryGroupMember",
    params(("id" = String, Path, description = "Secretary group id"), ("professional_id" = String, Path, description = "Secretary id")),
    responses(
        (status = 204, description = "She is a member"),
        (status = 403, description = "Not a coordinator of the group's center where she holds a profile"),
        (status = 404, description = "No such group or professional"),
        (status = 422, description = "`not_a_secretary`"),
    )
)]
#[put("/secretary-groups/{id}/members/{professional_id}")]
pub async fn add_member(state: web::Data<AppState>, caller: Caller, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (group, member) = path.into_inner();
    let (group, member) = (GroupId::from(group), ProfessionalId::from(member));
    state.db_as(&caller, move |c, p| groups::add_member(c, p, &group, &member)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes a member from a group; idempotent. She loses the group's physicians with her next request.
#[utoipa::path(
    tag = "secretary groups",
    operation_id = "removeSecretaryGroupMember",
    params(("id" = String, Path, description = "Secretary group id"), ("professional_id" = String, Path, description = "Secretary id")),
    responses(
        (status = 204, description = "She is not a member"),
        (status = 403, description = "Not a coordinator of the group's center where she holds a profile"),
        (status = 404, description = "No such group or professional"),
    )
)]
#[delete("/secretary-groups/{id}/members/{professional_id}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (group, member) = path.into_inner();
    let (group, member) = (GroupId::from(group), ProfessionalId::from(member));
    state.db_as(&caller, move |c, p| groups::remove_member(c, p, &group, &member)).await?;
    Ok(HttpResponse::NoContent().finish())
}
