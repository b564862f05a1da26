//! RCPs, sessions, the agenda and the session run.

use serde_json::json;

use crate::support::{TestApp, assert_problem};

fn session_ids(body: &serde_json::Value) -> Vec<String> {
    body["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
}

#[actix_rt::test]
async fn rcps_members_and_managers() {
    let app = TestApp::spawn().await;
    let center = app.center("3C Nord").await;
    let other = app.center("3C Sud").await;
    let coord = app.coordinator(&center).await;
    let elsewhere = app.coordinator(&other).await;
    let doc = app.physician("Martin", &center).await;
    let sec = app.secretary("Durand", &center).await;
    let body = json!({"cancer_center_id": center, "name": "RCP digestive", "specialty": "digestive"});
    assert_problem(&app.post("/api/v1/rcps", &elsewhere.token, body.clone()).await, 403, "center_coordinator_required");
    assert_problem(&app.post("/api/v1/rcps", &doc.token, body).await, 403, "center_coordinator_required");
    let rcp = app.rcp(&coord, &center, "RCP digestive").await;

    assert_problem(
        &app.put(&format!("/api/v1/rcps/{rcp}/members/{}", sec.id), &coord.token, Some(json!({"role": "participant"}))).await,
        422,
        "not_a_physician",
    );
    assert_problem(
        &app.put(&format!("/api/v1/rcps/{rcp}/members/{}", doc.id), &elsewhere.token, Some(json!({"role": "participant"}))).await,
        403,
        "forbidden",
    );
    app.member(&coord, &rcp, &doc, "participant").await;
    app.member(&coord, &rcp, &doc, "animateur").await;
    // A manager manages members; the member is a physician who cannot change category now.
    let manager = app.physician("Bernard", &center).await;
    assert_eq!(app.put(&format!("/api/v1/rcps/{rcp}/managers/{}", manager.id), &coord.token, None).await.status, 204);
    assert_eq!(app.put(&format!("/api/v1/rcps/{rcp}/managers/{}", manager.id), &coord.token, None).await.status, 204);
    app.member(&manager, &rcp, &manager, "participant").await;
    let detail = app.get(&format!("/api/v1/rcps/{rcp}"), &sec.token).await;
    assert_eq!(detail.status, 200);
    let roles: Vec<(String, String)> = detail.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["professional_id"].as_str().unwrap().to_owned(), m["role"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(roles, vec![(manager.id.clone(), "participant".to_owned()), (doc.id.clone(), "animateur".to_owned())]);
    assert_eq!(detail.body["managers"][0]["professional_id"], json!(manager.id));
    let admin = app.admin().await;
    assert_problem(
        &app.put(&format!("/api/v1/professionals/{}/category", doc.id), &admin.token, Some(json!({"category": "other"}))).await,
        409,
        "has_affiliations",
    );

    assert_eq!(app.delete(&format!("/api/v1/rcps/{rcp}/members/{}", manager.id), &coord.token).await.status, 204);
    assert_eq!(app.delete(&format!("/api/v1/rcps/{rcp}/members/{}", manager.id), &coord.token).await.status, 204);
    assert_eq!(app.delete(&format!("/api/v1/rcps/{rcp}/managers/{}", manager.id), &coord.token).await.status, 204);
    assert_problem(
        &app.put(&format!("/api/v1/rcps/{rcp}/members/{}", doc.id), &manager.token, Some(json!({"role": "participant"}))).await,
        403,
        "forbidden",
    );
    let listed = app.get(&format!("/api/v1/rcps?cancer_center_id={center}"), &sec.token).await;
    assert_eq!(listed.body["items"][0]["id"], json!(rcp));
    assert_eq!(app.get(&format!("/api/v1/rcps?cancer_center_id={other}"), &sec.token).await.body["items"], json!([]));
    assert_problem(&app.get("/api/v1/rcps/nope", &sec.token).await, 404, "not_found");
}

#[actix_rt::test]
async fn sessions_are_scheduled_started_and_closed_by_the_right_people() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let coord = app.coordinator(&center).await;
    let chair = app.physician("Chair", &center).await;
    let member = app.physician("Member", &center).await;
    let chair_sec = app.secretary("ChairSec", &center).await;
    let rcp = app.rcp(&coord, &center, "RCP").await;
    app.member(&coord, &rcp, &chair, "animateur").await;
    app.member(&coord, &rcp, &member, "participant").await;
    app.affiliate(&coord, &chair, &chair_sec).await;

    let starts_at = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    assert_problem(
        &app.post(&format!("/api/v1/rcps/{rcp}/sessions"), &member.token, json!({"starts_at": starts_at})).await,
        403,
        "forbidden",
    );
    assert_problem(
        &app.post(&format!("/api/v1/rcps/{rcp}/sessions"), &chair_sec.token, json!({"starts_at": starts_at})).await,
        403,
        "forbidden",
    );
    let bad = json!({"starts_at": starts_at, "ends_at": "2000-01-01T00:00:00Z"});
    assert_problem(&app.post(&format!("/api/v1/rcps/{rcp}/sessions"), &chair.token, bad).await, 422, "invalid_period");
    let by_chair = app.post(&format!("/api/v1/rcps/{rcp}/sessions"), &chair.token, json!({"starts_at": starts_at})).await;
    assert_eq!(by_chair.status, 201, "{}", by_chair.text);
    assert_eq!(by_chair.body["status"], "planned");
    let session = app.session(&coord, &rcp, 1).await;
    let listed = app.get(&format!("/api/v1/rcps/{rcp}/sessions"), &member.token).await;
    assert_eq!(session_ids(&listed.body), vec![session.clone(), by_chair.id()], "by start time");

    assert_problem(&app.post(&format!("/api/v1/sessions/{session}/start"), &member.token, json!({})).await, 403, "not_animateur");
    assert_problem(&app.post(&format!("/api/v1/sessions/{session}/close"), &chair.token, json!({})).await, 409, "invalid_transition");
    let started = app.post(&format!("/api/v1/sessions/{session}/start"), &chair_sec.token, json!({})).await;
    assert_eq!((started.status, started.body["status"].clone()), (200, json!("in_progress")));
    assert_problem(&app.post(&format!("/api/v1/sessions/{session}/start"), &chair.token, json!({})).await, 409, "invalid_transition");
    let closed = app.post(&format!("/api/v1/sessions/{session}/close"), &coord.token, json!({})).await;
    assert_eq!(closed.body["status"], "closed");
    assert_problem(&app.post("/api/v1/sessions/nope/start", &coord.token, json!({})).await, 404, "not_found");
}

#[actix_rt::test]
async fn agenda_shows_the_sessions_of_my_rcps_and_of_my_physicians_on_my_center() {
    let app = TestApp::spawn().await;
    let north = app.center("3C Nord").await;
    let south = app.center("3C Sud").await;
    let coord_n = app.coordinator(&north).await;
    let coord_s = app.coordinator(&south).await;
    let doc = app.user("Petit", "physician", &[(&north, "physician"), (&south, "physician")]).await;
    let stranger = app.physician("Stranger", &north).await;
    // A secretary with a secretary profile on the north center only.
    let sec = app.secretary("Roux", &north).await;
    app.affiliate(&coord_n, &doc, &sec).await;
    let rcp_n = app.rcp(&coord_n, &north, "RCP Nord").await;
    let rcp_s = app.rcp(&coord_s, &south, "RCP Sud").await;
    app.member(&coord_n, &rcp_n, &doc, "participant").await;
    app.member(&coord_s, &rcp_s, &doc, "animateur").await;
    let s_n = app.session(&coord_n, &rcp_n, 2).await;
    let s_s = app.session(&coord_s, &rcp_s, 3).await;

    assert_eq!(session_ids(&app.get("/api/v1/agenda", &doc.token).await.body), vec![s_n.clone(), s_s.clone()]);
    // Her physician is animateur in the south, but she acts on the north center only.
    let agenda = app.get("/api/v1/agenda", &sec.token).await;
    assert_eq!(agenda.status, 200, "{}", agenda.text);
    assert_eq!(session_ids(&agenda.body), vec![s_n.clone()]);
    assert_eq!(agenda.body["items"][0]["rcp_name"], "RCP Nord");
    assert_eq!(agenda.body["items"][0]["dossiers"], json!([]));
    assert_problem(&app.get(&format!("/api/v1/sessions/{s_s}/run"), &sec.token).await, 403, "not_animateur");
    assert_eq!(app.get(&format!("/api/v1/sessions/{s_s}/run"), &doc.token).await.status, 200);
    assert_eq!(session_ids(&app.get("/api/v1/agenda", &stranger.token).await.body), Vec::<String>::new());

    // Periods: by date or time, bounded.
    let far = (chrono::Utc::now() + chrono::Duration::days(200)).date_naive();
    assert_eq!(session_ids(&app.get(&format!("/api/v1/agenda?from={far}"), &doc.token).await.body), Vec::<String>::new());
    assert_problem(&app.get("/api/v1/agenda?from=2026-01-01&to=2025-01-01", &doc.token).await, 422, "invalid_period");
    assert_problem(&app.get("/api/v1/agenda?from=yesterday", &doc.token).await, 422, "invalid_query");

    // Secretary profile added on the south center: the south RCP appears at the next request;
    // the affiliation removed: everything disappears at the next request.
    let admin = app.admin().await;
    app.put(&format!("/api/v1/professionals/{}/profiles/{south}/secretary", sec.id), &admin.token, None).await;
    assert_eq!(session_ids(&app.get("/api/v1/agenda", &sec.token).await.body), vec![s_n.clone(), s_s.clone()]);
    assert_eq!(app.get(&format!("/api/v1/sessions/{s_s}/run"), &sec.token).await.status, 200);
    app.delete(&format!("/api/v1/professionals/{}/secretaries/{}", doc.id, sec.id), &coord_n.token).await;
    assert_eq!(session_ids(&app.get("/api/v1/agenda", &sec.token).await.body), Vec::<String>::new());
    assert_problem(&app.get(&format!("/api/v1/sessions/{s_s}/run"), &sec.token).await, 403, "not_animateur");
}

#[actix_rt::test]
async fn sessions_of_one_instant_are_all_listed_page_after_page() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let coord = app.coordinator(&center).await;
    let rcp = app.rcp(&coord, &center, "RCP").await;
    // A client's start time to the nanosecond: SQLite keeps every digit, so a cursor cut to
    // microseconds would skip the sessions of its own instant.
    let starts_at = "2031-03-04T10:00:00.123456789Z";
    let mut created = Vec::new();
    for _ in 0..3 {
        let r = app.post(&format!("/api/v1/rcps/{rcp}/sessions"), &coord.token, json!({"starts_at": starts_at})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        created.push(r.id());
    }
    let mut listed = Vec::new();
    let mut path = format!("/api/v1/rcps/{rcp}/sessions?limit=1");
    loop {
        let page = app.get(&path, &coord.token).await;
        assert_eq!(page.status, 200, "{}", page.text);
        listed.extend(session_ids(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/rcps/{rcp}/sessions?limit=1&cursor={cursor}"),
            None => break,
        }
        assert!(listed.len() <= 3, "{listed:?}");
    }
    listed.sort();
    created.sort();
    assert_eq!(listed, created);
}
