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
    let expected = serde_json::to_value(concerto_api::openapi::document()).unwrap();
    assert_eq!(r.body, expected);
    let public = ["/api/v1/auth/login", "/healthz", "/readyz"];
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
