//! The JSON body extractor: actix's for what makes a body unreadable (415 wrong content type,
//! 413 too large, 400 not JSON), then a 422 naming the field for a well-formed value of the
//! wrong shape. actix's own reports `{"specialty": null}` as malformed JSON (serde_json reads
//! an enum from anything but a string or an object as a syntax error) and names no field.

use concerto_domain::ErrorCode;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// A JSON request body of type `T`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Reads `T` from a well-formed JSON value: a 422 `validation_failed` naming the field
/// (`specialty`, `recipient_ids[0]`; `body` for the value as a whole) when it does not fit.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        ApiError::Unprocessable {
            code: ErrorCode::ValidationFailed,
            detail: "the body does not have the expected fields".to_owned(),
            errors: vec![FieldError { field, message: e.into_inner().to_string() }],
        }
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move { Ok(Json(from_value(value.await?.into_inner())?)) })
    }
}
