//! `If-Match` on writes whose resource has no ETag of ours: API.md wants every write to honour
//! `If-Match` when it is sent, and no ETag we issued can match a resource we never tagged.

use actix_web::HttpRequest;
use actix_web::http::{Method, header};

/// The writes that compare `If-Match` with a version of their own (patients and dossiers carry
/// an `ETag`); every other write answers 412 to an `If-Match` other than `*`.
pub const VERSIONED_WRITES: &[(&str, &str)] =
    &[("PATCH", "/api/v1/dossiers/{id}"), ("POST", "/api/v1/dossiers/{id}/validate"), ("PATCH", "/api/v1/patients/{id}")];

/// Whether `method path` (an OpenAPI path, under `/api/v1`) is a write judged on `If-Match` by
/// this module: a write without a version of its own.
pub fn judged_here(method: &str, path: &str) -> bool {
    let method = method.to_ascii_uppercase();
    matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
        && path.starts_with("/api/v1/")
        && path != "/api/v1/auth/login"
        && !VERSIONED_WRITES.iter().any(|(m, p)| *m == method && *p == path)
}

/// True when this request is a write of a resource without an ETag and sends an `If-Match`
/// that names one (not `*`, which any existing resource matches; an empty header is none):
/// it must answer 412 `precondition_failed` and change nothing.
pub fn names_a_foreign_etag(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return false;
    };
    let text = value.to_str().unwrap_or("\"\"").trim();
    if text.is_empty() || text == "*" {
        return false;
    }
    let is_write = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(req.method());
    is_write && req.match_pattern().is_some_and(|pattern| judged_here(req.method().as_str(), &pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_writes_judge_their_own_etag() {
        assert!(!judged_here("PATCH", "/api/v1/dossiers/{id}"));
        assert!(!judged_here("post", "/api/v1/dossiers/{id}/validate"));
        assert!(judged_here("PUT", "/api/v1/rcps/{id}/quorum"));
        assert!(judged_here("DELETE", "/api/v1/rcps/{id}/members/{professional_id}"));
        assert!(!judged_here("GET", "/api/v1/rcps/{id}/quorum"));
        // Login writes no resource: it takes no `If-Match`.
        assert!(!judged_here("POST", "/api/v1/auth/login"));
    }
}
