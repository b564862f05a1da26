//! The professional directory ("annuaire professionnel"), profiles and "gérer les secrétaires".

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use concerto_domain::ErrorCode;
use concerto_domain::id::{CancerCenterId, GroupId, ProfessionalId};
use concerto_domain::professional::{Category, Professional, Rpps, check_name};
use concerto_domain::profile::{Profile, ProfileKind};
use concerto_persistence::affiliations;
use concerto_persistence::professionals::{self as directory, NewProfessional, Search};
use concerto_persistence::specialties::{self, SpecialtyOf};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::common::{self, List, Paging, non_blank};
use super::delegations::{DelegationDates, DelegationPeriod};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;

/// Directory category of a professional.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CategoryName {
    /// Physician (the default).
    Physician,
    /// Medical secretary.
    Secretary,
    /// Nurse.
    Nurse,
    /// Any other profession.
    Other,
}

impl From<CategoryName> for Category {
    fn from(c: CategoryName) -> Self {
        match c {
            CategoryName::Physician => Self::Physician,
            CategoryName::Secretary => Self::Secretary,
            CategoryName::Nurse => Self::Nurse,
            CategoryName::Other => Self::Other,
        }
    }
}

impl From<Category> for CategoryName {
    fn from(c: Category) -> Self {
        match c {
            Category::Physician => Self::Physician,
            Category::Secretary => Self::Secretary,
            Category::Nurse => Self::Nurse,
            Category::Other => Self::Other,
        }
    }
}

/// Kind of a profile held on a cancer center.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProfileKindName {
    /// Physician of the center's RCPs.
    Physician,
    /// "Secrétaire médecin".
    Secretary,
    /// 3C staff.
    CenterCoordinator,
}

impl From<ProfileKindName> for ProfileKind {
    fn from(k: ProfileKindName) -> Self {
        match k {
            ProfileKindName::Physician => Self::Physician,
            ProfileKindName::Secretary => Self::Secretary,
            ProfileKindName::CenterCoordinator => Self::CenterCoordinator,
        }
    }
}

impl From<ProfileKind> for ProfileKindName {
    fn from(k: ProfileKind) -> Self {
        match k {
            ProfileKind::Physician => Self::Physician,
            ProfileKind::Secretary => Self::Secretary,
            ProfileKind::CenterCoordinator => Self::CenterCoordinator,
        }
    }
}

/// A profile held on a cancer center.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileView {
    /// The center.
    pub cancer_center_id: String,
    /// What it allows.
    pub kind: ProfileKindName,
}

impl From<&Profile> for ProfileView {
    fn from(p: &Profile) -> Self {
        Self { cancer_center_id: p.cancer_center_id.clone(), kind: p.kind.into() }
    }
}

/// A professional of the directory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfessionalView {
    /// Opaque id.
    pub id: String,
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// "Given FAMILY".
    pub display_name: String,
    /// RPPS number.
    pub rpps: Option<String>,
    /// Contact email.
    pub email: Option<String>,
    /// Directory category.
    pub category: CategoryName,
    /// Profiles held on cancer centers.
    pub profiles: Vec<ProfileView>,
    /// A physician's specialty, when set (`PUT /professionals/{id}/specialty`).
    pub specialty: Option<super::board::SpecialtyName>,
    /// The organ of a surgeon or organ specialist.
    pub subspecialty: Option<String>,
}

impl ProfessionalView {
    /// The view of a professional with his profiles.
    pub fn new(p: Professional, profiles: Vec<Profile>) -> Self {
        Self {
            display_name: p.display_name(),
            id: p.id,
            family_name: p.family_name,
            given_name: p.given_name,
            rpps: p.rpps,
            email: p.email,
            category: p.category.into(),
            profiles: profiles.iter().map(ProfileView::from).collect(),
            specialty: None,
            subspecialty: None,
        }
    }

    /// The same view with the physician's specialty.
    pub fn with_specialty(mut self, specialty: Option<SpecialtyOf>) -> Self {
        if let Some(s) = specialty {
            self.specialty = Some(s.specialty.into());
            self.subspecialty = s.subspecialty;
        }
        self
    }
}

/// `POST /professionals`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CreateProfessional {
    /// Family name (1–100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub family_name: String,
    /// Given name (1–100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub given_name: String,
    /// RPPS number: 11 digits with a Luhn check digit (empty: none).
    #[schema(pattern = "^([0-9]{11})?$")]
    pub rpps: Option<String>,
    /// Contact email.
    #[validate(email(message = "not an email address"))]
    #[schema(format = "email")]
    pub email: Option<String>,
    /// Directory category; `physician` when absent.
    pub category: Option<CategoryName>,
}

impl CreateProfessional {
    /// Checks every field, reporting all the invalid ones at once.
    pub fn into_new(self) -> Result<NewProfessional, ApiError> {
        let mut errors = match self.validate() {
            Ok(()) => Vec::new(),
            Err(e) => match ApiError::from(e) {
                ApiError::Unprocessable { errors, .. } => errors,
                other => return Err(other),
            },
        };
        let mut check = |r: Result<(), concerto_domain::DomainError>| {
            if let Err(concerto_domain::DomainError::Invalid { field, message, .. }) = r {
                errors.push(crate::error::FieldError { field: field.to_owned(), message });
            }
        };
        check(check_name("family_name", &self.family_name));
        check(check_name("given_name", &self.given_name));
        let rpps = match non_blank(self.rpps).map(|r| Rpps::parse(&r)).transpose() {
            Ok(r) => r,
            Err(e) => {
                check(Err(e));
                None
            }
        };
        if !errors.is_empty() {
            let code = if errors.iter().any(|e| e.field == "rpps") && errors.len() == 1 {
                ErrorCode::InvalidRpps
            } else {
                ErrorCode::ValidationFailed
            };
            return Err(ApiError::Unprocessable { code, detail: "the request has invalid fields".to_owned(), errors });
        }
        Ok(NewProfessional {
            family_name: self.family_name,
            given_name: self.given_name,
            rpps,
            email: non_blank(self.email),
            category: self.category.map_or(Category::Physician, Category::from),
        })
    }
}

/// Adds a professional to the directory (platform administrator).
#[utoipa::path(
    tag = "directory",
    operation_id = "createProfessional",
    request_body = CreateProfessional,
    responses(
        (status = 201, description = "Created", body = ProfessionalView),
        (status = 403, description = "Not the platform administrator"),
        (status = 409, description = "`rpps_taken`"),
    )
)]
#[post("/professionals")]
pub async fn create(state: web::Data<AppState>, caller: Caller, body: Json<CreateProfessional>) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner().into_new()?;
    let created = state.db_as(&caller, move |c, p| directory::create(c, p, &new)).await?;
    Ok(common::created(&format!("/professionals/{}", created.id)).json(ProfessionalView::new(created, Vec::new())))
}

/// Filters of `GET /professionals`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Name prefix (family or given name; case- and accent-insensitive) or an exact RPPS number.
    pub q: Option<String>,
    /// Only this category.
    pub category: Option<CategoryName>,
    /// Only professionals holding a profile on this center.
    pub cancer_center_id: Option<String>,
    /// Only physicians of this specialty.
    pub specialty: Option<super::board::SpecialtyName>,
}

/// Searches the directory (any authenticated user), ordered by family then given name.
#[utoipa::path(
    tag = "directory",
    operation_id = "searchProfessionals",
    params(SearchQuery, Paging),
    responses((status = 200, description = "A page of professionals", body = List<ProfessionalView>))
)]
#[get("/professionals")]
pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<SearchQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let query = query.into_inner();
    let search = Search {
        q: non_blank(query.q),
        category: query.category.map(Category::from),
        cancer_center_id: non_blank(query.cancer_center_id),
        specialty: query.specialty.map(Into::into),
    };
    let (found, mut profiles, mut specialties) = state
        .db_as(&caller, move |c, _| {
            let found = directory::search(c, &search, &page)?;
            let ids: Vec<String> = found.items.iter().map(|p| p.id.clone()).collect();
            Ok((found, directory::profiles_of_many(c, &ids)?, specialties::of(c, &ids)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(List::from_page(found, |p| {
        let (held, specialty) = (profiles.remove(&p.id).unwrap_or_default(), specialties.remove(&p.id));
        ProfessionalView::new(p, held).with_specialty(specialty)
    })))
}

/// A professional with his profiles (any authenticated user).
#[utoipa::path(
    tag = "directory",
    operation_id = "getProfessional",
    params(("id" = String, Path, description = "Professional id")),
    responses(
        (status = 200, description = "The professional", body = ProfessionalView),
        (status = 404, description = "No such professional"),
    )
)]
#[get("/professionals/{id}")]
pub async fn detail(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (prof, profiles, mut specialty) = state
        .db_as(&caller, move |c, _| {
            let ids = [id.clone()];
            Ok((directory::find(c, &id)?, directory::profiles_of(c, &id)?, specialties::of(c, &ids)?))
        })
        .await?;
    let specialty = specialty.remove(&prof.id);
    Ok(HttpResponse::Ok().json(ProfessionalView::new(prof, profiles).with_specialty(specialty)))
}

/// `PUT /professionals/{id}/category`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetCategory {
    /// The new category.
    pub category: CategoryName,
}

/// "Modifier la catégorie": center coordinators of a center where the professional holds a
/// profile, or the platform administrator.
#[utoipa::path(
    tag = "directory",
    operation_id = "setProfessionalCategory",
    params(("id" = String, Path, description = "Professional id")),
    request_body = SetCategory,
    responses(
        (status = 200, description = "The professional with the new category", body = ProfessionalView),
        (status = 403, description = "Not a coordinator of one of the professional's centers"),
        (status = 404, description = "No such professional"),
        (status = 409, description = "`has_affiliations`: affiliations would no longer fit"),
    )
)]
#[put("/professionals/{id}/category")]
pub async fn set_category(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Json<SetCategory>,
) -> Result<HttpResponse, ApiError> {
    let (id, category) = (id.into_inner(), Category::from(body.category));
    let (prof, profiles) = state
        .db_as(&caller, move |c, p| {
            let prof = directory::set_category(c, p, &id, category)?;
            Ok((prof, directory::profiles_of(c, &id)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ProfessionalView::new(prof, profiles)))
}

/// Grants a profile on a center (platform administrator); idempotent.
#[utoipa::path(
    tag = "administration",
    operation_id = "grantProfile",
    params(
        ("id" = String, Path, description = "Professional id"),
        ("cancer_center_id" = String, Path, description = "Cancer center id"),
        ("kind" = ProfileKindName, Path, description = "Profile kind"),
    ),
    responses(
        (status = 204, description = "The profile is held"),
        (status = 403, description = "Not the platform administrator"),
        (status = 404, description = "No such professional, center or kind"),
    )
)]
#[put("/professionals/{id}/profiles/{cancer_center_id}/{kind}")]
pub async fn grant_profile(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String, ProfileKindName)>,
) -> Result<HttpResponse, ApiError> {
    let (id, center, kind) = path.into_inner();
    let (id, center) = (ProfessionalId::from(id), CancerCenterId::from(center));
    state.db_as(&caller, move |c, p| directory::grant_profile(c, p, &id, &center, kind.into())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes a profile (platform administrator); idempotent. The rights it gave end with the next request.
#[utoipa::path(
    tag = "administration",
    operation_id = "removeProfile",
    params(
        ("id" = String, Path, description = "Professional id"),
        ("cancer_center_id" = String, Path, description = "Cancer center id"),
        ("kind" = ProfileKindName, Path, description = "Profile kind"),
    ),
    responses(
        (status = 204, description = "The profile is not held"),
        (status = 403, description = "Not the platform administrator"),
        (status = 404, description = "No such professional, center or kind"),
    )
)]
#[delete("/professionals/{id}/profiles/{cancer_center_id}/{kind}")]
pub async fn remove_profile(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String, ProfileKindName)>,
) -> Result<HttpResponse, ApiError> {
    let (id, center, kind) = path.into_inner();
    let (id, center) = (ProfessionalId::from(id), CancerCenterId::from(center));
    state.db_as(&caller, move |c, p| directory::remove_profile(c, p, &id, &center, kind.into())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A secretary holding a physician's rights.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretaryView {
    /// The secretary.
    pub secretary_id: String,
    /// Her display name.
    pub display_name: String,
    /// The group through which she is affiliated; `null` when direct.
    pub via_group_id: Option<String>,
    /// The delegation's dates (the group's, via a group); both `null`: from its making, until ended.
    pub dates: DelegationDates,
}

/// A secretary group affiliated to a physician.
#[derive(Debug, Serialize, ToSchema)]
pub struct AffiliatedGroupView {
    /// The group.
    pub group_id: String,
    /// Its name.
    pub name: String,
    /// Its center.
    pub cancer_center_id: String,
    /// The delegation's dates.
    pub dates: DelegationDates,
}

/// "Gérer les secrétaires" of a physician.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretariesView {
    /// Every secretary holding his rights: direct ones, then group members.
    pub secretaries: Vec<SecretaryView>,
    /// The groups affiliated to him.
    pub groups: Vec<AffiliatedGroupView>,
}

/// The secretaries of a physician, direct and through groups: the physician himself, the
/// coordinators of his centers and the platform administrator.
#[utoipa::path(
    tag = "directory",
    operation_id = "getPhysicianSecretaries",
    params(("id" = String, Path, description = "Physician id")),
    responses(
        (status = 200, description = "His secretaries and groups", body = SecretariesView),
        (status = 403, description = "Not allowed to see them"),
        (status = 404, description = "No such professional"),
    )
)]
#[get("/professionals/{id}/secretaries")]
pub async fn secretaries(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let of = state.db_as(&caller, move |c, p| affiliations::secretaries_of(c, p, &id)).await?;
    Ok(HttpResponse::Ok().json(SecretariesView {
        secretaries: of
            .secretaries
            .into_iter()
            .map(|s| SecretaryView {
                secretary_id: s.secretary_id,
                display_name: s.display_name,
                via_group_id: s.via_group_id,
                dates: DelegationDates::of(s.validity),
            })
            .collect(),
        groups: of
            .groups
            .into_iter()
            .map(|g| AffiliatedGroupView {
                group_id: g.group_id,
                name: g.name,
                cancer_center_id: g.cancer_center_id,
                dates: DelegationDates::of(g.validity),
            })
            .collect(),
    }))
}

/// Affiliates a secretary to a physician, optionally between two dates (holiday cover);
/// idempotent, a second call changes the dates. Coordinators of a center where both hold a
/// profile and the administrator; the physician himself for a dated delegation to a secretary
/// holding a secretary profile on one of his centers.
#[utoipa::path(
    tag = "directory",
    operation_id = "addSecretary",
    params(("id" = String, Path, description = "Physician id"), ("secretary_id" = String, Path, description = "Secretary id")),
    request_body(content = Option<DelegationPeriod>, description = "Optional dates: days (`YYYY-MM-DD`, in the platform's time zone) or RFC 3339 instants", content_type = "application/json"),
    responses(
        (status = 204, description = "The secretary holds the physician's rights (between the dates given)"),
        (status = 403, description = "`center_coordinator_required`"),
        (status = 404, description = "No such professional"),
        (status = 422, description = "`not_a_physician`, `not_a_secretary`, `invalid_period`, `valid_until_required`, `validation_failed`"),
    )
)]
#[put("/professionals/{id}/secretaries/{secretary_id}")]
pub async fn add_secretary(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let dates = DelegationPeriod::from_body(&req, &body, state.time_zone)?;
    let (physician, secretary) = path.into_inner();
    state.db_as(&caller, move |c, p| affiliations::add_secretary(c, p, &physician, &secretary, dates)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes a secretary from a physician; idempotent. She loses his rights with her next request.
#[utoipa::path(
    tag = "directory",
    operation_id = "removeSecretary",
    params(("id" = String, Path, description = "Physician id"), ("secretary_id" = String, Path, description = "Secretary id")),
    responses(
        (status = 204, description = "The secretary no longer holds the physician's rights directly"),
        (status = 403, description = "Not a coordinator of a center where both hold a profile"),
        (status = 404, description = "No such professional"),
    )
)]
#[delete("/professionals/{id}/secretaries/{secretary_id}")]
pub async fn remove_secretary(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (physician, secretary) = path.into_inner();
    state.db_as(&caller, move |c, p| affiliations::remove_secretary(c, p, &physician, &secretary)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Affiliates a secretary group to a physician, optionally between two dates; idempotent. Every
/// member gains his rights at once (or from `valid_from`).
#[utoipa::path(
    tag = "directory",
    operation_id = "addSecretaryGroup",
    params(("id" = String, Path, description = "Physician id"), ("group_id" = String, Path, description = "Secretary group id")),
    request_body(content = Option<DelegationPeriod>, description = "Optional dates: days (`YYYY-MM-DD`, in the platform's time zone) or RFC 3339 instants", content_type = "application/json"),
    responses(
        (status = 204, description = "The group's members hold the physician's rights"),
        (status = 403, description = "Not a coordinator of the group's center where the physician holds a profile"),
        (status = 404, description = "No such professional or group"),
        (status = 422, description = "`not_a_physician`, `invalid_period`, `validation_failed`"),
    )
)]
#[put("/professionals/{id}/secretary-groups/{group_id}")]
pub async fn add_group(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let dates = DelegationPeriod::from_body(&req, &body, state.time_zone)?;
    let (physician, group) = path.into_inner();
    let (physician, group) = (ProfessionalId::from(physician), GroupId::from(group));
    state.db_as(&caller, move |c, p| affiliations::add_group(c, p, &physician, &group, dates)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes a secretary group from a physician; idempotent.
#[utoipa::path(
    tag = "directory",
    operation_id = "removeSecretaryGroup",
    params(("id" = String, Path, description = "Physician id"), ("group_id" = String, Path, description = "Secretary group id")),
    responses(
        (status = 204, description = "The group no longer holds the physician's rights"),
        (status = 403, description = "Not a coordinator of the group's center where the physician holds a profile"),
        (status = 404, description = "No such professional or group"),
    )
)]
#[delete("/professionals/{id}/secretary-groups/{group_id}")]
pub async fn remove_group(state: web::Data<AppState>, caller: Caller, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (physician, group) = path.into_inner();
    let (physician, group) = (ProfessionalId::from(physician), GroupId::from(group));
    state.db_as(&caller, move |c, p| affiliations::remove_group(c, p, &physician, &group)).await?;
    Ok(HttpResponse::NoContent().finish())
}
