//! The FHIR side's errors: every failure answered as an `OperationOutcome`
//! (`application/fhir+json`), never as problem+json, with the status the JSON API would give
//! (a 422 of a search becomes 400, as FHIR answers a search it cannot run).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use concerto_domain::ErrorCode;
use serde_json::{Value, json};

use super::resources::CONCERTO_SYSTEM;
use crate::error::ApiError;

/// The media type of every FHIR answer.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// A failure of a FHIR interaction.
#[derive(Debug)]
pub enum FhirError {
    /// What the JSON API would answer: its status, its code in `details`.
    Api(ApiError),
    /// 400: a search parameter this server does not know (strict handling).
    UnknownParameter(String),
    /// 400: a parameter it knows with a value it cannot read, or given twice.
    InvalidParameter(String),
    /// 400: a search that would browse everything.
    TooBroad(String),
    /// 404: a resource type, or an interaction on it, this server does not serve.
    NotSupported(String),
    /// 406: the caller accepts no format this server writes.
    NotAcceptable,
}

impl From<ApiError> for FhirError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl FhirError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Api(e) => match e.status_code() {
                StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
                other => other,
            },
            Self::UnknownParameter(_) | Self::InvalidParameter(_) | Self::TooBroad(_) => StatusCode::BAD_REQUEST,
            Self::NotSupported(_) => StatusCode::NOT_FOUND,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
        }
    }

    /// The `OperationOutcome` of this failure.
    pub fn outcome(&self) -> Value {
        let status = self.status();
        // FHIR's issue type (http://hl7.org/fhir/issue-type), Concerto's code beside it.
        let (issue_type, code, text): (&str, Option<ErrorCode>, String) = match self {
            Self::Api(e) => {
                let code = e.code();
                let issue = match status {
                    StatusCode::UNAUTHORIZED => "login",
                    // FHIR's issue type `forbidden` is spelled as Concerto's code.
                    StatusCode::FORBIDDEN => ErrorCode::Forbidden.as_str(),
                    StatusCode::NOT_FOUND => "not-found",
                    StatusCode::CONFLICT => "conflict",
                    StatusCode::TOO_MANY_REQUESTS => "throttled",
                    StatusCode::SERVICE_UNAVAILABLE => "transient",
                    StatusCode::INTERNAL_SERVER_ERROR | StatusCode::INSUFFICIENT_STORAGE => "exception",
                    _ if code == ErrorCode::SearchTooBroad => "too-costly",
                    _ => "invalid",
                };
                (issue, Some(code), e.problem().detail)
            }
            Self::UnknownParameter(name) => (
                "not-supported",
                Some(ErrorCode::InvalidQuery),
                format!("unknown search parameter `{name}` (send `Prefer: handling=lenient` to have unknown parameters ignored)"),
            ),
            Self::InvalidParameter(why) => ("invalid", Some(ErrorCode::InvalidQuery), why.clone()),
            Self::TooBroad(why) => ("too-costly", Some(ErrorCode::SearchTooBroad), why.clone()),
            Self::NotSupported(what) => ("not-supported", Some(ErrorCode::NotFound), what.clone()),
            Self::NotAcceptable => {
                ("not-supported", None, "this server writes application/fhir+json (or application/json) only".to_owned())
            }
        };
        let mut issue = json!({
            "severity": if status.is_server_error() { "fatal" } else { "error" },
            "code": issue_type,
            "diagnostics": text,
        });
        if let Some(code) = code {
            issue["details"] = json!({ "coding": [{ "system": format!("{CONCERTO_SYSTEM}:error-code"), "code": code.as_str() }] });
        }
        json!({ "resourceType": "OperationOutcome", "issue": [issue] })
    }

    /// The answer: the outcome with the headers the JSON API's answer would carry.
    pub fn response(&self) -> HttpResponse {
        if let Self::Api(e) = self {
            // The log line of a 5xx, as the JSON API writes it.
            let _ = e.error_response();
        }
        let mut res = HttpResponse::build(self.status());
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON)));
        match self {
            Self::Api(ApiError::Unauthorized { .. }) => {
                res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"concerto\"")));
            }
            Self::Api(ApiError::Unavailable(_)) => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            Self::Api(ApiError::MethodNotAllowed { allow }) => {
                if let Ok(v) = HeaderValue::from_str(allow) {
                    res.insert_header((header::ALLOW, v));
                }
            }
            _ => {}
        }
        res.body(self.outcome().to_string())
    }
}
