//! The OpenAPI document: committed, served, complete.

use serde_json::Value;

use crate::support::TestApp;

#[test]
fn committed_openapi_yaml_matches_the_code() {
    let generated = concerto_api::openapi::yaml().unwrap();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml")).unwrap();
    assert!(generated == committed, "openapi.yaml is stale: run `make openapi` and commit it");
}

#[actix_rt::test]
async fn served_document_is_the_generated_one_and_every_operation_is_secured() {
    let app = TestApp::spawn().await;
    let r = app.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, 200);
    let expected = serde_json::to_value(concerto_api::openapi::document().unwrap()).unwrap();
    assert_eq!(r.body, expected);
    let public = [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/oidc/start",
        "/api/v1/auth/oidc/callback",
        "/healthz",
        "/readyz",
    ];
    let mut operations = 0;
    for (path, item) in r.body["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{method} {path} lacks 500");
            if public.contains(&path.as_str()) {
                assert!(op.get("security").is_none(), "{method} {path} is public");
            } else {
                assert_eq!(op["security"][0]["bearer"], Value::Array(vec![]), "{method} {path} lacks bearer security");
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
            }
            if op.get("requestBody").is_some() {
                for s in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(s), "{method} {path} lacks {s}");
                }
            }
        }
    }
    assert!(operations >= 29, "only {operations} operations documented");
}

#[actix_rt::test]
async fn docs_page_works_offline() {
    let app = TestApp::spawn().await;
    let r = app.call("GET", "/docs", None, None).await;
    assert_eq!(r.status, 308);
    assert_eq!(r.header("location").as_deref(), Some("/docs/"));
    let page = app.call("GET", "/docs/", None, None).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    // Every script and stylesheet is served by us, none from a CDN.
    assert!(!page.text.contains("https://"), "the docs page loads something from the internet: {}", page.text);
    let init = app.call("GET", "/docs/swagger-initializer.js", None, None).await;
    assert_eq!(init.status, 200);
    assert!(init.text.contains("/api/v1/openapi.json"));
    let bundle = app.call("GET", "/docs/swagger-ui-bundle.js", None, None).await;
    assert_eq!(bundle.status, 200);
    assert!(bundle.text.len() > 100_000);
}

/// Every `$ref` of `doc` that does not resolve inside it.
fn dangling_refs(doc: &Value) -> Vec<String> {
    fn walk(node: &Value, doc: &Value, out: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    let resolves = target.strip_prefix('#').is_some_and(|pointer| doc.pointer(pointer).is_some());
                    if !resolves {
                        out.push(target.clone());
                    }
                }
                map.values().for_each(|v| walk(v, doc, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, doc, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, doc, &mut out);
    out
}

/// What a client generator needs of the document, as a list of complaints.
fn contract_problems(doc: &Value) -> Vec<String> {
    let mut problems: Vec<String> = dangling_refs(doc).into_iter().map(|r| format!("dangling $ref {r}")).collect();
    let mut ids = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let at = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"].as_str().unwrap_or_default();
            let camel = id.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && id.chars().all(|c| c.is_ascii_alphanumeric());
            if !camel {
                problems.push(format!("{at}: operation id `{id}` is not camelCase"));
            }
            if let Some(other) = ids.insert(id.to_owned(), at.clone()) {
                problems.push(format!("{at}: operation id `{id}` is also {other}"));
            }
            let responses = op["responses"].as_object().cloned().unwrap_or_default();
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let mut needed = vec!["500"];
            if op.get("security").is_some() {
                needed.push("401");
            }
            if path != "/healthz" {
                needed.push("503");
            }
            if op.get("requestBody").is_some() || params.iter().any(|p| p["in"] == "query") {
                needed.push("422");
            }
            if params.iter().any(|p| p["in"] == "path") {
                needed.push("404");
            }
            for status in needed {
                if !responses.contains_key(status) {
                    problems.push(format!("{at}: no {status} response"));
                }
            }
            for (status, response) in &responses {
                let problem = response.pointer("/content/application~1problem+json").is_some();
                if status.starts_with(['4', '5']) && !(problem && response["description"].as_str().unwrap_or_default().contains('`')) {
                    problems.push(format!("{at}: {status} is not a problem document naming its codes"));
                }
            }
            if params.iter().any(|p| p["name"] == "limit") {
                let text = responses.get("422").map(|r| r["description"].to_string()).unwrap_or_default();
                if !(text.contains("invalid_limit") && text.contains("invalid_cursor")) {
                    problems.push(format!("{at}: a list whose 422 does not name invalid_limit and invalid_cursor"));
                }
            }
            if let Some(created) = responses.get("201")
                && created.pointer("/headers/Location").is_none()
            {
                problems.push(format!("{at}: 201 without Location"));
            }
            if path == "/api/v1/auth/login" && !responses.contains_key("429") {
                problems.push(format!("{at}: no 429"));
            }
            for p in &params {
                let name = p["name"].as_str().unwrap_or_default();
                if p["in"] == "path" && (name == "id" || name.ends_with("_id")) && p["schema"]["format"] != "uuid" {
                    problems.push(format!("{at}: path id `{name}` is not format: uuid"));
                }
            }
        }
    }
    // Links lead to operations that exist, with parameters those operations take.
    for item in doc["paths"].as_object().into_iter().flatten().map(|(_, item)| item) {
        for op in item.as_object().into_iter().flatten().map(|(_, op)| op) {
            for response in op["responses"].as_object().into_iter().flatten().map(|(_, r)| r) {
                for (name, link) in response["links"].as_object().into_iter().flatten() {
                    let target = link["operationId"].as_str().unwrap_or_default();
                    let Some(target_op) = operation(doc, target) else {
                        problems.push(format!("link {name} leads to no operation `{target}`"));
                        continue;
                    };
                    for param in link["parameters"].as_object().into_iter().flatten().map(|(k, _)| k) {
                        let takes = target_op["parameters"].as_array().into_iter().flatten().any(|p| p["name"] == param.as_str());
                        if !takes {
                            problems.push(format!("link {name}: `{target}` has no parameter `{param}`"));
                        }
                    }
                }
            }
        }
    }
    problems
}

fn operation<'a>(doc: &'a Value, id: &str) -> Option<&'a Value> {
    doc["paths"]
        .as_object()?
        .values()
        .flat_map(|item| item.as_object().into_iter().flatten())
        .map(|(_, op)| op)
        .find(|op| op["operationId"] == id)
}

#[test]
fn the_document_is_one_a_client_can_be_generated_from() {
    let doc = serde_json::to_value(concerto_api::openapi::document().unwrap()).unwrap();
    let problems = contract_problems(&doc);
    assert!(problems.is_empty(), "the OpenAPI document is not fit for client generators:\n{}", problems.join("\n"));
    // The duplicates of a 409 are answered as an array of candidates.
    let candidates = &doc["components"]["schemas"]["Problem"]["properties"]["candidates"];
    assert!(candidates.to_string().contains("array") && candidates.to_string().contains("DuplicateCandidate"), "{candidates}");
    // The operations clients call by name keep their names.
    for id in ["login", "getMe", "getAgenda", "listRcps", "getDossier", "registerDossier", "createPatient", "updateDossier"] {
        assert!(operation(&doc, id).is_some(), "no operation `{id}`");
    }
}

#[test]
fn the_contract_check_catches_what_breaks_generators() {
    let doc = serde_json::to_value(concerto_api::openapi::document().unwrap()).unwrap();
    // A reference to a schema that is not there (as `TabName` once was).
    let mut broken = doc.clone();
    broken["paths"]["/api/v1/me/dossiers"]["get"]["parameters"][0]["schema"] = serde_json::json!({"$ref": "#/components/schemas/TabName"});
    assert!(contract_problems(&broken).iter().any(|p| p.contains("dangling $ref #/components/schemas/TabName")));
    // Two operations with one id, and one that forgets its 503.
    let mut broken = doc.clone();
    broken["paths"]["/api/v1/rcps"]["get"]["operationId"] = Value::from("getRcp");
    broken["paths"]["/api/v1/me"]["get"]["responses"].as_object_mut().unwrap().remove("503");
    let problems = contract_problems(&broken);
    assert!(problems.iter().any(|p| p.contains("operation id `getRcp` is also")), "{problems:?}");
    assert!(problems.iter().any(|p| p == "GET /api/v1/me: no 503 response"), "{problems:?}");
}
