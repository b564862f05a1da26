//! The national settings of an RCP and of a center (issue 27, item 3): set by the platform
//! administrator and the center's coordinators, coded ones checked against the loaded lists,
//! shown wherever the RCP or the center is.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{TestApp, assert_problem};

/// Loads the shipped FRCP lists of RCP natures and organs into `app`'s store, as an operator does.
fn load_lists(app: &TestApp) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../terminology");
    let out = Command::new(env!("CARGO_BIN_EXE_concerto"))
        .args(["terminology", "load"])
        .args([dir.join("frcp-rcp-nature.csv"), dir.join("frcp-organ.csv")])
        .env("DATABASE_URL", app.store.url())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[actix_rt::test]
async fn coordinators_set_an_rcps_national_settings_checked_against_the_lists() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let center = app.center("Here").await;
    let other = app.center("There").await;
    let coord = app.coordinator(&center).await;
    let stranger = app.coordinator(&other).await;
    let rcp = app.rcp(&coord, &center, "RCP thoracique").await;
    let path = format!("/api/v1/rcps/{rcp}");
    // Before the lists are loaded, a coded value cannot be judged.
    assert_problem(&app.patch(&path, &coord.token, json!({"nature": "ORG-117"})).await, 422, "list_not_loaded");
    load_lists(&app);

    let body =
        json!({"nature": "ORG-117", "organ": "DIG-ESTO", "network_id": " RRC-IDF ", "manager_id": "810000001", "national_id": "RCP-42"});
    let r = app.patch(&path, &coord.token, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let want =
        json!({"nature": "ORG-117", "organ": "DIG-ESTO", "network_id": "RRC-IDF", "manager_id": "810000001", "national_id": "RCP-42"});
    let shown = |v: &Value| json!({"nature": v["nature"], "organ": v["organ"], "network_id": v["network_id"], "manager_id": v["manager_id"], "national_id": v["national_id"]});
    assert_eq!(shown(&r.body), want);
    assert_eq!(shown(&app.get(&path, &stranger.token).await.body), want);
    let listed = app.get(&format!("/api/v1/rcps?cancer_center_id={center}"), &stranger.token).await;
    assert_eq!(shown(&listed.body["items"][0]), want, "{}", listed.text);

    // Codes outside their lists, and identifiers out of bounds, change nothing.
    let r = app.patch(&path, &coord.token, json!({"nature": "ORG-999", "network_id": "X"})).await;
    assert_problem(&r, 422, "unknown_code");
    assert_eq!(r.body["errors"][0]["field"], "nature", "{}", r.text);
    assert_problem(&app.patch(&path, &coord.token, json!({"organ": "C34"})).await, 422, "unknown_code");
    assert_problem(&app.patch(&path, &coord.token, json!({"national_id": "a b"})).await, 422, "validation_failed");
    assert_problem(&app.patch(&path, &coord.token, json!({"national_id": "x".repeat(65)})).await, 422, "validation_failed");
    assert_problem(&app.patch(&path, &coord.token, json!({})).await, 422, "validation_failed");
    assert_eq!(shown(&app.get(&path, &coord.token).await.body), want);

    // Only the fields sent change; `null` clears one.
    let r = app.patch(&path, &admin.token, json!({"nature": "ORG-132", "organ": null})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.body["nature"].clone(), r.body["organ"].clone(), r.body["network_id"].clone()),
        (json!("ORG-132"), Value::Null, json!("RRC-IDF"))
    );

    // Another center's coordinator, the RCP's manager: not theirs to set.
    assert_problem(&app.patch(&path, &stranger.token, json!({"network_id": "RRC-X"})).await, 403, "center_coordinator_required");
    let manager = app.physician("Manager", &center).await;
    assert_eq!(app.put(&format!("/api/v1/rcps/{rcp}/managers/{}", manager.id), &coord.token, None).await.status, 204);
    assert_problem(&app.patch(&path, &manager.token, json!({"network_id": "RRC-X"})).await, 403, "center_coordinator_required");
    assert_problem(&app.patch("/api/v1/rcps/nope", &admin.token, json!({"network_id": "RRC-X"})).await, 404, "not_found");
}

#[actix_rt::test]
async fn a_centers_finess_is_set_by_its_coordinators_and_listed() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let center = app.center("Here").await;
    let other = app.center("There").await;
    let coord = app.coordinator(&center).await;
    let stranger = app.coordinator(&other).await;
    let path = format!("/api/v1/cancer-centers/{center}");
    let r = app.patch(&path, &coord.token, json!({"finess": "2a0000012"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["finess"], "2A0000012");
    let listed = app.get("/api/v1/cancer-centers", &stranger.token).await;
    let finess: Vec<Value> = listed.body["items"].as_array().unwrap().iter().map(|c| c["finess"].clone()).collect();
    assert!(finess.contains(&json!("2A0000012")) && finess.contains(&Value::Null), "{}", listed.text);
    for wrong in ["75000000", "7500000011", "2C0000012", "75000A001"] {
        assert_problem(&app.patch(&path, &coord.token, json!({"finess": wrong})).await, 422, "validation_failed");
    }
    assert_problem(&app.patch(&path, &stranger.token, json!({"finess": "750000001"})).await, 403, "center_coordinator_required");
    // The administrator clears it; a stale `If-Match` changes nothing.
    let r = app.with_if_match("PATCH", &path, &admin.token, "\"3\"", json!({"finess": null})).await;
    assert_problem(&r, 412, "precondition_failed");
    let r = app.patch(&path, &admin.token, json!({"finess": null})).await;
    assert_eq!((r.status, r.body["finess"].clone()), (200, Value::Null), "{}", r.text);
}
