//! Delegations with dates (holiday cover) and their history.

use serde_json::json;

use crate::support::{TestApp, User, assert_problem};

fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339()
}

async fn acting_for(app: &TestApp, secretary: &User) -> Vec<serde_json::Value> {
    app.me(secretary).await["acting_for"].as_array().unwrap().clone()
}

/// A center with a coordinator, a physician and a secretary, and a physician and secretary of
/// another center.
struct World {
    app: TestApp,
    center: String,
    coord: User,
    doc: User,
    sec: User,
    far_sec: User,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let center = app.center("3C Nord").await;
    let other = app.center("3C Sud").await;
    let coord = app.coordinator(&center).await;
    let doc = app.physician("Bernard", &center).await;
    let sec = app.secretary("Roux", &center).await;
    let far_sec = app.secretary("Loin", &other).await;
    World { app, center, coord, doc, sec, far_sec }
}

#[actix_rt::test]
async fn a_physician_grants_a_holiday_cover_that_ends_by_itself_and_may_end_it_at_once() {
    let World { app, center, doc, sec, far_sec, coord } = world().await;
    let path = format!("/api/v1/professionals/{}/secretaries/{}", doc.id, sec.id);
    // His own delegation must end; to a secretary of his centers only.
    assert_problem(&app.put(&path, &doc.token, None).await, 422, "valid_until_required");
    let cover = json!({"valid_until": in_days(7)});
    let far = format!("/api/v1/professionals/{}/secretaries/{}", doc.id, far_sec.id);
    assert_problem(&app.put(&far, &doc.token, Some(cover.clone())).await, 403, "center_coordinator_required");
    assert_problem(&app.put(&path, &doc.token, Some(json!({"valid_until": in_days(-1)}))).await, 422, "invalid_period");
    assert_problem(
        &app.put(&path, &doc.token, Some(json!({"valid_from": in_days(3), "valid_until": in_days(2)}))).await,
        422,
        "invalid_period",
    );
    assert_problem(&app.put(&path, &doc.token, Some(json!({"valid_untill": in_days(2)}))).await, 422, "validation_failed");
    assert_eq!(app.put(&path, &doc.token, Some(cover)).await.status, 204);
    let held = acting_for(&app, &sec).await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["physician_id"], json!(doc.id));
    assert!(held[0]["dates"]["valid_until"].is_string(), "{held:?}");
    // He sees his delegations with their dates, and ends one at once.
    let mine = app.get(&format!("/api/v1/professionals/{}/secretaries", doc.id), &doc.token).await;
    assert!(mine.body["secretaries"][0]["dates"]["valid_until"].is_string(), "{}", mine.text);
    assert_eq!(app.delete(&path, &doc.token).await.status, 204);
    assert!(acting_for(&app, &sec).await.is_empty());
    // Another physician may not end it for him.
    assert_eq!(app.put(&path, &coord.token, None).await.status, 204);
    let other = app.physician("Autre", &center).await;
    assert_problem(&app.delete(&path, &other.token).await, 403, "center_coordinator_required");
}

#[actix_rt::test]
async fn a_delegation_grants_nothing_before_it_starts() {
    let World { app, center, coord, doc, sec, .. } = world().await;
    let rcp = app.rcp(&coord, &center, "RCP").await;
    app.member(&coord, &rcp, &doc, "animateur").await;
    let session = app.session(&coord, &rcp, 2).await;
    let path = format!("/api/v1/professionals/{}/secretaries/{}", doc.id, sec.id);
    let later = json!({"valid_from": in_days(1)});
    assert_eq!(app.put(&path, &coord.token, Some(later)).await.status, 204);
    assert!(acting_for(&app, &sec).await.is_empty());
    assert_eq!(app.get("/api/v1/agenda", &sec.token).await.body["items"], json!([]));
    assert_problem(&app.get(&format!("/api/v1/sessions/{session}/run"), &sec.token).await, 403, "not_animateur");
    // Re-granted without dates: at once.
    assert_eq!(app.put(&path, &coord.token, Some(json!({}))).await.status, 204);
    assert_eq!(app.get(&format!("/api/v1/sessions/{session}/run"), &sec.token).await.status, 200);
    // A group's delegation follows its dates too.
    let group = app.post("/api/v1/secretary-groups", &coord.token, json!({"cancer_center_id": center, "name": "G"})).await.id();
    let member = app.secretary("Membre", &center).await;
    assert_eq!(app.put(&format!("/api/v1/secretary-groups/{group}/members/{}", member.id), &coord.token, None).await.status, 204);
    let via = format!("/api/v1/professionals/{}/secretary-groups/{group}", doc.id);
    assert_eq!(app.put(&via, &coord.token, Some(json!({"valid_from": in_days(1)}))).await.status, 204);
    assert!(acting_for(&app, &member).await.is_empty());
    assert_eq!(app.put(&via, &coord.token, Some(json!({"valid_until": in_days(1)}))).await.status, 204);
    assert_eq!(acting_for(&app, &member).await.len(), 1);
}

#[actix_rt::test]
async fn the_history_says_who_held_his_rights_at_an_instant() {
    let World { app, center, coord, doc, sec, .. } = world().await;
    let before = chrono::Utc::now();
    tokio_sleep().await;
    let path = format!("/api/v1/professionals/{}/secretaries/{}", doc.id, sec.id);
    assert_eq!(app.put(&path, &coord.token, None).await.status, 204);
    let group = app.post("/api/v1/secretary-groups", &coord.token, json!({"cancer_center_id": center, "name": "G"})).await.id();
    let member = app.secretary("Membre", &center).await;
    assert_eq!(app.put(&format!("/api/v1/secretary-groups/{group}/members/{}", member.id), &coord.token, None).await.status, 204);
    assert_eq!(app.put(&format!("/api/v1/professionals/{}/secretary-groups/{group}", doc.id), &coord.token, None).await.status, 204);
    tokio_sleep().await;
    let both = chrono::Utc::now();
    tokio_sleep().await;
    assert_eq!(app.delete(&path, &coord.token).await.status, 204);
    // The member's secretary profile is removed: she holds nothing any more.
    let admin = app.admin().await;
    let profile = format!("/api/v1/professionals/{}/profiles/{center}/secretary", member.id);
    assert_eq!(app.delete(&profile, &admin.token).await.status, 204);

    let history = |at: Option<chrono::DateTime<chrono::Utc>>| {
        let query = at.map(|t| format!("?at={}", urlencode(&t.to_rfc3339()))).unwrap_or_default();
        format!("/api/v1/professionals/{}/delegation-history{query}", doc.id)
    };
    let all = app.get(&history(None), &doc.token).await;
    assert_eq!(all.status, 200, "{}", all.text);
    let kinds: Vec<(String, String)> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["action"].as_str().unwrap().to_owned()))
        .collect();
    for expected in [
        ("affiliation", "granted"),
        ("group_membership", "granted"),
        ("group_affiliation", "granted"),
        ("affiliation", "ended"),
        ("profile", "ended"),
    ] {
        assert!(kinds.contains(&(expected.0.to_owned(), expected.1.to_owned())), "{expected:?} missing: {kinds:?}");
    }
    let holders = |r: &crate::support::Resp| -> Vec<(String, Option<String>)> {
        r.body["holders_at"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["secretary_id"].as_str().unwrap().to_owned(), h["via_group_id"].as_str().map(str::to_owned)))
            .collect()
    };
    assert!(holders(&app.get(&history(Some(before)), &coord.token).await).is_empty());
    let mut expected = vec![(sec.id.clone(), None), (member.id.clone(), Some(group.clone()))];
    expected.sort();
    let mut then = holders(&app.get(&history(Some(both)), &coord.token).await);
    then.sort();
    assert_eq!(then, expected);
    assert!(holders(&app.get(&history(Some(chrono::Utc::now())), &admin.token).await).is_empty());
    // Nobody else reads it.
    assert_problem(&app.get(&history(None), &sec.token).await, 403, "center_coordinator_required");
}

/// Timestamps are kept to the microsecond: a short pause separates "before" from "after".
async fn tokio_sleep() {
    actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[actix_rt::test]
async fn a_delegation_is_given_in_days_of_the_platforms_time_zone() {
    let World { app, coord, doc, sec, .. } = world().await;
    let path = format!("/api/v1/professionals/{}/secretaries/{}", doc.id, sec.id);
    // Winter in Paris (UTC+1): from the 10th at 00:00 through the end of the 20th.
    let r = app.put(&path, &coord.token, Some(json!({"valid_from": "2030-03-10", "valid_until": "2030-03-20"}))).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let mine = app.get(&format!("/api/v1/professionals/{}/secretaries", doc.id), &doc.token).await;
    let dates = &mine.body["secretaries"][0]["dates"];
    assert_eq!(dates["valid_from"], "2030-03-09T23:00:00Z", "{}", mine.text);
    assert_eq!(dates["valid_until"], "2030-03-20T23:00:00Z", "{}", mine.text);
    // `?at=` in the future answers who will hold his rights as the delegations stand.
    let history = format!("/api/v1/professionals/{}/delegation-history", doc.id);
    let holders = |at: &str| format!("{history}?at={at}");
    let during = app.get(&holders("2030-03-20T22:59:59Z"), &coord.token).await;
    assert_eq!(during.body["holders_at"][0]["secretary_id"], json!(sec.id), "{}", during.text);
    assert_eq!(app.get(&holders("2030-03-20T23:00:00Z"), &coord.token).await.body["holders_at"], json!([]));
    assert_eq!(app.get(&holders("2030-03-09T22:59:59Z"), &coord.token).await.body["holders_at"], json!([]));
    // Summer (UTC+2), one day from a day to the same day; an instant to the same instant is empty.
    let r = app.put(&path, &coord.token, Some(json!({"valid_from": "2030-07-14", "valid_until": "2030-07-14"}))).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let mine = app.get(&format!("/api/v1/professionals/{}/secretaries", doc.id), &doc.token).await;
    let dates = &mine.body["secretaries"][0]["dates"];
    assert_eq!((dates["valid_from"].as_str(), dates["valid_until"].as_str()), (Some("2030-07-13T22:00:00Z"), Some("2030-07-14T22:00:00Z")));
    let same = json!({"valid_from": "2030-07-14T10:00:00Z", "valid_until": "2030-07-14T12:00:00+02:00"});
    assert_problem(&app.put(&path, &coord.token, Some(same)).await, 422, "invalid_period");
    let r = app.put(&path, &coord.token, Some(json!({"valid_until": "14/07/2030"}))).await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "valid_until", "{}", r.text);
}

#[actix_rt::test]
async fn the_delegation_bodies_are_judged_like_every_json_body() {
    let World { app, center, coord, doc, sec, .. } = world().await;
    let group = app.post("/api/v1/secretary-groups", &coord.token, json!({"cancer_center_id": center, "name": "G"})).await;
    assert_eq!(group.status, 201, "{}", group.text);
    for path in [
        format!("/api/v1/professionals/{}/secretaries/{}", doc.id, sec.id),
        format!("/api/v1/professionals/{}/secretary-groups/{}", doc.id, group.id()),
    ] {
        let send = |content_type: &'static str, body: &'static str| {
            let (app, path, token) = (&app, path.clone(), coord.token.clone());
            async move { app.raw("PUT", &path, Some(&token), &[("content-type", content_type)], body.as_bytes().to_vec()).await }
        };
        assert_problem(&send("application/json", "{\"valid_until\": ").await, 400, "malformed_json");
        assert_problem(&send("application/x-www-form-urlencoded", "valid_until=2030-01-01").await, 415, "unsupported_media_type");
        assert_problem(&send("text/plain", "{\"valid_until\": \"2030-01-01\"}").await, 415, "unsupported_media_type");
        let r = send("application/json", "{\"valid_from\": 3}").await;
        assert_problem(&r, 422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "valid_from", "{}", r.text);
    }
}
