//! Secretary groups, affiliations through groups, and the physician-secretaries report.

use serde_json::{Value, json};

use crate::support::{TestApp, User, assert_problem};

fn acting_for(me: &Value) -> Vec<(String, Option<String>)> {
    let mut v: Vec<(String, Option<String>)> = me["acting_for"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["physician_id"].as_str().unwrap().to_owned(), a["via_group_id"].as_str().map(str::to_owned)))
        .collect();
    v.sort();
    v
}

struct World {
    app: TestApp,
    center: String,
    coord: User,
    doc: User,
    sec: User,
    group: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let center = app.center("3C Nord").await;
    let coord = app.coordinator(&center).await;
    let doc = app.physician("Martin", &center).await;
    let sec = app.secretary("Moreau", &center).await;
    let r = app.post("/api/v1/secretary-groups", &coord.token, json!({"cancer_center_id": center, "name": "Secrétariat oncologie"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let group = r.id();
    World { app, center, coord, doc, sec, group }
}

#[actix_rt::test]
async fn groups_are_created_by_the_centers_coordinators_and_searchable() {
    let World { app, center, coord, doc, group, .. } = world().await;
    let other = app.center("3C Sud").await;
    let elsewhere = app.coordinator(&other).await;
    let body = json!({"cancer_center_id": center, "name": "Autre"});
    assert_problem(&app.post("/api/v1/secretary-groups", &elsewhere.token, body.clone()).await, 403, "center_coordinator_required");
    assert_problem(&app.post("/api/v1/secretary-groups", &doc.token, body).await, 403, "center_coordinator_required");
    let dup = json!({"cancer_center_id": center, "name": "SECRETARIAT  Oncologie"});
    assert_problem(&app.post("/api/v1/secretary-groups", &coord.token, dup).await, 409, "name_taken");
    assert_problem(
        &app.post("/api/v1/secretary-groups", &coord.token, json!({"cancer_center_id": "nope", "name": "x"})).await,
        404,
        "not_found",
    );

    let found = app.get("/api/v1/secretary-groups?q=secr%C3%A9", &doc.token).await;
    assert_eq!(found.body["items"][0]["id"], json!(group));
    assert_eq!(app.get("/api/v1/secretary-groups?q=onco", &doc.token).await.body["items"], json!([]), "prefix of the name");
    assert_eq!(app.get(&format!("/api/v1/secretary-groups?cancer_center_id={other}"), &doc.token).await.body["items"], json!([]));
    let detail = app.get(&format!("/api/v1/secretary-groups/{group}"), &doc.token).await;
    assert_eq!(detail.body["name"], "Secrétariat oncologie");
    assert_eq!(detail.body["members"], json!([]));
    assert_problem(&app.get("/api/v1/secretary-groups/nope", &doc.token).await, 404, "not_found");
}

#[actix_rt::test]
async fn group_membership_grants_and_revokes_the_groups_physicians_at_once() {
    let World { app, center, coord, doc, sec, group } = world().await;
    let doc2 = app.physician("Bernard", &center).await;
    let member = |id: &str| format!("/api/v1/secretary-groups/{group}/members/{id}");
    let affiliate = |p: &str| format!("/api/v1/professionals/{p}/secretary-groups/{group}");

    // Members must be secretaries; only coordinators of the group's center manage them.
    assert_problem(&app.put(&member(&doc.id), &coord.token, None).await, 422, "not_a_secretary");
    assert_problem(&app.put(&member(&sec.id), &doc.token, None).await, 403, "center_coordinator_required");
    assert_problem(&app.put(&affiliate(&sec.id), &coord.token, None).await, 422, "not_a_physician");

    assert_eq!(app.put(&member(&sec.id), &coord.token, None).await.status, 204);
    assert_eq!(app.put(&member(&sec.id), &coord.token, None).await.status, 204, "idempotent");
    assert_eq!(app.me(&sec).await["acting_for"], json!([]), "the group has no physician yet");
    assert_eq!(app.put(&affiliate(&doc.id), &coord.token, None).await.status, 204);
    assert_eq!(app.put(&affiliate(&doc2.id), &coord.token, None).await.status, 204);
    assert_eq!(app.put(&affiliate(&doc2.id), &coord.token, None).await.status, 204, "idempotent");
    let via = Some(group.clone());
    assert_eq!(acting_for(&app.me(&sec).await), {
        let mut v = vec![(doc.id.clone(), via.clone()), (doc2.id.clone(), via.clone())];
        v.sort();
        v
    });
    let detail = app.get(&format!("/api/v1/secretary-groups/{group}"), &sec.token).await;
    assert_eq!(detail.body["members"][0]["professional_id"], json!(sec.id));
    let of_doc = app.get(&format!("/api/v1/professionals/{}/secretaries", doc.id), &doc.token).await;
    assert_eq!(
        of_doc.body["secretaries"],
        json!([{"secretary_id": sec.id, "display_name": app.me(&sec).await["professional"]["display_name"], "via_group_id": group,
            "dates": {"valid_from": null, "valid_until": null}}])
    );
    assert_eq!(of_doc.body["groups"][0]["group_id"], json!(group));

    // A member who joins later gains the physicians at once; one who leaves loses them at once.
    let late = app.secretary("Tardif", &center).await;
    assert_eq!(app.put(&member(&late.id), &coord.token, None).await.status, 204);
    assert_eq!(acting_for(&app.me(&late).await).len(), 2);
    assert_eq!(app.delete(&member(&late.id), &coord.token).await.status, 204);
    assert_eq!(app.delete(&member(&late.id), &coord.token).await.status, 204, "idempotent");
    assert_eq!(app.me(&late).await["acting_for"], json!([]));

    // Direct and group affiliation to the same physician are two routes, both listed.
    assert_eq!(app.put(&format!("/api/v1/professionals/{}/secretaries/{}", doc.id, sec.id), &coord.token, None).await.status, 204);
    assert_eq!(acting_for(&app.me(&sec).await).len(), 3);
    assert_eq!(app.delete(&affiliate(&doc2.id), &coord.token).await.status, 204);
    assert_eq!(acting_for(&app.me(&sec).await), {
        let mut v = vec![(doc.id.clone(), None), (doc.id.clone(), via)];
        v.sort();
        v
    });
}

#[actix_rt::test]
async fn physician_secretaries_report_in_json_and_csv() {
    let World { app, center, coord, doc, sec, group } = world().await;
    let admin = app.admin().await;
    let doc2 = app.physician("Bernard", &center).await;
    let direct = app.secretary("Durand", &center).await;
    app.put(&format!("/api/v1/secretary-groups/{group}/members/{}", sec.id), &coord.token, None).await;
    app.put(&format!("/api/v1/professionals/{}/secretary-groups/{group}", doc.id), &coord.token, None).await;
    app.put(&format!("/api/v1/professionals/{}/secretaries/{}", doc2.id, direct.id), &coord.token, None).await;
    let path = format!("/api/v1/reports/physician-secretaries?cancer_center_id={center}");

    let r = app.get(&path, &coord.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rows: Vec<(String, String, Option<String>)> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["physician_id"].as_str().unwrap().to_owned(),
                row["secretary_id"].as_str().unwrap().to_owned(),
                row["via_group_name"].as_str().map(str::to_owned),
            )
        })
        .collect();
    // Bernard before Martin; Martin's secretary through the group.
    assert_eq!(
        rows,
        vec![(doc2.id.clone(), direct.id.clone(), None), (doc.id.clone(), sec.id.clone(), Some("Secrétariat oncologie".to_owned()))]
    );
    assert_eq!(app.get(&path, &admin.token).await.body, r.body);

    let csv = app.raw("GET", &path, Some(&coord.token), &[("accept", "text/csv")], Vec::new()).await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines[0], "physician_id,physician_name,rpps,secretary_id,secretary_name,via_group_id,via_group_name");
    assert_eq!(lines.len(), 3);
    assert!(lines[2].ends_with(&format!("{group},Secrétariat oncologie")), "{}", lines[2]);

    // A name that a spreadsheet would run as a formula is written as text.
    let admin_token = &admin.token;
    let evil = app
        .post("/api/v1/professionals", admin_token, json!({"family_name": "Calc", "given_name": "=SUM(1+1)", "category": "secretary"}))
        .await
        .id();
    app.put(&format!("/api/v1/professionals/{evil}/profiles/{center}/secretary"), admin_token, None).await;
    app.put(&format!("/api/v1/professionals/{}/secretaries/{evil}", doc2.id), &coord.token, None).await;
    let csv = app.raw("GET", &path, Some(&coord.token), &[("accept", "text/csv")], Vec::new()).await;
    assert!(csv.text.contains(",'=SUM(1+1) CALC"), "{}", csv.text);
    assert!(!csv.text.contains(",=SUM"), "{}", csv.text);
    app.delete(&format!("/api/v1/professionals/{}/secretaries/{evil}", doc2.id), &coord.token).await;

    // Membership changes show in the very next report.
    app.delete(&format!("/api/v1/secretary-groups/{group}/members/{}", sec.id), &coord.token).await;
    assert_eq!(app.get(&path, &coord.token).await.body["items"].as_array().unwrap().len(), 1);

    let other = app.center("3C Sud").await;
    let elsewhere = app.coordinator(&other).await;
    assert_problem(&app.get(&path, &elsewhere.token).await, 403, "center_coordinator_required");
    assert_problem(&app.get(&path, &doc.token).await, 403, "center_coordinator_required");
    assert_problem(&app.get(&path, &sec.token).await, 403, "center_coordinator_required");
    assert_problem(&app.get("/api/v1/reports/physician-secretaries?cancer_center_id=nope", &coord.token).await, 404, "not_found");
    assert_problem(&app.get("/api/v1/reports/physician-secretaries", &coord.token).await, 422, "invalid_query");
    let empty = app
        .raw(
            "GET",
            &format!("/api/v1/reports/physician-secretaries?cancer_center_id={other}"),
            Some(&elsewhere.token),
            &[("accept", "text/csv")],
            Vec::new(),
        )
        .await;
    assert_eq!(empty.text.lines().count(), 1, "an empty report still has its header");
}
