//! The one place where every failure becomes an RFC 9457 `application/problem+json` answer.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use concerto_domain::DomainError;
use concerto_domain::ErrorCode;
use concerto_persistence::Error as StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field of a 422 answer.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The request field, as named in the request (`rpps`, `metadata.title`, …).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An RFC 9457 problem document. `code` is a stable machine string to branch on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened, for a human.
    pub detail: String,
    /// Stable machine string (`invalid_credentials`, `not_animateur`, …).
    pub code: String,
    /// For 422: every invalid field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For 409 `possible_duplicate` and `ins_taken`: the patients involved, with the fewest
    /// traits that let the caller recognise them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<crate::views::DuplicateCandidate>>)]
    pub candidates: Option<serde_json::Value>,
    /// For 409 `quorum_not_met`: what the board lacks (`missing_physicians`,
    /// `missing_specialties`, `missing_required`, `present_physicians`, `present_specialties`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub missing: Option<serde_json::Value>,
}

/// Every failure an endpoint can answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be read.
    #[error("{detail}")]
    BadRequest {
        /// Stable machine string.
        code: ErrorCode,
        /// Explanation.
        detail: String,
    },
    /// 401: no valid credentials or token.
    #[error("{detail}")]
    Unauthorized {
        /// `invalid_credentials` or `invalid_token`.
        code: ErrorCode,
        /// Explanation.
        detail: String,
    },
    /// 403: the caller's rights do not allow it.
    #[error("forbidden: {0}")]
    Forbidden(ErrorCode),
    /// 404: no such resource, or one the caller may not know exists.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 405: the path exists, not with this method.
    #[error("this path does not answer this method; it answers {allow}")]
    MethodNotAllowed {
        /// The methods the path has, for the `Allow` header.
        allow: String,
    },
    /// 409: the current state does not allow it.
    #[error("{detail}")]
    Conflict {
        /// Stable machine string.
        code: ErrorCode,
        /// Explanation.
        detail: String,
        /// Records involved, when useful to the caller.
        candidates: Option<serde_json::Value>,
    },
    /// 409 `quorum_not_met`: validation without the board's quorum present.
    #[error("{detail}")]
    QuorumNotMet {
        /// Explanation.
        detail: String,
        /// What is missing.
        missing: serde_json::Value,
    },
    /// 412: `If-Match` names a version that is no longer current.
    #[error("the resource changed since you read it, or If-Match is not one of its ETags; read it again")]
    PreconditionFailed,
    /// 428: this write needs `If-Match`.
    #[error("this write needs an If-Match header with the ETag you read")]
    PreconditionRequired,
    /// 413: the body is larger than allowed.
    #[error("{detail}")]
    PayloadTooLarge {
        /// Stable machine string.
        code: ErrorCode,
        /// Explanation.
        detail: String,
    },
    /// 415: the content type is not accepted.
    #[error("{detail}")]
    UnsupportedMediaType {
        /// Stable machine string.
        code: ErrorCode,
        /// Explanation.
        detail: String,
    },
    /// 406 `not_acceptable`: the operation serves none of the media types `Accept` names.
    #[error("{0}")]
    NotAcceptable(String),
    /// 422: well-formed but invalid.
    #[error("{detail}")]
    Unprocessable {
        /// Stable machine string.
        code: ErrorCode,
        /// Explanation.
        detail: String,
        /// The invalid fields.
        errors: Vec<FieldError>,
    },
    /// 429: too many login attempts for this account or from this address; retry after
    /// `retry_after` seconds.
    #[error("too many login attempts; try again in {retry_after} seconds")]
    TooManyAttempts {
        /// Seconds until the throttling window ends (`Retry-After`).
        retry_after: i64,
    },
    /// 507: the store cannot keep the write (disk full, or a read-only file); nothing was kept.
    #[error("storage refused the write: {0}")]
    InsufficientStorage(String),
    /// 503 `oidc_provider_unavailable`: the OpenID provider does not answer.
    #[error("the OpenID provider does not answer: {0}")]
    ProviderUnavailable(String),
    /// 503: the database does not answer.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or an outage; the cause goes to the log, never to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 422 for one field.
    pub fn invalid_field(code: ErrorCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Unprocessable { code, detail: message.clone(), errors: vec![FieldError { field: field.into(), message }] }
    }

    /// The stable machine string of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Conflict { code, .. }
            | Self::PayloadTooLarge { code, .. }
            | Self::UnsupportedMediaType { code, .. }
            | Self::Unprocessable { code, .. } => *code,
            Self::Forbidden(code) => *code,
            Self::QuorumNotMet { .. } => ErrorCode::QuorumNotMet,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::NotAcceptable(_) => ErrorCode::NotAcceptable,
            Self::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Self::PreconditionFailed => ErrorCode::PreconditionFailed,
            Self::PreconditionRequired => ErrorCode::PreconditionRequired,
            Self::TooManyAttempts { .. } => ErrorCode::TooManyAttempts,
            Self::InsufficientStorage(_) => ErrorCode::InsufficientStorage,
            Self::Unavailable(_) => ErrorCode::ServiceUnavailable,
            Self::ProviderUnavailable(_) => ErrorCode::OidcProviderUnavailable,
            Self::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// The problem document sent to the client.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let detail = match self {
            Self::Forbidden(_) => "your rights do not allow this action".to_owned(),
            Self::NotFound(what) => format!("no such {what}"),
            Self::Unavailable(_) => "the database does not answer; try again shortly".to_owned(),
            Self::ProviderUnavailable(_) => {
                "Pro Santé Connect does not answer; try again shortly (password logins are unaffected)".to_owned()
            }
            Self::InsufficientStorage(_) => "the store cannot keep this write (disk full or read-only); nothing was written".to_owned(),
            Self::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
            other => other.to_string(),
        };
        let (errors, candidates, missing) = match self {
            Self::Unprocessable { errors, .. } => (Some(errors.clone()), None, None),
            Self::Conflict { candidates, .. } => (None, candidates.clone(), None),
            Self::QuorumNotMet { missing, .. } => (None, None, Some(missing.clone())),
            _ => (None, None, None),
        };
        let code = self.code();
        Problem {
            problem_type: format!("https://concerto.example/problems/{}", code.as_str().replace('_', "-")),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            code: code.as_str().to_owned(),
            errors,
            candidates,
            missing,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            Self::Conflict { .. } | Self::QuorumNotMet { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            Self::Unavailable(_) | Self::ProviderUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => log::error!("internal error: {cause}"),
            Self::Unavailable(cause) => log::warn!("database unavailable: {cause}"),
            Self::ProviderUnavailable(cause) => log::warn!("OpenID provider unavailable: {cause}"),
            Self::InsufficientStorage(cause) => log::error!("storage refused a write: {cause}"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json")));
        if matches!(self, Self::Unauthorized { .. }) {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"concerto\"")));
        }
        if let Self::TooManyAttempts { retry_after } = self {
            response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
        }
        if let Self::MethodNotAllowed { allow } = self
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            response.insert_header((header::ALLOW, value));
        }
        if matches!(self, Self::Unavailable(_)) {
            // A busy or restarting store: retrying shortly is the right move (RFC 9110 §10.2.3).
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
        }
        response.body(serde_json::to_vec(&self.problem()).unwrap_or_default())
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid { field, code, message } => Self::invalid_field(code, field, message),
            DomainError::Forbidden(code) => Self::Forbidden(code),
            DomainError::Conflict { code, message } => Self::Conflict { code, detail: message, candidates: None },
            DomainError::Unprocessable { code, message } => Self::Unprocessable { code, detail: message, errors: Vec::new() },
            DomainError::FicheIncomplete { missing } => Self::Unprocessable {
                code: ErrorCode::FicheIncomplete,
                detail: format!("the fiche lacks what a validated fiche RCP must hold: {}", missing.join(", ")),
                errors: missing
                    .into_iter()
                    .map(|field| FieldError { field: field.to_owned(), message: "required for a validated fiche".to_owned() })
                    .collect(),
            },
            DomainError::QuorumNotMet { message, shortfall: s } => Self::QuorumNotMet {
                detail: message,
                missing: serde_json::json!({
                    "present_physicians": s.present_physicians,
                    "present_specialties": s.present_specialties,
                    "missing_physicians": s.missing_physicians,
                    "missing_specialties": s.missing_specialties,
                    "missing_required": s.missing_required,
                }),
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Domain(d) => d.into(),
            StoreError::Conflict { code, message } => Self::Conflict { code, detail: message, candidates: None },
            StoreError::Unavailable(cause) => Self::Unavailable(cause),
            StoreError::StorageFull(cause) => Self::InsufficientStorage(cause),
            StoreError::Stale { .. } => Self::PreconditionFailed,
            StoreError::VersionRequired => Self::PreconditionRequired,
            StoreError::Duplicates { code, candidates } => {
                let detail = match code {
                    ErrorCode::InsTaken => "a patient with this INS already exists".to_owned(),
                    _ => "patients with the same identity traits exist; check them, or send confirm_new=true".to_owned(),
                };
                let candidates: Vec<crate::views::DuplicateCandidate> = candidates.into_iter().map(Into::into).collect();
                Self::Conflict { code, detail, candidates: serde_json::to_value(candidates).ok() }
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(e: validator::ValidationErrors) -> Self {
        let mut errors: Vec<FieldError> = e
            .field_errors()
            .into_iter()
            .flat_map(|(field, errs)| {
                errs.iter().map(move |err| FieldError {
                    field: field.to_string(),
                    message: err.message.as_ref().map(ToString::to_string).unwrap_or_else(|| format!("invalid value ({})", err.code)),
                })
            })
            .collect();
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        Self::Unprocessable { code: ErrorCode::ValidationFailed, detail: "the request has invalid fields".to_owned(), errors }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// Maps the JSON extractor's failures: 415 wrong content type, 413 too large, 400 unreadable
/// JSON, 422 JSON of the wrong shape.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    let api = match &err {
        J::ContentType => {
            ApiError::UnsupportedMediaType { code: ErrorCode::UnsupportedMediaType, detail: "the body must be application/json".to_owned() }
        }
        J::Overflow { .. } | J::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge { code: ErrorCode::PayloadTooLarge, detail: "the JSON body is too large".to_owned() }
        }
        J::Deserialize(e) if e.is_data() => ApiError::Unprocessable {
            code: ErrorCode::ValidationFailed,
            detail: "the body does not have the expected fields".to_owned(),
            errors: vec![FieldError { field: "body".to_owned(), message: e.to_string() }],
        },
        other => ApiError::BadRequest { code: ErrorCode::MalformedJson, detail: format!("the body is not valid JSON: {other}") },
    };
    api.into()
}

/// Maps an unreadable query string to a 422 naming the parameter.
pub fn query_error(err: actix_web::error::QueryPayloadError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    ApiError::invalid_field(ErrorCode::InvalidQuery, "query", err.to_string()).into()
}

/// Maps an unreadable path segment to a 404: ids are opaque and a malformed one names nothing.
pub fn path_error(_err: actix_web::error::PathError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    ApiError::NotFound("resource").into()
}
