//! Pieces every resource uses: pagination parameters and list envelopes.

use actix_web::HttpRequest;
use actix_web::http::header;
use concerto_domain::ErrorCode;
use concerto_persistence::{Page, PageRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// `?limit=&cursor=` of every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl Paging {
    /// The page to read, or a 422 for an out-of-range limit or a foreign cursor.
    pub fn request(&self) -> Result<PageRequest, ApiError> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::invalid_field(ErrorCode::InvalidLimit, "limit", "limit must be between 1 and 200"));
        }
        PageRequest::with_cursor(limit, self.cursor.as_deref())
            .ok_or_else(|| ApiError::invalid_field(ErrorCode::InvalidCursor, "cursor", "this cursor was not issued by this list"))
    }
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    /// The items of this page, in a stable order.
    pub items: Vec<T>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    /// Converts a store page.
    pub fn from_page<U>(page: Page<U>, f: impl FnMut(U) -> T) -> Self {
        let page = page.map(f);
        Self { items: page.items, next_cursor: page.next_cursor }
    }
}

/// Trims an optional text and drops it when blank.
pub fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A 201 whose `Location` names the new resource (`path` is under `/api/v1`).
pub fn created(path: &str) -> actix_web::HttpResponseBuilder {
    let mut response = actix_web::HttpResponse::Created();
    response.insert_header((header::LOCATION, format!("/api/v1{path}")));
    response
}

/// The `ETag` of a versioned resource (patients, dossiers).
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The version named by `If-Match`, if the request sent a non-empty one. An ETag that is not one
/// of ours names version 0, which no record has: the store then answers 412 once it has checked
/// that the caller may see the record (404 otherwise), as for any stale version.
pub fn if_match(req: &HttpRequest) -> Option<i32> {
    let value = req.headers().get(header::IF_MATCH)?;
    let text = value.to_str().unwrap_or_default().trim();
    if text.is_empty() {
        return None;
    }
    let text = text.strip_prefix("W/").unwrap_or(text);
    Some(text.trim_matches('"').parse().unwrap_or(0))
}

/// Reads a field that may be absent (left as is) or `null` (cleared).
pub(crate) fn nullable<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
