//! The board's own rules: physicians' specialties, the quorum an RCP asks for, and who attends a
//! session (the INCa criteria of a multidisciplinary opinion).

use actix_web::{HttpResponse, get, put, web};
use concerto_domain::quorum::QuorumRule;
use concerto_domain::specialty::Specialty;
use concerto_persistence::attendance::{self, Attendance};
use concerto_persistence::specialties::{self, SpecialtyOf};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::caller::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;

/// A physician's specialty (the documented list).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SpecialtyName {
    /// Medical oncology.
    MedicalOncology,
    /// Radiation therapy.
    Radiotherapy,
    /// Surgery (the organ in `subspecialty`).
    Surgery,
    /// Radiology.
    Radiology,
    /// Nuclear medicine.
    NuclearMedicine,
    /// Pathology.
    Pathology,
    /// Organ specialist (the organ in `subspecialty`).
    OrganSpecialist,
    /// Geriatrics.
    Geriatrics,
    /// Palliative care.
    PalliativeCare,
    /// Any other specialty.
    Other,
}

impl From<SpecialtyName> for Specialty {
    fn from(s: SpecialtyName) -> Self {
        match s {
            SpecialtyName::MedicalOncology => Self::MedicalOncology,
            SpecialtyName::Radiotherapy => Self::Radiotherapy,
            SpecialtyName::Surgery => Self::Surgery,
            SpecialtyName::Radiology => Self::Radiology,
            SpecialtyName::NuclearMedicine => Self::NuclearMedicine,
            SpecialtyName::Pathology => Self::Pathology,
            SpecialtyName::OrganSpecialist => Self::OrganSpecialist,
            SpecialtyName::Geriatrics => Self::Geriatrics,
            SpecialtyName::PalliativeCare => Self::PalliativeCare,
            SpecialtyName::Other => Self::Other,
        }
    }
}

impl From<Specialty> for SpecialtyName {
    fn from(s: Specialty) -> Self {
        match s {
            Specialty::MedicalOncology => Self::MedicalOncology,
            Specialty::Radiotherapy => Self::Radiotherapy,
            Specialty::Surgery => Self::Surgery,
            Specialty::Radiology => Self::Radiology,
            Specialty::NuclearMedicine => Self::NuclearMedicine,
            Specialty::Pathology => Self::Pathology,
            Specialty::OrganSpecialist => Self::OrganSpecialist,
            Specialty::Geriatrics => Self::Geriatrics,
            Specialty::PalliativeCare => Self::PalliativeCare,
            Specialty::Other => Self::Other,
        }
    }
}

/// `PUT /professionals/{id}/specialty`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct SetSpecialty {
    /// The specialty.
    pub specialty: SpecialtyName,
    /// The organ of a surgeon or organ specialist ("digestive"), at most 100 characters.
    #[validate(length(min = 1, max = 100, message = "between 1 and 100 characters"))]
    #[schema(min_length = 1, max_length = 100)]
    pub subspecialty: Option<String>,
}

/// A physician's specialty.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpecialtyView {
    /// The physician.
    pub professional_id: String,
    /// The specialty.
    pub specialty: SpecialtyName,
    /// The organ, when given.
    pub subspecialty: Option<String>,
}

/// Sets a physician's specialty: coordinators of a center where he holds a profile, and the
/// platform administrator.
#[utoipa::path(
    tag = "directory",
    operation_id = "setSpecialty",
    params(("id" = String, Path, description = "Professional id")),
    request_body = SetSpecialty,
    responses(
        (status = 200, description = "The specialty", body = SpecialtyView),
        (status = 403, description = "`center_coordinator_required`"),
        (status = 404, description = "No such professional"),
        (status = 422, description = "`not_a_physician`, `validation_failed`"),
    )
)]
#[put("/professionals/{id}/specialty")]
pub async fn set_specialty(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Json<SetSpecialty>,
) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    let body = body.into_inner();
    let id = id.into_inner();
    let value = SpecialtyOf { specialty: body.specialty.into(), subspecialty: body.subspecialty.map(|s| s.trim().to_owned()) };
    let professional_id = id.clone();
    let set = state.db_as(&caller, move |c, p| specialties::set(c, p, &id, &value)).await?;
    Ok(HttpResponse::Ok().json(SpecialtyView { professional_id, specialty: set.specialty.into(), subspecialty: set.subspecialty }))
}

/// The quorum an RCP asks for before it validates a dossier.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct QuorumView {
    /// Present physicians, at least (1–50; default 3).
    #[schema(minimum = 1, maximum = 50)]
    pub min_physicians: u32,
    /// Distinct specialties among them, at least (0–10, not above `min_physicians`; default 3).
    #[schema(minimum = 0, maximum = 10)]
    pub min_specialties: u32,
    /// Specialties that must be present (for example `surgery` for a digestive board).
    pub required_specialties: Vec<SpecialtyName>,
}

impl From<&QuorumRule> for QuorumView {
    fn from(r: &QuorumRule) -> Self {
        Self {
            min_physicians: r.min_physicians,
            min_specialties: r.min_specialties,
            required_specialties: r.required.iter().map(|s| (*s).into()).collect(),
        }
    }
}

/// The RCP's quorum (any authenticated user, as the RCP itself).
#[utoipa::path(
    tag = "rcps",
    operation_id = "getRcpQuorum",
    params(("id" = String, Path, description = "RCP id")),
    responses(
        (status = 200, description = "The quorum", body = QuorumView),
        (status = 404, description = "No such RCP"),
    )
)]
#[get("/rcps/{id}/quorum")]
pub async fn get_quorum(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let rule = state
        .db_as(&caller, move |c, _| {
            concerto_persistence::rcps::find(c, &id)?;
            attendance::rule_of(c, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(QuorumView::from(&rule)))
}

/// Sets the RCP's quorum: coordinators of its center, its managers, the platform administrator.
#[utoipa::path(
    tag = "rcps",
    operation_id = "setRcpQuorum",
    params(("id" = String, Path, description = "RCP id")),
    request_body = QuorumView,
    responses(
        (status = 200, description = "The quorum", body = QuorumView),
        (status = 403, description = "`forbidden`"),
        (status = 404, description = "No such RCP"),
        (status = 422, description = "`invalid_quorum`"),
    )
)]
#[put("/rcps/{id}/quorum")]
pub async fn set_quorum(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Json<QuorumView>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let rule = QuorumRule::new(body.min_physicians, body.min_specialties, body.required_specialties.into_iter().map(Into::into).collect())?;
    let id = id.into_inner();
    let rule = state.db_as(&caller, move |c, p| attendance::set_rule(c, p, &id, &rule)).await?;
    Ok(HttpResponse::Ok().json(QuorumView::from(&rule)))
}

/// A physician recorded present.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttendeeView {
    /// The physician.
    pub professional_id: String,
    /// "Given FAMILY".
    pub display_name: String,
    /// His specialty, when set.
    pub specialty: Option<SpecialtyName>,
    /// The organ, when given.
    pub subspecialty: Option<String>,
}

/// Where the board stands against its quorum.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuorumStatus {
    /// True when dossiers may be validated.
    pub met: bool,
    /// The RCP's rule.
    pub rule: QuorumView,
    /// Physicians present.
    pub present_physicians: u32,
    /// Distinct specialties among them.
    pub present_specialties: u32,
    /// Physicians still needed.
    pub missing_physicians: u32,
    /// Distinct specialties still needed.
    pub missing_specialties: u32,
    /// Required specialties nobody present holds.
    pub missing_required: Vec<SpecialtyName>,
}

/// A session's attendance.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttendanceView {
    /// The session.
    pub session_id: String,
    /// Physicians present, by name.
    pub present: Vec<AttendeeView>,
    /// The quorum.
    pub quorum: QuorumStatus,
}

impl From<Attendance> for AttendanceView {
    fn from(a: Attendance) -> Self {
        let s = &a.shortfall;
        Self {
            quorum: QuorumStatus {
                met: s.is_met(),
                rule: QuorumView::from(&a.rule),
                present_physicians: s.present_physicians,
                present_specialties: s.present_specialties,
                missing_physicians: s.missing_physicians,
                missing_specialties: s.missing_specialties,
                missing_required: s.missing_required.iter().map(|r| (*r).into()).collect(),
            },
            session_id: a.session_id,
            present: a
                .present
                .into_iter()
                .map(|p| AttendeeView {
                    professional_id: p.professional_id,
                    display_name: p.display_name,
                    specialty: p.specialty.map(Into::into),
                    subspecialty: p.subspecialty,
                })
                .collect(),
        }
    }
}

/// `PUT /sessions/{id}/attendance`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct SetAttendance {
    /// Every physician present (members of the RCP, or physicians of its center invited); the
    /// list replaces the previous one.
    #[validate(length(max = 200, message = "at most 200 attendees"))]
    #[schema(max_items = 200)]
    pub present_ids: Vec<String>,
}

/// Records who is present, during the session: its RCP's animateurs and their secretaries.
#[utoipa::path(
    tag = "sessions",
    operation_id = "setSessionAttendance",
    params(("id" = String, Path, description = "Session id")),
    request_body = SetAttendance,
    responses(
        (status = 200, description = "The attendance and the quorum", body = AttendanceView),
        (status = 403, description = "`not_animateur`"),
        (status = 404, description = "No such session"),
        (status = 409, description = "`session_not_in_progress`"),
        (status = 422, description = "`not_an_attendee`, `validation_failed`"),
    )
)]
#[put("/sessions/{id}/attendance")]
pub async fn set_attendance(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Json<SetAttendance>,
) -> Result<HttpResponse, ApiError> {
    body.validate()?;
    let (id, present) = (id.into_inner(), body.into_inner().present_ids);
    let recorded = state.db_as(&caller, move |c, p| attendance::record(c, p, &id, &present)).await?;
    Ok(HttpResponse::Ok().json(AttendanceView::from(recorded)))
}

/// Who is present: the same people as the session run.
#[utoipa::path(
    tag = "sessions",
    operation_id = "getSessionAttendance",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "The attendance and the quorum", body = AttendanceView),
        (status = 403, description = "`not_animateur`"),
        (status = 404, description = "No such session"),
    )
)]
#[get("/sessions/{id}/attendance")]
pub async fn get_attendance(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let found = state.db_as(&caller, move |c, p| attendance::read(c, p, &id)).await?;
    Ok(HttpResponse::Ok().json(AttendanceView::from(found)))
}
