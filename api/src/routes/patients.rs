//! Patients: creation with duplicate detection, the identity search, the record and its changes.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use concerto_domain::DomainError;
use concerto_domain::ErrorCode;
use concerto_domain::patient::{Ins, Sex, check_birth_date, check_birth_place_code};
use concerto_domain::professional::check_name;
use concerto_persistence::patients::{self, IdentityQuery, NewPatient, Patient, PatientIdentity, PatientPatch};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::common::{List, Paging, created, etag, if_match, non_blank, nullable};
use crate::caller::Caller;
use crate::error::{ApiError, FieldError};
use crate::json::Json;
use crate::state::AppState;
use crate::views::SexName;

/// The most correspondents a patient may have.
const MAX_CORRESPONDENTS: usize = 50;

/// A patient's identity traits, as the identity search answers them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientIdentityView {
    /// Opaque id.
    pub id: String,
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Administrative sex.
    pub sex: SexName,
    /// INSEE code of the birth place.
    pub birth_place_code: Option<String>,
    /// INS: the 13-character NIR and its 2-digit key.
    pub ins: Option<String>,
}

impl From<PatientIdentity> for PatientIdentityView {
    fn from(i: PatientIdentity) -> Self {
        Self {
            id: i.id,
            family_name: i.family_name,
            given_name: i.given_name,
            birth_date: i.birth_date,
            sex: i.sex.into(),
            birth_place_code: i.birth_place_code,
            ins: i.ins,
        }
    }
}

/// A patient's record.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientView {
    /// Opaque id.
    pub id: String,
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Administrative sex.
    pub sex: SexName,
    /// INSEE code of the birth place.
    pub birth_place_code: Option<String>,
    /// INS.
    pub ins: Option<String>,
    /// The treating physician ("médecin traitant").
    pub treating_physician_id: Option<String>,
    /// The correspondent physicians.
    pub correspondent_ids: Vec<String>,
    /// Version, also answered as the `ETag`.
    pub version: i32,
    /// Who added the patient.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<Patient> for PatientView {
    fn from(p: Patient) -> Self {
        let i = p.identity;
        Self {
            id: i.id,
            family_name: i.family_name,
            given_name: i.given_name,
            birth_date: i.birth_date,
            sex: i.sex.into(),
            birth_place_code: i.birth_place_code,
            ins: i.ins,
            treating_physician_id: p.treating_physician_id,
            correspondent_ids: p.correspondent_ids,
            version: p.version,
            created_by: p.created_by,
            created_at: p.created_at.and_utc(),
        }
    }
}

/// The record with its `ETag`.
fn with_etag(mut response: actix_web::HttpResponseBuilder, patient: Patient) -> HttpResponse {
    response.insert_header((header::ETAG, etag(patient.version))).json(PatientView::from(patient))
}

/// Collects every invalid field of a request, so that all are reported at once.
#[derive(Default)]
struct Checks(Vec<(ErrorCode, FieldError)>);

impl Checks {
    /// The value when valid; otherwise notes why.
    fn take<T>(&mut self, result: Result<T, DomainError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(DomainError::Invalid { field, code, message }) => {
                self.0.push((code, FieldError { field: field.to_owned(), message }));
                None
            }
            Err(other) => {
                self.0.push((ErrorCode::ValidationFailed, FieldError { field: "body".to_owned(), message: other.to_string() }));
                None
            }
        }
    }

    /// A 422 naming every invalid field; its code is the field's own when only one is wrong.
    fn finish(self) -> Result<(), ApiError> {
        let code = match self.0.as_slice() {
            [] => return Ok(()),
            [(code, _)] => *code,
            _ => ErrorCode::ValidationFailed,
        };
        Err(ApiError::Unprocessable {
            code,
            detail: "the request has invalid fields".to_owned(),
            errors: self.0.into_iter().map(|e| e.1).collect(),
        })
    }

    fn name(&mut self, field: &'static str, value: &str) -> Option<String> {
        self.take(check_name(field, value)).map(|()| value.trim().to_owned())
    }

    fn birth_date(&mut self, value: NaiveDate) -> Option<NaiveDate> {
        self.take(check_birth_date(value, Utc::now().date_naive())).map(|()| value)
    }

    fn correspondents(&mut self, ids: Vec<String>) -> Vec<String> {
        if ids.len() > MAX_CORRESPONDENTS {
            self.take::<()>(Err(DomainError::invalid("correspondent_ids", ErrorCode::ValidationFailed, "at most 50 correspondents")));
        }
        ids
    }
}

/// `POST /patients`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePatient {
    /// Family name (1–100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub family_name: String,
    /// Given name (1–100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub given_name: String,
    /// Birth date, not in the future.
    pub birth_date: NaiveDate,
    /// Administrative sex.
    #[schema(value_type = SexName)]
    pub sex: String,
    /// INSEE code of the birth place: 2 digits (or 2A, 2B) then 3 digits.
    #[schema(pattern = "^([0-9]{2}|2[AB])[0-9]{3}$")]
    pub birth_place_code: Option<String>,
    /// INS: the 13-character NIR and its 2-digit key (`invalid_ins` otherwise).
    #[schema(min_length = 15, max_length = 15)]
    pub ins: Option<String>,
    /// The treating physician: a professional of category `physician`.
    pub treating_physician_id: Option<String>,
    /// Correspondent physicians (at most 50).
    pub correspondent_ids: Option<Vec<String>>,
}

impl CreatePatient {
    fn into_new(self) -> Result<NewPatient, ApiError> {
        let mut checks = Checks::default();
        let family_name = checks.name("family_name", &self.family_name);
        let given_name = checks.name("given_name", &self.given_name);
        let birth_date = checks.birth_date(self.birth_date);
        let sex = checks.take(Sex::parse(&self.sex));
        let birth_place_code = non_blank(self.birth_place_code).and_then(|c| checks.take(check_birth_place_code(&c)));
        let ins = non_blank(self.ins).and_then(|i| checks.take(Ins::parse(&i)));
        let correspondent_ids = checks.correspondents(self.correspondent_ids.unwrap_or_default());
        checks.finish()?;
        match (family_name, given_name, birth_date, sex) {
            (Some(family_name), Some(given_name), Some(birth_date), Some(sex)) => Ok(NewPatient {
                family_name,
                given_name,
                birth_date,
                sex,
                birth_place_code,
                ins,
                treating_physician_id: non_blank(self.treating_physician_id),
                correspondent_ids,
            }),
            _ => Err(ApiError::Internal("a checked field has no value".to_owned())),
        }
    }
}

/// Options of `POST /patients`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateOptions {
    /// Create the patient even though patients with the same identity traits exist (after
    /// checking the `candidates` of the 409 `possible_duplicate`). Never overrides `ins_taken`.
    pub confirm_new: Option<bool>,
}

/// Adds a patient: physicians and secretaries.
#[utoipa::path(
    tag = "patients",
    operation_id = "createPatient",
    params(CreateOptions),
    request_body = CreatePatient,
    responses(
        (status = 201, description = "Created; `ETag` is its version", body = PatientView, headers(("ETag" = String, description = "The version, quoted"))),
        (status = 403, description = "`forbidden`: neither a physician nor a secretary"),
        (status = 404, description = "The treating physician or a correspondent does not exist"),
        (status = 409, description = "`possible_duplicate`: patients with the same names and birth date exist (their identity in `candidates`; send `?confirm_new=true` to add anyway); `ins_taken`: a patient holds this INS"),
        (status = 422, description = "Invalid fields: `invalid_ins`, `invalid_sex`, `birth_date_in_future`, `invalid_birth_place_code`, `invalid_name`, `not_a_physician`, `validation_failed`"),
    )
)]
#[post("/patients")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    options: web::Query<CreateOptions>,
    body: Json<CreatePatient>,
) -> Result<HttpResponse, ApiError> {
    let (new, confirm_new) = (body.into_inner().into_new()?, options.confirm_new.unwrap_or(false));
    let patient = state.db_as(&caller, move |c, p| patients::create(c, p, &new, confirm_new)).await?;
    let location = format!("/patients/{}", patient.identity.id);
    Ok(with_etag(created(&location), patient))
}

/// `GET /patients` query: a family-name prefix and a birth date, or an INS.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Family-name prefix (at least 2 letters; case and accents ignored); needs `birth_date`.
    pub family_name: Option<String>,
    /// Exact birth date (`YYYY-MM-DD`).
    pub birth_date: Option<NaiveDate>,
    /// Exact INS; enough on its own.
    pub ins: Option<String>,
}

/// Identity search, so that a patient is found before being added twice: identity traits only,
/// for physicians and secretaries. No browsing: a name prefix and a birth date, or an INS.
#[utoipa::path(
    tag = "patients",
    operation_id = "searchPatients",
    params(SearchQuery, Paging),
    responses(
        (status = 200, description = "A page of identities, by family name", body = List<PatientIdentityView>),
        (status = 403, description = "`forbidden`: neither a physician nor a secretary"),
        (status = 422, description = "`search_too_broad`: give 2 letters of the family name and the birth date, or an INS; `invalid_ins`"),
    )
)]
#[get("/patients")]
pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<SearchQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = paging.request()?;
    let query = query.into_inner();
    let query = IdentityQuery { family_name: query.family_name, birth_date: query.birth_date, ins: query.ins };
    let found = state.db_as(&caller, move |c, p| patients::search(c, p, &query, &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(found, PatientIdentityView::from)))
}

/// A patient's record: for the physicians and secretaries the delegation rules grant (patients
/// of the dossiers they can see, patients they added, and for a physician those he treats or
/// corresponds for); 404 for anyone else.
#[utoipa::path(
    tag = "patients",
    operation_id = "getPatient",
    params(("id" = String, Path, description = "Patient id")),
    responses(
        (status = 200, description = "The record; `ETag` is its version", body = PatientView, headers(("ETag" = String, description = "The version, quoted"))),
        (status = 404, description = "No such patient, or one the caller may not read"),
    )
)]
#[get("/patients/{id}")]
pub async fn read(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let patient = state.db_as(&caller, move |c, p| patients::read(c, p, &id)).await?;
    Ok(with_etag(HttpResponse::Ok(), patient))
}

/// A field that may be absent but not `null`: it has no value to clear.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `PATCH /patients/{id}`: only the fields sent change (at least one: 422 "nothing to change");
/// `null` clears an optional one.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(min_properties = 1)]
pub struct PatchPatient {
    /// Family name (1–100 characters, not blank).
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 100, pattern = r"\S")]
    pub family_name: Option<String>,
    /// Given name (1–100 characters, not blank).
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, min_length = 1, max_length = 100, pattern = r"\S")]
    pub given_name: Option<String>,
    /// Birth date, not in the future.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub birth_date: Option<NaiveDate>,
    /// Administrative sex.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = SexName)]
    pub sex: Option<String>,
    /// INSEE code of the birth place, or `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub birth_place_code: Option<Option<String>>,
    /// INS, or `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub ins: Option<Option<String>>,
    /// Treating physician, or `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub treating_physician_id: Option<Option<String>>,
    /// The whole new set of correspondents.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub correspondent_ids: Option<Vec<String>>,
}

impl PatchPatient {
    fn into_patch(self) -> Result<PatientPatch, ApiError> {
        let nothing = self.family_name.is_none()
            && self.given_name.is_none()
            && self.birth_date.is_none()
            && self.sex.is_none()
            && self.birth_place_code.is_none()
            && self.ins.is_none()
            && self.treating_physician_id.is_none()
            && self.correspondent_ids.is_none();
        if nothing {
            return Err(ApiError::invalid_field(ErrorCode::ValidationFailed, "body", "nothing to change"));
        }
        let mut checks = Checks::default();
        let patch = PatientPatch {
            family_name: self.family_name.and_then(|v| checks.name("family_name", &v)),
            given_name: self.given_name.and_then(|v| checks.name("given_name", &v)),
            birth_date: self.birth_date.and_then(|v| checks.birth_date(v)),
            sex: self.sex.and_then(|v| checks.take(Sex::parse(&v))),
            birth_place_code: self.birth_place_code.map(|v| non_blank(v).and_then(|c| checks.take(check_birth_place_code(&c)))),
            ins: self.ins.map(|v| non_blank(v).and_then(|i| checks.take(Ins::parse(&i)))),
            treating_physician_id: self.treating_physician_id.map(non_blank),
            correspondent_ids: self.correspondent_ids.map(|ids| checks.correspondents(ids)),
        };
        checks.finish()?;
        Ok(patch)
    }
}

/// Changes a record: whoever may read it, with `If-Match` naming the version read.
#[utoipa::path(
    tag = "patients",
    operation_id = "updatePatient",
    params(
        ("id" = String, Path, description = "Patient id"),
        ("If-Match" = String, Header, description = "The ETag read"),
    ),
    request_body = PatchPatient,
    responses(
        (status = 200, description = "Changed; `ETag` is the new version", body = PatientView, headers(("ETag" = String, description = "The version, quoted"))),
        (status = 404, description = "No such patient, one the caller may not read, or an unknown physician"),
        (status = 409, description = "`ins_taken`: another patient holds this INS"),
        (status = 412, description = "`precondition_failed`: the record changed since it was read"),
        (status = 422, description = "Invalid fields: `invalid_ins`, `invalid_sex`, `birth_date_in_future`, `not_a_physician`, …"),
        (status = 428, description = "`precondition_required`: no `If-Match`"),
    )
)]
#[patch("/patients/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Json<PatchPatient>,
) -> Result<HttpResponse, ApiError> {
    // The body is judged before the precondition: an invalid one is invalid whatever the version.
    let patch = body.into_inner().into_patch()?;
    let version = if_match(&req);
    let id = id.into_inner();
    let patient = state.db_as(&caller, move |c, p| patients::update(c, p, &id, version, &patch)).await?;
    Ok(with_etag(HttpResponse::Ok(), patient))
}
