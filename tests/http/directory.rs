//! The professional directory, categories and "gérer les secrétaires".

use serde_json::json;

use crate::support::{TestApp, assert_problem};

fn ids(body: &serde_json::Value) -> Vec<String> {
    body["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
}

#[actix_rt::test]
async fn search_by_name_prefix_ignores_case_and_accents_and_finds_exact_rpps() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let center = app.center("3C").await;
    let create = |family: &str, given: &str, rpps: Option<&str>, category: &str| json!({"family_name": family, "given_name": given, "rpps": rpps, "category": category});
    let helene = app.post("/api/v1/professionals", &admin.token, create("Martin", "Hélène", Some("10000000009"), "physician")).await;
    assert_eq!(helene.status, 201, "{}", helene.text);
    assert_eq!(helene.body["display_name"], "Hélène MARTIN");
    let emile = app.post("/api/v1/professionals", &admin.token, create("Émery", "Paul", None, "secretary")).await.id();
    let hector = app.post("/api/v1/professionals", &admin.token, create("Hector", "Jean", None, "nurse")).await.id();
    let reader = app.secretary("Zed", &center).await;

    // "hel" finds Hélène by her given name; "HE" finds Hélène and Hector; "emer" finds Émery.
    assert_eq!(ids(&app.get("/api/v1/professionals?q=hel", &reader.token).await.body), vec![helene.id()]);
    let he = ids(&app.get("/api/v1/professionals?q=HE", &reader.token).await.body);
    assert_eq!(he, vec![hector.clone(), helene.id()], "ordered by family name");
    assert_eq!(ids(&app.get("/api/v1/professionals?q=%C3%A9mer", &reader.token).await.body), vec![emile.clone()]);
    assert_eq!(ids(&app.get("/api/v1/professionals?q=martin%20hel", &reader.token).await.body), vec![helene.id()]);
    assert_eq!(ids(&app.get("/api/v1/professionals?q=10000000009", &reader.token).await.body), vec![helene.id()]);
    assert_eq!(ids(&app.get("/api/v1/professionals?q=1000000000", &reader.token).await.body), Vec::<String>::new());
    assert_eq!(ids(&app.get("/api/v1/professionals?category=nurse", &reader.token).await.body), vec![hector]);
    assert_eq!(
        ids(&app.get(&format!("/api/v1/professionals?cancer_center_id={center}"), &reader.token).await.body),
        vec![reader.id.clone()]
    );
    assert_problem(&app.get("/api/v1/professionals?category=wizard", &reader.token).await, 422, "invalid_query");

    // Pages: stable, complete, no duplicates.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/professionals?limit=2&cursor={c}"),
            None => "/api/v1/professionals?limit=2".to_owned(),
        };
        let page = app.get(&path, &reader.token).await;
        seen.extend(ids(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let all = ids(&app.get("/api/v1/professionals?limit=200", &reader.token).await.body);
    assert_eq!(seen, all);
    assert_eq!(all.len(), 5, "admin, Martin, Émery, Hector, Zed");

    let detail = app.get(&format!("/api/v1/professionals/{}", reader.id), &reader.token).await;
    assert_eq!(detail.body["profiles"], json!([{"cancer_center_id": center, "kind": "secretary"}]));
    assert_eq!(detail.body["category"], "secretary");
    assert_problem(&app.get("/api/v1/professionals/unknown", &reader.token).await, 404, "not_found");
}

#[actix_rt::test]
async fn professionals_are_created_by_the_admin_with_checked_rpps() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let body = json!({"family_name": "Petit", "given_name": "Louis"});
    assert_problem(&app.post("/api/v1/professionals", &doc.token, body.clone()).await, 403, "platform_admin_required");
    let created = app.post("/api/v1/professionals", &admin.token, body).await;
    assert_eq!(created.body["category"], "physician", "the directory default");
    for bad in ["1234567890", "12345678901", "1234567890a"] {
        let r = app.post("/api/v1/professionals", &admin.token, json!({"family_name": "A", "given_name": "B", "rpps": bad})).await;
        assert_problem(&r, 422, "invalid_rpps");
        assert_eq!(r.body["errors"][0]["field"], "rpps");
    }
    let ok = json!({"family_name": "A", "given_name": "B", "rpps": "12345678903"});
    assert_eq!(app.post("/api/v1/professionals", &admin.token, ok.clone()).await.status, 201);
    assert_problem(&app.post("/api/v1/professionals", &admin.token, ok).await, 409, "rpps_taken");
    let r = app.post("/api/v1/professionals", &admin.token, json!({"family_name": " ", "given_name": "", "email": "nope"})).await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 3);
}

#[actix_rt::test]
async fn category_is_changed_by_a_coordinator_of_the_professionals_center() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let center = app.center("3C Nord").await;
    let other = app.center("3C Sud").await;
    let coord = app.coordinator(&center).await;
    let elsewhere = app.coordinator(&other).await;
    // Created as the directory default (physician), as the seed describes.
    let sophie = app.user("Durand", "physician", &[(&center, "secretary")]).await;
    let path = format!("/api/v1/professionals/{}/category", sophie.id);
    assert_problem(&app.put(&path, &elsewhere.token, Some(json!({"category": "secretary"}))).await, 403, "center_coordinator_required");
    assert_problem(&app.put(&path, &sophie.token, Some(json!({"category": "secretary"}))).await, 403, "center_coordinator_required");
    assert_problem(&app.put(&path, &coord.token, Some(json!({"category": "pilot"}))).await, 422, "validation_failed");
    let r = app.put(&path, &coord.token, Some(json!({"category": "secretary"}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["category"], "secretary");
    assert_eq!(app.me(&sophie).await["professional"]["category"], "secretary");

    // Affiliated, she cannot stop being a secretary; her physician cannot stop being one.
    let doc = app.physician("Martin", &center).await;
    let r = app.put(&format!("/api/v1/professionals/{}/secretaries/{}", doc.id, sophie.id), &coord.token, None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_problem(&app.put(&path, &coord.token, Some(json!({"category": "nurse"}))).await, 409, "has_affiliations");
    let doc_path = format!("/api/v1/professionals/{}/category", doc.id);
    assert_problem(&app.put(&doc_path, &admin.token, Some(json!({"category": "other"}))).await, 409, "has_affiliations");
    // Same category again is a no-op, not a conflict.
    assert_eq!(app.put(&path, &coord.token, Some(json!({"category": "secretary"}))).await.status, 200);
    assert_eq!(app.delete(&format!("/api/v1/professionals/{}/secretaries/{}", doc.id, sophie.id), &coord.token).await.status, 204);
    assert_eq!(app.put(&path, &admin.token, Some(json!({"category": "nurse"}))).await.status, 200);
    assert_problem(
        &app.put("/api/v1/professionals/nope/category", &admin.token, Some(json!({"category": "nurse"}))).await,
        404,
        "not_found",
    );
}

#[actix_rt::test]
async fn managing_a_physicians_secretaries() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let center = app.center("3C Nord").await;
    let other = app.center("3C Sud").await;
    let coord = app.coordinator(&center).await;
    let elsewhere = app.coordinator(&other).await;
    let doc = app.physician("Martin", &center).await;
    let sec = app.secretary("Durand", &center).await;
    let far_sec = app.secretary("Loin", &other).await;
    let nurse = app.user("Infirmiere", "nurse", &[(&center, "secretary")]).await;
    let path = |p: &str, s: &str| format!("/api/v1/professionals/{p}/secretaries/{s}");

    assert_problem(&app.put(&path(&doc.id, &sec.id), &elsewhere.token, None).await, 403, "center_coordinator_required");
    // The physician himself grants only dated delegations (tests/http/delegations.rs).
    assert_problem(&app.put(&path(&doc.id, &sec.id), &doc.token, None).await, 422, "valid_until_required");
    assert_problem(&app.put(&path(&doc.id, &far_sec.id), &coord.token, None).await, 403, "center_coordinator_required");
    assert_problem(&app.put(&path(&doc.id, &nurse.id), &coord.token, None).await, 422, "not_a_secretary");
    assert_problem(&app.put(&path(&sec.id, &sec.id), &coord.token, None).await, 422, "not_a_physician");
    assert_problem(&app.put(&path(&doc.id, "nope"), &coord.token, None).await, 404, "not_found");
    assert_eq!(app.me(&sec).await["acting_for"], json!([]));

    assert_eq!(app.put(&path(&doc.id, &sec.id), &coord.token, None).await.status, 204);
    assert_eq!(app.put(&path(&doc.id, &sec.id), &coord.token, None).await.status, 204, "idempotent");
    let me = app.me(&sec).await;
    let doc_name = app.me(&doc).await["professional"]["display_name"].clone();
    assert!(doc_name.as_str().unwrap().ends_with("MARTIN"));
    assert_eq!(
        me["acting_for"],
        json!([{"physician_id": doc.id, "display_name": doc_name, "via_group_id": null, "dates": {"valid_from": null, "valid_until": null}}])
    );
    assert_eq!(me["modules"], json!(["agenda", "patients", "session_run", "dossiers", "directory"]));
    assert_eq!(me["dossier_tabs"], json!(["rcp_passages"]));
    // The platform administrator may affiliate across centers.
    assert_eq!(app.put(&path(&doc.id, &far_sec.id), &admin.token, None).await.status, 204);

    let list = app.get(&format!("/api/v1/professionals/{}/secretaries", doc.id), &doc.token).await;
    assert_eq!(list.status, 200);
    let listed: Vec<&str> = list.body["secretaries"].as_array().unwrap().iter().map(|s| s["secretary_id"].as_str().unwrap()).collect();
    assert_eq!(listed, vec![sec.id.as_str(), far_sec.id.as_str()]);
    assert_eq!(app.get(&format!("/api/v1/professionals/{}/secretaries", doc.id), &coord.token).await.status, 200);
    assert_problem(
        &app.get(&format!("/api/v1/professionals/{}/secretaries", doc.id), &sec.token).await,
        403,
        "center_coordinator_required",
    );
    assert_problem(
        &app.get(&format!("/api/v1/professionals/{}/secretaries", doc.id), &elsewhere.token).await,
        403,
        "center_coordinator_required",
    );

    assert_eq!(app.delete(&path(&doc.id, &sec.id), &coord.token).await.status, 204);
    assert_eq!(app.delete(&path(&doc.id, &sec.id), &coord.token).await.status, 204, "idempotent");
    assert_eq!(app.me(&sec).await["acting_for"], json!([]), "revoked at the next request");
}
