//! What answers a request no route took: 405 with `Allow` when the path exists with other
//! methods, 404 otherwise. The known paths are those of the OpenAPI document, which holds every
//! route (they are documented as they are registered), so this table cannot fall behind.

use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::error::ApiError;

/// The documented paths, as segment templates, with their methods.
#[derive(Debug, Clone, Default)]
pub struct KnownPaths(Vec<(Vec<String>, Vec<String>)>);

impl KnownPaths {
    /// Reads the paths and methods of the document.
    pub fn from_document(doc: &utoipa::openapi::OpenApi) -> Self {
        let doc = serde_json::to_value(doc).unwrap_or_default();
        let mut known = Vec::new();
        if let Some(paths) = doc["paths"].as_object() {
            for (path, item) in paths {
                let mut methods: Vec<String> =
                    item.as_object().map(|ops| ops.keys().map(|m| m.to_uppercase()).collect()).unwrap_or_default();
                methods.sort();
                known.push((segments(path).map(str::to_owned).collect(), methods));
            }
        }
        Self(known)
    }

    /// The methods of the documented path `path` matches, if it matches one.
    pub fn methods(&self, path: &str) -> Option<&[String]> {
        let wanted: Vec<&str> = segments(path).collect();
        self.0
            .iter()
            .find(|(template, _)| {
                template.len() == wanted.len() && template.iter().zip(&wanted).all(|(t, w)| (t.starts_with('{') && !w.is_empty()) || t == w)
            })
            .map(|(_, methods)| methods.as_slice())
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').skip(1)
}

/// The default service: 405 with `Allow` for a known path, 404 for anything else.
pub async fn unknown_route(req: HttpRequest, known: Option<web::Data<KnownPaths>>) -> HttpResponse {
    let allowed = known.as_deref().and_then(|k| k.methods(req.path()));
    match allowed {
        Some(methods) => ApiError::MethodNotAllowed { allow: methods.join(", ") }.error_response(),
        None => ApiError::NotFound("route").error_response(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_template_matches_any_non_empty_segment_and_nothing_longer() {
        let known = KnownPaths(vec![
            (vec!["api".into(), "v1".into(), "rcps".into()], vec!["GET".into(), "POST".into()]),
            (vec!["api".into(), "v1".into(), "rcps".into(), "{id}".into()], vec!["GET".into()]),
        ]);
        assert_eq!(known.methods("/api/v1/rcps").unwrap(), ["GET", "POST"]);
        assert_eq!(known.methods("/api/v1/rcps/abc").unwrap(), ["GET"]);
        assert!(known.methods("/api/v1/rcps/abc/def").is_none());
        assert!(known.methods("/api/v1/nothing").is_none());
    }
}
