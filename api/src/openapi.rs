//! The OpenAPI document: collected from the routes as they are registered, then completed in one
//! place with what operations share (bearer security, the problem responses and their codes, the
//! problem body of every 4xx and 5xx, `format: uuid` on ids, `Location` on 201s, links from
//! creations to the operations that use the new id), so no handler can forget it.

use concerto_domain::ErrorCode;
use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;

/// Operations that answer without a token.
const PUBLIC: [&str; 7] = [
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
    "/api/v1/auth/oidc/start",
    "/api/v1/auth/oidc/callback",
    "/healthz",
    "/readyz",
];

/// Operations that never touch the database (every other one may answer 503).
const WITHOUT_DATABASE: [&str; 1] = ["/healthz"];

/// The static part of the document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Concerto API",
        description = "Backend of a regional cancer tumor-board platform (DCC): RCPs, sessions, dossiers, and the rights physicians delegate to medical secretaries.\n\nErrors are RFC 9457 problem documents (`application/problem+json`) with a stable `code` to branch on; each response below lists the codes it can carry. A method a path does not have answers 405 `method_not_allowed` with `Allow`; an unknown path 404. An empty query parameter (`cursor=`, `limit=`, `q=`) is the same as an absent one.\n\nHospital systems read the same records through FHIR R4 under `/fhir/R4` (`application/fhir+json`, the same bearer tokens and the same rules, errors as `OperationOutcome`). Those paths are not in this document: their contract is the CapabilityStatement at `GET /fhir/R4/metadata` (docs/CONTRACT.md, \"FHIR R4\").",
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError, crate::views::DuplicateCandidate)),
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
        (name = "terminology", description = "Code lists (CIM-10, CIM-O-3, the FRCP's lists) for the fiche's pickers"),
        (name = "operations", description = "Probes"),
    )
)]
pub struct ApiDoc;

/// A link from a response to an operation that takes the id it carries: stateful clients (and
/// schemathesis) follow them with real ids. `(source operation, status, link name, target
/// operation, [(target parameter, runtime expression)])`.
type LinkSpec = (&'static str, &'static str, &'static str, &'static str, &'static [(&'static str, &'static str)]);

const ID: &[(&str, &str)] = &[("id", "$response.body#/id")];
const ID_AND_ETAG: &[(&str, &str)] = &[("id", "$response.body#/id"), ("If-Match", "$response.header.ETag")];

const LINKS: &[LinkSpec] = &[
    (
        "createCancerCenter",
        "201",
        "GetPhysicianSecretariesReport",
        "getPhysicianSecretariesReport",
        &[("cancer_center_id", "$response.body#/id")],
    ),
    ("createAccountRequest", "201", "FulfilAccountRequest", "fulfilAccountRequest", ID),
    ("createAccountRequest", "201", "RejectAccountRequest", "rejectAccountRequest", ID),
    ("fulfilAccountRequest", "200", "GetProfessional", "getProfessional", &[("id", "$response.body#/professional_id")]),
    ("fulfilAccountRequest", "200", "UpdateAccount", "updateAccount", &[("id", "$response.body#/account_id")]),
    ("createAccount", "201", "UpdateAccount", "updateAccount", ID),
    ("createProfessional", "201", "GetProfessional", "getProfessional", ID),
    ("createProfessional", "201", "SetProfessionalCategory", "setProfessionalCategory", ID),
    ("createProfessional", "201", "GetPhysicianSecretaries", "getPhysicianSecretaries", ID),
    ("createProfessional", "201", "GrantProfile", "grantProfile", ID),
    ("createProfessional", "201", "AddSecretary", "addSecretary", ID),
    ("createProfessional", "201", "RemoveSecretary", "removeSecretary", ID),
    ("createProfessional", "201", "AddSecretaryGroup", "addSecretaryGroup", ID),
    ("createProfessional", "201", "RemoveSecretaryGroup", "removeSecretaryGroup", ID),
    ("createSecretaryGroup", "201", "GetSecretaryGroup", "getSecretaryGroup", ID),
    ("createSecretaryGroup", "201", "AddSecretaryGroupMember", "addSecretaryGroupMember", ID),
    ("createSecretaryGroup", "201", "RemoveSecretaryGroupMember", "removeSecretaryGroupMember", ID),
    ("createRcp", "201", "GetRcp", "getRcp", ID),
    ("createRcp", "201", "ListRcpSessions", "listRcpSessions", ID),
    ("createRcp", "201", "CreateSession", "createSession", ID),
    ("createRcp", "201", "SetRcpMember", "setRcpMember", ID),
    ("createRcp", "201", "RemoveRcpMember", "removeRcpMember", ID),
    ("createRcp", "201", "AddRcpManager", "addRcpManager", ID),
    ("createRcp", "201", "RemoveRcpManager", "removeRcpManager", ID),
    ("createSession", "201", "StartSession", "startSession", ID),
    ("createSession", "201", "CloseSession", "closeSession", ID),
    ("createSession", "201", "GetSessionRun", "getSessionRun", ID),
    ("createSession", "201", "RegisterDossier", "registerDossier", ID),
    ("createPatient", "201", "GetPatient", "getPatient", ID),
    ("createPatient", "201", "UpdatePatient", "updatePatient", ID_AND_ETAG),
    ("createPatient", "201", "ListPatientDocuments", "listPatientDocuments", ID),
    ("createPatient", "201", "UploadDocument", "uploadDocument", ID),
    ("uploadDocument", "201", "GetDocument", "getDocument", ID),
    ("uploadDocument", "201", "GetDocumentContent", "getDocumentContent", ID),
    ("registerDossier", "201", "GetDossier", "getDossier", ID),
    ("registerDossier", "201", "UpdateDossier", "updateDossier", ID_AND_ETAG),
    ("registerDossier", "201", "ValidateDossier", "validateDossier", ID),
    ("registerDossier", "201", "GetReport", "getReport", ID),
    ("registerDossier", "201", "SendReport", "sendReport", ID),
    ("registerDossier", "201", "ListReportTransmissions", "listReportTransmissions", ID),
    ("getDossier", "200", "GetPatient", "getPatient", &[("id", "$response.body#/patient_id")]),
    ("getDossier", "200", "GetReport", "getReport", ID),
    ("sendReport", "201", "ListReportTransmissions", "listReportTransmissions", &[("id", "$response.body#/dossier_id")]),
    // From a page to its first item, so that a client (or a fuzzer) reaches what exists.
    ("listCancerCenters", "200", "GetPhysicianSecretariesReport", "getPhysicianSecretariesReport", &[("cancer_center_id", FIRST)]),
    ("listRcps", "200", "GetRcp", "getRcp", &[("id", FIRST)]),
    ("listRcps", "200", "ListRcpSessions", "listRcpSessions", &[("id", FIRST)]),
    ("getAgenda", "200", "GetSessionRun", "getSessionRun", &[("id", FIRST)]),
    ("getAgenda", "200", "GetDossier", "getDossier", &[("id", "$response.body#/items/0/dossiers/0/id")]),
    ("listMyDossiers", "200", "GetDossier", "getDossier", &[("id", FIRST)]),
    ("searchProfessionals", "200", "GetProfessional", "getProfessional", &[("id", FIRST)]),
    ("listSecretaryGroups", "200", "GetSecretaryGroup", "getSecretaryGroup", &[("id", FIRST)]),
    ("listPatientDocuments", "200", "GetDocument", "getDocument", &[("id", FIRST)]),
];

const FIRST: &str = "$response.body#/items/0/id";

/// The whole document, as served at `/api/v1/openapi.json` and committed as `openapi.yaml`.
pub fn document() -> Result<Document, String> {
    use utoipa_actix_web::AppExt;
    let (_, doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::probes)
        .service(utoipa_actix_web::scope("/api/v1").configure(crate::routes::api_v1))
        .split_for_parts();
    // After the routes: the passes must see every path. They work on the JSON form, where a
    // rule over every parameter, schema and response reads as what it does.
    let mut doc = serde_json::to_value(doc).map_err(|e| e.to_string())?;
    complete(&mut doc);
    let mut doc: Document = serde_json::from_value(doc).map_err(|e| format!("the completed OpenAPI document does not read back: {e}"))?;
    empty_values_allowed(&mut doc);
    Ok(doc)
}

/// Every optional query parameter says `allowEmptyValue: true`: the server reads an empty one
/// as absent. (utoipa's parameter has no such field, and drops it when it reads a document, so
/// this pass runs on the typed document, through the parameter's extension map.)
fn empty_values_allowed(doc: &mut Document) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{RefOr, Required};
    for item in doc.paths.paths.values_mut() {
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            for p in op.parameters.iter_mut().flatten() {
                let RefOr::T(p) = p else { continue };
                if matches!(p.parameter_in, ParameterIn::Query) && matches!(p.required, Required::False) {
                    p.extensions.get_or_insert_with(Default::default).insert("allowEmptyValue".to_owned(), Value::Bool(true));
                }
            }
        }
    }
}

/// The document as YAML.
pub fn yaml() -> Result<String, String> {
    document()?.to_yaml().map_err(|e| e.to_string())
}

/// Every pass, in order.
fn complete(doc: &mut Value) {
    doc["components"]["securitySchemes"] = json!({"bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The access token of a login session (`POST /auth/login`, `POST /auth/refresh`), honoured while its session is open. A call the front end makes by itself (polling) carries `X-Concerto-Background: 1` and does not keep the session alive.",
    }});
    doc["components"]["headers"] = json!({
        "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer", "minimum": 0}},
        "Location": {"description": "The new resource's URI", "schema": {"type": "string", "format": "uri-reference"}},
    });
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for (method, op) in item.iter_mut() {
                shared_responses(path, op);
                if crate::precondition::judged_here(method, path) {
                    if_match(op);
                }
                parameters(op);
                location(op);
            }
        }
    }
    links(doc);
    ids_as_uuids(doc);
}

/// The problem responses every operation shares, by what it takes; a status the handler
/// already documents keeps its description and gains the shared codes.
fn shared_responses(path: &str, op: &mut Value) {
    let public = PUBLIC.contains(&path);
    let body = op.get("requestBody").is_some();
    let json_body = op.pointer("/requestBody/content/application~1json").is_some();
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    let takes = |place: &str| params.iter().any(|p| p["in"] == place);
    let list = params.iter().any(|p| p["in"] == "query" && p["name"] == "limit");
    let mut shared: Vec<(&str, Vec<ErrorCode>)> = Vec::new();
    if !public {
        shared.push(("401", vec![ErrorCode::InvalidToken]));
    }
    if json_body {
        shared.push(("400", vec![ErrorCode::MalformedJson]));
        shared.push(("413", vec![ErrorCode::PayloadTooLarge]));
        shared.push(("415", vec![ErrorCode::UnsupportedMediaType]));
    }
    let mut invalid = Vec::new();
    if body {
        invalid.push(ErrorCode::ValidationFailed);
    }
    if takes("query") {
        invalid.push(ErrorCode::InvalidQuery);
    }
    if list {
        invalid.extend([ErrorCode::InvalidLimit, ErrorCode::InvalidCursor]);
    }
    if !invalid.is_empty() {
        shared.push(("422", invalid));
    }
    if takes("path") {
        shared.push(("404", vec![ErrorCode::NotFound]));
    }
    if path == "/api/v1/auth/login" {
        shared.push(("429", vec![ErrorCode::TooManyAttempts]));
    }
    shared.push(("500", vec![ErrorCode::InternalError]));
    if !WITHOUT_DATABASE.contains(&path) {
        shared.push(("503", vec![ErrorCode::ServiceUnavailable]));
    }
    let responses = &mut op["responses"];
    for (status, codes) in shared {
        let described = codes.iter().map(|c| describe(*c)).collect::<Vec<_>>().join("; ");
        match responses.get_mut(status) {
            Some(existing) => {
                let text = existing["description"].as_str().unwrap_or_default().to_owned();
                let missing: Vec<String> = codes.iter().filter(|c| !text.contains(&format!("`{c}`"))).map(|c| describe(*c)).collect();
                if !missing.is_empty() {
                    existing["description"] = Value::String(format!("{text}; {}", missing.join("; ")));
                }
            }
            None => responses[status] = json!({"description": described, "content": problem_content()}),
        }
        if matches!(status, "429" | "503") {
            responses[status]["headers"]["Retry-After"] = json!({"$ref": "#/components/headers/Retry-After"});
        }
    }
    // Every refusal is a problem document: handlers describe their own statuses in words and
    // codes, and the body they all share is declared here.
    if let Some(responses) = responses.as_object_mut() {
        for (_, response) in responses.iter_mut().filter(|(status, _)| status.starts_with(['4', '5'])) {
            if response.get("content").is_none() {
                response["content"] = problem_content();
            }
        }
    }
    // A refusal the handler describes in words only gets the codes it answers with.
    for (status, default) in [("403", listed(&RIGHTS_CODES)), ("404", listed(&[ErrorCode::NotFound]))] {
        if let Some(text) = responses[status]["description"].as_str().filter(|t| !t.contains('`')) {
            responses[status]["description"] = Value::String(format!("{default}: {text}"));
        }
    }
    if !public {
        op["security"] = json!([{"bearer": []}]);
    }
}

/// A write without an ETag of its own takes an optional `If-Match` and answers 412 to any but
/// `*` (`crate::precondition`).
fn if_match(op: &mut Value) {
    let param = json!({
        "name": "If-Match",
        "in": "header",
        "required": false,
        "description": "Optional. This resource has no ETag: `*` matches it, any other value answers 412 `precondition_failed` and nothing is written (an empty header is no header).",
        // `*` is the one value a write can succeed with: a client (or a fuzzer) generating
        // valid requests sends that or nothing.
        "schema": {"type": "string", "enum": ["*"]},
    });
    match op["parameters"].as_array_mut() {
        Some(params) => params.push(param),
        None => op["parameters"] = json!([param]),
    }
    op["responses"]["412"] = json!({"description": describe(ErrorCode::PreconditionFailed), "content": problem_content()});
}

/// The codes of a 403 for lack of an administrative right.
const RIGHTS_CODES: [ErrorCode; 3] = [ErrorCode::Forbidden, ErrorCode::PlatformAdminRequired, ErrorCode::CenterCoordinatorRequired];

/// "`code`: what it means".
fn describe(code: ErrorCode) -> String {
    format!("`{code}`: {}", code.meaning())
}

/// "`a`, `b`": codes as a description lists them.
fn listed(codes: &[ErrorCode]) -> String {
    codes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
}

fn problem_content() -> Value {
    json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}})
}

/// A query string carries no `null`: optional parameters are absent, never null; and since an
/// empty parameter counts as absent, a required one is at least one character long.
fn parameters(op: &mut Value) {
    let Some(params) = op["parameters"].as_array_mut() else { return };
    for p in params {
        if p["in"] == "query" && p["required"] == true && p["schema"]["type"] == "string" {
            p["schema"]["minLength"] = Value::from(1);
        }
        if let Some(types) = p.pointer_mut("/schema/type").and_then(Value::as_array_mut) {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                let only = types[0].clone();
                p["schema"]["type"] = only;
            }
        }
        if let Some(one_of) = p.pointer("/schema/oneOf").and_then(Value::as_array).cloned() {
            let kept: Vec<Value> = one_of.into_iter().filter(|s| s["type"] != "null").collect();
            if let [single] = kept.as_slice() {
                p["schema"] = single.clone();
            }
        }
    }
}

/// Every 201 says where the new resource is.
fn location(op: &mut Value) {
    if let Some(created) = op.pointer_mut("/responses/201") {
        created["headers"]["Location"] = json!({"$ref": "#/components/headers/Location"});
    }
}

/// The links of `LINKS`, on the responses they start from.
fn links(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else { return };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for op in item.values_mut() {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            for (_, status, name, target, params) in LINKS.iter().filter(|l| l.0 == id) {
                let Some(response) = op.pointer_mut(&format!("/responses/{status}")) else { continue };
                let parameters: Map<String, Value> = params.iter().map(|(k, v)| ((*k).to_owned(), Value::from(*v))).collect();
                response["links"][*name] = json!({"operationId": target, "parameters": parameters});
            }
        }
    }
}

/// Ids are UUIDs: every path parameter and every property named `id` or `…_id` (and the items
/// of `…_ids`) says `format: uuid`. Query filters stay plain strings: an empty one means "no
/// filter" (the one rule of every list), which `format: uuid` would call invalid.
fn ids_as_uuids(doc: &mut Value) {
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for op in item.values_mut() {
                let Some(params) = op["parameters"].as_array_mut() else { continue };
                for p in params {
                    let name = p["name"].as_str().unwrap_or_default().to_owned();
                    if p["in"] == "path" && is_id(&name) {
                        uuid(&mut p["schema"]);
                    }
                }
                if let Some(body) = op.pointer_mut("/requestBody/content") {
                    walk(body);
                }
                if let Some(responses) = op.get_mut("responses") {
                    walk(responses);
                }
            }
        }
    }
    if let Some(schemas) = doc.pointer_mut("/components/schemas") {
        walk(schemas);
        nullable_formats(schemas);
    }
}

/// `type: [string, "null"]` with a `format` becomes `oneOf: [{type: string, format}, {type:
/// "null"}]`: the same values, in the form generators read without mistaking `""` for a date.
fn nullable_formats(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let nullable_with_format = map.contains_key("format")
                && map.get("type").and_then(Value::as_array).is_some_and(|ts| ts.len() == 2 && ts.iter().any(|t| t == "null"));
            if nullable_with_format {
                let kind = map["type"].as_array().and_then(|ts| ts.iter().find(|t| *t != "null")).cloned().unwrap_or_default();
                let format = map.remove("format").unwrap_or_default();
                map.remove("type");
                map.insert("oneOf".to_owned(), json!([{"type": kind, "format": format}, {"type": "null"}]));
            }
            map.values_mut().for_each(nullable_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_formats),
        _ => {}
    }
}

fn is_id(name: &str) -> bool {
    name == "id" || name.ends_with("_id")
}

/// Sets `format: uuid` on the string properties that hold ids, anywhere under `value`.
fn walk(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                for (name, prop) in props.iter_mut() {
                    if is_id(name) {
                        uuid(prop);
                    } else if name.ends_with("_ids")
                        && let Some(items) = prop.get_mut("items")
                    {
                        uuid(items);
                    }
                }
            }
            for v in map.values_mut() {
                walk(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(walk),
        _ => {}
    }
}

/// `format: uuid` on a string schema (nullable or not); a reference or a non-string is left alone.
fn uuid(schema: &mut Value) {
    let is_string = match &schema["type"] {
        Value::String(t) => t == "string",
        Value::Array(ts) => ts.iter().any(|t| t == "string"),
        _ => false,
    };
    if is_string {
        schema["format"] = Value::from("uuid");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// Codes the server answers that the committed document does not name yet: documenting
    /// them changes the contract, which this list keeps visible rather than hides.
    /// (`not_empty` is the demo command's, never an HTTP answer.)
    const UNDOCUMENTED: [ErrorCode; 13] = [
        // `concerto terminology load` only, never an HTTP answer.
        ErrorCode::InvalidCode,
        ErrorCode::InvalidLabel,
        ErrorCode::InvalidValidity,
        ErrorCode::InsufficientStorage,
        ErrorCode::InvalidCategory,
        ErrorCode::InvalidRpps,
        ErrorCode::InvalidProfileKind,
        ErrorCode::InvalidSpecialty,
        ErrorCode::InvalidRole,
        ErrorCode::InvalidStatus,
        ErrorCode::InvalidChannel,
        ErrorCode::AlreadyExists,
        ErrorCode::NotEmpty,
    ];

    fn sources(dir: &Path, into: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, into);
            } else if path.extension().is_some_and(|e| e == "rs") {
                into.push(path);
            }
        }
    }

    #[test]
    fn every_code_is_in_the_document_unless_listed_as_undocumented() {
        let yaml = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml")).unwrap();
        for code in ErrorCode::ALL {
            let named = yaml.contains(&format!("`{code}`"));
            assert_eq!(named, !UNDOCUMENTED.contains(code), "`{code}`: documented {named}; fix UNDOCUMENTED or the document");
        }
    }

    /// utoipa names a schema after its type and lets the last of two types of one name win
    /// silently: the document would then describe one with the other's schema.
    #[test]
    fn no_two_schemas_share_a_name() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for crate_dir in ["domain/src", "api/src"] {
            sources(&root.join(crate_dir), &mut files);
        }
        let mut names = Vec::new();
        for file in &files {
            let source = std::fs::read_to_string(file).unwrap_or_default();
            let mut lines = source.lines();
            while let Some(line) = lines.next() {
                if !line.contains("ToSchema") || !line.trim_start().starts_with("#[") {
                    continue;
                }
                let renamed = line.contains("schema(as =");
                let Some(item) = lines.by_ref().find(|l| l.starts_with("pub struct ") || l.starts_with("pub enum ")) else { break };
                let name = item.split_whitespace().nth(2).unwrap_or_default().trim_end_matches(['{', '(', ';', '<']).to_owned();
                if !renamed {
                    names.push((name, file.display().to_string()));
                }
            }
        }
        assert!(names.len() > 50, "the schemas were not found: {names:?}");
        names.sort();
        let twice: Vec<_> = names.windows(2).filter(|w| w[0].0 == w[1].0).collect();
        assert!(twice.is_empty(), "schemas of one name: {twice:?}");
    }

    #[test]
    fn no_code_is_spelled_as_a_string_outside_the_enum() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for crate_dir in ["domain/src", "persistence/src", "api/src"] {
            sources(&root.join(crate_dir), &mut files);
        }
        assert!(files.len() > 50, "the sources were not found: {files:?}");
        let mut found = Vec::new();
        for file in files.iter().filter(|f| !f.ends_with("domain/src/error_code.rs")) {
            let source = std::fs::read_to_string(file).unwrap();
            for code in ErrorCode::ALL {
                if source.contains(&format!("\"{code}\"")) {
                    found.push(format!("{}: \"{code}\"", file.display()));
                }
            }
        }
        assert!(found.is_empty(), "use the ErrorCode variant instead: {found:#?}");
    }
}
