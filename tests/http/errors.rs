//! Every failure is an RFC 9457 problem document with a stable code.

use serde_json::json;

use crate::support::{TestApp, assert_problem};

#[actix_rt::test]
async fn unknown_route_is_a_problem_404() {
    let app = TestApp::spawn().await;
    assert_problem(&app.call("GET", "/api/v1/no-such-thing", None, None).await, 404, "not_found");
    assert_problem(&app.call("GET", "/nowhere", None, None).await, 404, "not_found");
}

#[actix_rt::test]
async fn malformed_json_is_400_and_wrong_content_type_415() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let r = app
        .raw("POST", "/api/v1/cancer-centers", Some(&admin.token), &[("content-type", "application/json")], b"{\"name\": ".to_vec())
        .await;
    assert_problem(&r, 400, "malformed_json");
    let r = app.raw("POST", "/api/v1/cancer-centers", Some(&admin.token), &[("content-type", "text/plain")], b"name=x".to_vec()).await;
    assert_problem(&r, 415, "unsupported_media_type");
    // Nothing was created by either.
    let list = app.get("/api/v1/cancer-centers", &admin.token).await;
    assert_eq!(list.body["items"], json!([]));
}

#[actix_rt::test]
async fn oversize_body_is_413() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let big = format!("{{\"name\": \"{}\", \"code\": \"X\"}}", "a".repeat(300 * 1024));
    let r = app.raw("POST", "/api/v1/cancer-centers", Some(&admin.token), &[("content-type", "application/json")], big.into_bytes()).await;
    assert_problem(&r, 413, "payload_too_large");
}

#[actix_rt::test]
async fn validation_failures_list_every_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let r = app.post("/api/v1/cancer-centers", &admin.token, json!({"name": "", "code": "no spaces!"})).await;
    assert_problem(&r, 422, "validation_failed");
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["code", "name"]);
    // Wrong shape (a missing field, a wrong type) is 422 too, naming the body.
    let r = app.post("/api/v1/cancer-centers", &admin.token, json!({"name": 12})).await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "body");
}

#[actix_rt::test]
async fn bad_paging_is_422() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    assert_problem(&app.get("/api/v1/cancer-centers?limit=0", &admin.token).await, 422, "invalid_limit");
    assert_problem(&app.get("/api/v1/cancer-centers?limit=201", &admin.token).await, 422, "invalid_limit");
    assert_problem(&app.get("/api/v1/cancer-centers?cursor=zz", &admin.token).await, 422, "invalid_cursor");
    assert_problem(&app.get("/api/v1/cancer-centers?limit=abc", &admin.token).await, 422, "invalid_query");
}
