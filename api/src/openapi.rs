//! The OpenAPI document: collected from the routes as they are registered, then completed with
//! what every operation shares (bearer security, problem responses).

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// Operations that answer without a token.
const PUBLIC: [&str; 3] = ["/api/v1/auth/login", "/healthz", "/readyz"];

/// The static part of the document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Concerto API",
        description = "Backend of a regional cancer tumor-board platform (DCC): RCPs, sessions, dossiers, and the rights physicians delegate to medical secretaries. Errors are RFC 9457 problem documents with a stable `code`.",
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    tags(
        (name = "session", description = "Login and the caller's rights"),
        (name = "administration", description = "Cancer centers, account requests, accounts, profiles"),
        (name = "directory", description = "The professional directory and physicians' secretaries"),
        (name = "secretary groups", description = "Groups of secretaries"),
        (name = "rcps", description = "Tumor boards, their members and managers"),
        (name = "sessions", description = "Sessions, the agenda and the session run"),
        (name = "patients", description = "Patients and their documents"),
        (name = "dossiers", description = "Dossiers, validation, reports and transmissions"),
        (name = "audit", description = "The audit trail of patient data"),
        (name = "reports", description = "Infocentre reports"),
        (name = "operations", description = "Probes"),
    )
)]
pub struct ApiDoc;

/// Adds to every operation what they all share, so no handler can forget it.
struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            let public = PUBLIC.contains(&path.as_str());
            for op in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten() {
                complete(op, public);
            }
        }
    }
}

fn complete(op: &mut Operation, public: bool) {
    let has_body = op.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        op.responses.responses.entry(status.to_owned()).or_insert_with(|| problem(description));
    };
    if !public {
        add("401", "Missing, invalid or expired token (`invalid_token`)");
    }
    if has_body {
        add("400", "Malformed JSON (`malformed_json`)");
        add("413", "Body too large (`payload_too_large`)");
        add("415", "Body is not `application/json` (`unsupported_media_type`)");
        add("422", "Invalid fields (`validation_failed`, with `errors`)");
    }
    add("500", "Unexpected error (`internal_error`)");
    add("503", "The database does not answer (`service_unavailable`)");
    if !public {
        op.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
    }
}

fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/problem+json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
            .build(),
    )
}

/// The whole document, as served at `/api/v1/openapi.json` and committed as `openapi.yaml`.
pub fn document() -> Document {
    use utoipa_actix_web::AppExt;
    let (_, doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::probes)
        .service(utoipa_actix_web::scope("/api/v1").configure(crate::routes::api_v1))
        .split_for_parts();
    let mut doc = doc;
    // After the routes: the modifier must see every path.
    Shared.modify(&mut doc);
    doc
}

/// The document as YAML.
pub fn yaml() -> Result<String, String> {
    document().to_yaml().map_err(|e| e.to_string())
}
