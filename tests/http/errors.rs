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
    // Wrong shape is 422 too: a wrong type names its field, a missing field the body.
    let r = app.post("/api/v1/cancer-centers", &admin.token, json!({"name": 12, "code": "X"})).await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "name");
    let r = app.post("/api/v1/cancer-centers", &admin.token, json!({"name": "X"})).await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "body");
    assert!(r.text.contains("code"), "{}", r.text);
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

#[actix_rt::test]
async fn a_known_path_with_another_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (method, path, allow) in [
        ("PUT", "/api/v1/rcps", "GET, POST"),
        ("TRACE", "/api/v1/cancer-centers", "GET, POST"),
        ("DELETE", "/api/v1/dossiers/7f0c1c2e-1d2b-4c3a-9e4f-5a6b7c8d9e0f", "GET, PATCH"),
        ("POST", "/healthz", "GET"),
        ("GET", "/api/v1/auth/login", "POST"),
    ] {
        let r = app.raw(method, path, Some(&admin.token), &[], Vec::new()).await;
        assert_problem(&r, 405, "method_not_allowed");
        assert_eq!(r.header("allow").as_deref(), Some(allow), "{method} {path}");
    }
    // A path no route has, even one segment longer than a known one, stays 404.
    assert_problem(&app.raw("PUT", "/api/v1/rcps/x/y/z", Some(&admin.token), &[], Vec::new()).await, 404, "not_found");
    assert_problem(&app.raw("GET", "/api/v1/rcps/", Some(&admin.token), &[], Vec::new()).await, 404, "not_found");
}

#[actix_rt::test]
async fn an_empty_query_parameter_is_an_absent_one_on_every_list() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let center = app.center("3C Empty").await;
    let coord = app.coordinator(&center).await;
    app.rcp(&coord, &center, "RCP").await;
    let all = app.get("/api/v1/rcps", &admin.token).await;
    assert_eq!(all.status, 200);
    for query in ["cursor=", "limit=", "cursor=&limit=", "cancer_center_id=", "cursor", "&&limit=&"] {
        let r = app.get(&format!("/api/v1/rcps?{query}"), &admin.token).await;
        assert_eq!(r.status, 200, "?{query}: {}", r.text);
        assert_eq!(r.body, all.body, "?{query}");
    }
    // A non-empty value is still read, and still checked.
    assert_problem(&app.get("/api/v1/rcps?cursor=&limit=0", &admin.token).await, 422, "invalid_limit");
    let one = app.get("/api/v1/rcps?limit=1&cursor=", &admin.token).await;
    assert_eq!(one.body["items"].as_array().unwrap().len(), 1);
    // A required parameter sent empty is missing.
    assert_problem(&app.get("/api/v1/reports/physician-secretaries?cancer_center_id=", &admin.token).await, 422, "invalid_query");
}

#[actix_rt::test]
async fn every_created_resource_answers_its_location() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let r = app.post("/api/v1/cancer-centers", &admin.token, json!({"name": "3C Loc", "code": "LOC"})).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("location"), Some(format!("/api/v1/cancer-centers/{}", r.id())));
    let center = r.id();
    let coord = app.coordinator(&center).await;
    let r = app.post("/api/v1/rcps", &coord.token, json!({"cancer_center_id": center, "name": "RCP Loc", "specialty": "x"})).await;
    assert_eq!(r.status, 201);
    let location = r.header("location").unwrap();
    assert_eq!(location, format!("/api/v1/rcps/{}", r.id()));
    // The Location of a resource that has a GET reads it back.
    let back = app.get(&location, &coord.token).await;
    assert_eq!((back.status, back.body["id"].clone()), (200, json!(r.id())));
}

/// A well-formed JSON value of the wrong type or an unknown enum value is a 422 naming its
/// field, not a 400: the body is JSON.
#[actix_rt::test]
async fn a_value_of_the_wrong_shape_is_422_naming_its_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let center = app.center("3C").await;
    let doc = app.physician("Doc", &center).await;
    let specialty = format!("/api/v1/professionals/{}/specialty", doc.id);
    let category = format!("/api/v1/professionals/{}/category", doc.id);
    for (path, body, field) in [
        (&specialty, json!({"specialty": null}), "specialty"),
        (&specialty, json!({"specialty": "astrology"}), "specialty"),
        (&category, json!({"category": 3}), "category"),
        (&category, json!([]), "body"),
    ] {
        let r = app.put(path, &admin.token, Some(body.clone())).await;
        assert_problem(&r, 422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{body}: {}", r.text);
    }
    assert_problem(
        &app.raw("PUT", &category, Some(&admin.token), &[("content-type", "application/json")], b"{\"category\": nurse}".to_vec()).await,
        400,
        "malformed_json",
    );
}
