//! The audit trail: what is recorded, and who may read it.

use serde_json::{Value, json};

use crate::support::{TestApp, assert_problem};

fn events(body: &Value) -> Vec<(String, String, Vec<String>)> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        // Patient data only: the login sessions' events (`auth.*`) have tests of their own.
        .filter(|e| !e["action"].as_str().unwrap_or_default().starts_with("auth."))
        .map(|e| {
            let behalf = e["on_behalf_of"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
            (e["action"].as_str().unwrap().to_owned(), e["outcome"].as_str().unwrap().to_owned(), behalf)
        })
        .collect()
}

#[actix_rt::test]
async fn session_runs_are_audited_with_the_physicians_whose_rights_were_used() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let center = app.center("3C Nord").await;
    let other = app.center("3C Sud").await;
    let coord = app.coordinator(&center).await;
    let elsewhere = app.coordinator(&other).await;
    let chair = app.physician("Chair", &center).await;
    let sec = app.secretary("Sec", &center).await;
    let stranger = app.physician("Stranger", &center).await;
    app.affiliate(&coord, &chair, &sec).await;
    let rcp = app.rcp(&coord, &center, "RCP").await;
    app.member(&coord, &rcp, &chair, "animateur").await;
    let session = app.session(&coord, &rcp, 1).await;

    assert_eq!(app.get(&format!("/api/v1/sessions/{session}/run"), &sec.token).await.status, 200);
    assert_eq!(app.get(&format!("/api/v1/sessions/{session}/run"), &chair.token).await.status, 200);
    assert_problem(&app.get(&format!("/api/v1/sessions/{session}/run"), &stranger.token).await, 403, "not_animateur");

    let by_sec = app.get(&format!("/api/v1/audit-events?actor_id={}", sec.id), &admin.token).await;
    assert_eq!(events(&by_sec.body), vec![("session.run".to_owned(), "allowed".to_owned(), vec![chair.id.clone()])]);
    let run = by_sec.body["items"].as_array().unwrap().iter().find(|e| e["action"] == "session.run").cloned();
    assert_eq!(run.map(|e| e["resource_id"].clone()), Some(json!(session)));
    let by_chair = app.get(&format!("/api/v1/audit-events?actor_id={}", chair.id), &admin.token).await;
    assert_eq!(events(&by_chair.body), vec![("session.run".to_owned(), "allowed".to_owned(), vec![])]);
    let refused = app.get(&format!("/api/v1/audit-events?actor_id={}", stranger.id), &admin.token).await;
    assert_eq!(events(&refused.body), vec![("session.run".to_owned(), "denied".to_owned(), vec![])]);

    // The coordinator reads her center's trail; another center's coordinator sees none of it.
    // (Besides the logins of their centers' users, whose events are tested with the sessions.)
    assert_eq!(events(&app.get("/api/v1/audit-events?limit=200", &coord.token).await.body).len(), 3);
    assert_eq!(events(&app.get("/api/v1/audit-events?limit=200", &elsewhere.token).await.body), vec![]);
    assert_problem(&app.get("/api/v1/audit-events", &chair.token).await, 403, "center_coordinator_required");
    assert_problem(&app.get("/api/v1/audit-events", &sec.token).await, 403, "center_coordinator_required");

    // Time filters and pages.
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339().replace('+', "%2B");
    assert_eq!(app.get(&format!("/api/v1/audit-events?from={future}"), &admin.token).await.body["items"], json!([]));
    // The stranger's trail: his login, then his refused run.
    let first = app.get(&format!("/api/v1/audit-events?actor_id={}&limit=1", stranger.id), &admin.token).await;
    assert_eq!(first.body["items"][0]["action"], "auth.login");
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app.get(&format!("/api/v1/audit-events?actor_id={}&limit=1&cursor={cursor}", stranger.id), &admin.token).await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["items"][0]["action"], "session.run");
    assert_eq!(second.body["next_cursor"], json!(null));
}

#[actix_rt::test]
async fn an_rcp_manager_reads_the_report_for_his_rcps_members_only() {
    let app = TestApp::spawn().await;
    let center = app.center("3C Nord").await;
    let coord = app.coordinator(&center).await;
    let manager = app.physician("Manager", &center).await;
    let member = app.physician("Member", &center).await;
    let outsider = app.physician("Outsider", &center).await;
    let sec = app.secretary("Sec", &center).await;
    app.affiliate(&coord, &member, &sec).await;
    app.affiliate(&coord, &outsider, &sec).await;
    let rcp = app.rcp(&coord, &center, "RCP").await;
    app.member(&coord, &rcp, &member, "participant").await;
    let path = format!("/api/v1/reports/physician-secretaries?cancer_center_id={center}");
    assert_problem(&app.get(&path, &manager.token).await, 403, "center_coordinator_required");
    assert_eq!(app.put(&format!("/api/v1/rcps/{rcp}/managers/{}", manager.id), &coord.token, None).await.status, 204);
    let r = app.get(&path, &manager.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let physicians: Vec<&str> = r.body["items"].as_array().unwrap().iter().map(|row| row["physician_id"].as_str().unwrap()).collect();
    assert_eq!(physicians, vec![member.id.as_str()]);
    assert_eq!(app.get(&path, &coord.token).await.body["items"].as_array().unwrap().len(), 2);
}
