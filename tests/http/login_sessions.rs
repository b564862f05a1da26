//! Login sessions (issue 29): a login opens a session; its access tokens are honoured only while
//! it is open; its refresh token rotates on every use and a reused one ends it; logout, idle and
//! absolute timeouts (on the server's clock, moved on by the test), the user's and the
//! administrator's ends, password change and disable, cookie mode; each step audited.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::support::{Options, PASSWORD, TestApp, User, assert_problem};

/// A fresh login of `user`: its whole answer.
async fn login(app: &TestApp, user: &User) -> Value {
    let r = app.call("POST", "/api/v1/auth/login", None, Some(json!({"username": user.username, "password": PASSWORD}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn s(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_default().to_owned()
}

async fn refresh(app: &TestApp, refresh_token: &str) -> crate::support::Resp {
    app.call("POST", "/api/v1/auth/refresh", None, Some(json!({"refresh_token": refresh_token}))).await
}

/// The session events of a professional, as the administrator reads them: (action, outcome, detail).
async fn session_events(app: &TestApp, professional_id: &str) -> Vec<(String, String, String)> {
    // A fresh login: the test's clock may have moved past the administrator's first session.
    let admin = app.admin().await;
    let token = app.login(&admin.username, PASSWORD).await;
    let r = app.get(&format!("/api/v1/audit-events?actor_id={professional_id}&limit=200"), &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource_type"] == "login_session" || e["action"] == "auth.login")
        .map(|e| (s(e, "action"), s(e, "outcome"), s(e, "detail")))
        .collect()
}

#[actix_rt::test]
async fn a_refresh_rotates_the_token_and_a_reused_one_ends_the_session() {
    let app = TestApp::spawn().await;
    let center = app.center("C").await;
    let doc = app.physician("Rotation", &center).await;
    let first = login(&app, &doc).await;
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 3600);
    let refresh1 = s(&first, "refresh_token");
    // 256 random bits, hex.
    assert_eq!(refresh1.len(), 64);
    assert_eq!(app.get("/api/v1/me", &s(&first, "access_token")).await.status, 200);

    let r = refresh(&app, &refresh1).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let refresh2 = s(&r.body, "refresh_token");
    assert_ne!(refresh2, refresh1);
    assert_eq!(s(&r.body, "session_id"), s(&first, "session_id"));
    let access2 = s(&r.body, "access_token");
    assert_eq!(app.get("/api/v1/me", &access2).await.status, 200);
    // The older access token of the same session still works until it expires.
    assert_eq!(app.get("/api/v1/me", &s(&first, "access_token")).await.status, 200);

    // The first refresh token again: a reuse; the whole session ends.
    assert_problem(&refresh(&app, &refresh1).await, 401, "refresh_token_reused");
    assert_problem(&refresh(&app, &refresh2).await, 401, "invalid_refresh_token");
    assert_problem(&app.get("/api/v1/me", &access2).await, 401, "invalid_token");
    assert_problem(&refresh(&app, "not-a-token-of-ours").await, 401, "invalid_refresh_token");
    let r = app.call("POST", "/api/v1/auth/refresh", None, Some(json!({}))).await;
    assert_problem(&r, 401, "invalid_refresh_token");

    let events = session_events(&app, &doc.id).await;
    let expected = [
        ("auth.login", "allowed", "method=password"),
        ("auth.login", "allowed", "method=password"),
        ("auth.refresh", "allowed", "rotated"),
        ("auth.refresh", "denied", "refresh_token_reused"),
        ("auth.refresh", "denied", "session_ended (refresh_token_reused)"),
    ];
    let got: Vec<(&str, &str, &str)> = events.iter().map(|(a, o, d)| (a.as_str(), o.as_str(), d.as_str())).collect();
    assert_eq!(got, expected);
    // The coordinator of the physician's center sees them too.
    let coord = app.coordinator(&center).await;
    let r = app.get(&format!("/api/v1/audit-events?actor_id={}", doc.id), &coord.token).await;
    assert!(r.body["items"].as_array().unwrap().iter().any(|e| e["detail"] == "refresh_token_reused"), "{}", r.text);
    // No token in any event.
    assert!(!r.text.contains(&refresh1) && !r.text.contains(&refresh2));
}

#[actix_rt::test]
async fn logout_ends_its_session_at_once_and_no_other() {
    let app = TestApp::spawn().await;
    let center = app.center("C").await;
    let doc = app.physician("Logout", &center).await;
    let (a, b) = (login(&app, &doc).await, login(&app, &doc).await);
    let r = app.call("POST", "/api/v1/auth/logout", None, Some(json!({"refresh_token": s(&a, "refresh_token")}))).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_problem(&app.get("/api/v1/me", &s(&a, "access_token")).await, 401, "invalid_token");
    assert_problem(&refresh(&app, &s(&a, "refresh_token")).await, 401, "invalid_refresh_token");
    assert_eq!(app.get("/api/v1/me", &s(&b, "access_token")).await.status, 200);
    // On every instance at once.
    let other = app.another_instance();
    let r = app.raw_at(&other, "GET", "/api/v1/me", Some(&s(&a, "access_token")), &[], Vec::new()).await;
    assert_eq!(r.status, 401);
    // Again: nothing more to end.
    let r = app.call("POST", "/api/v1/auth/logout", None, Some(json!({"refresh_token": s(&a, "refresh_token")}))).await;
    assert_eq!(r.status, 204);
    assert!(session_events(&app, &doc.id).await.contains(&("auth.logout".to_owned(), "allowed".to_owned(), "logout".to_owned())));
}

#[actix_rt::test]
async fn idle_and_absolute_timeouts_follow_the_clock_and_background_calls_do_not_keep_a_session_alive() {
    let app = TestApp::spawn().await;
    let center = app.center("C").await;
    let doc = app.physician("Idle", &center).await;
    let minutes = |m| TimeDelta::minutes(m);

    // Idle: user requests every 25 minutes keep it open, past the 30 minutes.
    let body = login(&app, &doc).await;
    let token = s(&body, "access_token");
    for _ in 0..2 {
        app.clock.advance(minutes(25));
        assert_eq!(app.get("/api/v1/me", &token).await.status, 200);
    }
    // Background polling alone does not: 20 + 20 minutes since the last user request. (A
    // refresh first, which is no user request either: the access token lasts an hour here.)
    let r = refresh(&app, &s(&body, "refresh_token")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (token, refresh_token) = (s(&r.body, "access_token"), s(&r.body, "refresh_token"));
    let background = [("x-concerto-background", "1")];
    app.clock.advance(minutes(20));
    let r = app.raw("GET", "/api/v1/me/reports-to-send/count", Some(&token), &background, Vec::new()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.clock.advance(minutes(20));
    let r = app.raw("GET", "/api/v1/me/reports-to-send/count", Some(&token), &background, Vec::new()).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_problem(&app.get("/api/v1/me", &token).await, 401, "invalid_token");
    // Nor a refresh after the idle timeout.
    assert_problem(&refresh(&app, &refresh_token).await, 401, "invalid_refresh_token");
    assert!(session_events(&app, &doc.id).await.iter().any(|(a, o, d)| a == "auth.refresh" && o == "denied" && d.starts_with("idle")));

    // Absolute: a session kept busy still ends 10 hours after its login; the access tokens of
    // its refreshes with it.
    let body = login(&app, &doc).await;
    let (mut token, mut refresh_token) = (s(&body, "access_token"), s(&body, "refresh_token"));
    for _ in 0..23 {
        app.clock.advance(minutes(25));
        assert_eq!(app.get("/api/v1/me", &token).await.status, 200);
        let r = refresh(&app, &refresh_token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        (token, refresh_token) = (s(&r.body, "access_token"), s(&r.body, "refresh_token"));
    }
    // 23 × 25 = 575 minutes; 26 more pass the 600 (and not the idle 30).
    app.clock.advance(minutes(26));
    assert_problem(&app.get("/api/v1/me", &token).await, 401, "invalid_token");
    assert_problem(&refresh(&app, &refresh_token).await, 401, "invalid_refresh_token");

    // The access token's own lifetime follows the same clock.
    let token = s(&login(&app, &doc).await, "access_token");
    app.clock.advance(TimeDelta::seconds(3600 + 10));
    assert_problem(&app.get("/api/v1/me", &token).await, 401, "invalid_token");
}

#[actix_rt::test]
async fn sessions_are_listed_and_ended_by_their_owner_by_the_administrator_by_a_password_change_and_a_disable() {
    let app = TestApp::spawn().await;
    let center = app.center("C").await;
    let doc = app.physician("Listed", &center).await;
    let other = app.physician("Other", &center).await;
    let (a, b) = (login(&app, &doc).await, login(&app, &doc).await);
    let r = app.get("/api/v1/me/sessions", &s(&a, "access_token")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    // The support's own login, then a and b.
    assert_eq!(items.len(), 3, "{}", r.text);
    let mine = items.iter().find(|i| i["id"] == a["session_id"]).unwrap();
    assert_eq!(
        (mine["current"].as_bool(), mine["method"].as_str(), mine["client_address"].as_str()),
        (Some(true), Some("password"), Some("127.0.0.1"))
    );
    assert_eq!(items.iter().filter(|i| i["current"] == true).count(), 1);

    // The owner ends b; someone else cannot see it.
    let path = format!("/api/v1/me/sessions/{}", s(&b, "session_id"));
    assert_eq!(app.delete(&path, &other.token).await.status, 404);
    assert_eq!(app.get("/api/v1/me", &s(&b, "access_token")).await.status, 200);
    assert_eq!(app.delete(&path, &s(&a, "access_token")).await.status, 204);
    assert_problem(&app.get("/api/v1/me", &s(&b, "access_token")).await, 401, "invalid_token");
    assert_eq!(app.delete(&path, &s(&a, "access_token")).await.status, 404);
    let r = app.get("/api/v1/me/sessions", &s(&a, "access_token")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2, "{}", r.text);

    // The administrator ends them all (a and the support's login); the account stays enabled.
    let admin = app.admin().await;
    assert_eq!(app.delete(&format!("/api/v1/accounts/{}/sessions", doc.account_id), &other.token).await.status, 403);
    assert_eq!(app.delete(&format!("/api/v1/accounts/{}/sessions", doc.account_id), &admin.token).await.status, 204);
    assert_problem(&app.get("/api/v1/me", &s(&a, "access_token")).await, 401, "invalid_token");
    assert_problem(&app.get("/api/v1/me", &doc.token).await, 401, "invalid_token");
    assert_problem(&refresh(&app, &s(&a, "refresh_token")).await, 401, "invalid_refresh_token");
    assert_eq!(app.delete("/api/v1/accounts/00000000-0000-0000-0000-000000000000/sessions", &admin.token).await.status, 404);
    // Not his own all at once: that would end the session he works in.
    assert_problem(
        &app.delete(&format!("/api/v1/accounts/{}/sessions", admin.account_id), &admin.token).await,
        409,
        "cannot_end_own_sessions",
    );
    assert_eq!(app.get("/api/v1/me", &admin.token).await.status, 200);
    let r = app.get(&format!("/api/v1/audit-events?actor_id={}&limit=200", admin.id), &admin.token).await;
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "auth.session_end" && e["detail"] == "ended_by_admin: 2 session(s)"),
        "{}",
        r.text
    );

    // A password change ends every session, refresh tokens included.
    let (c, d) = (login(&app, &doc).await, login(&app, &doc).await);
    let r = app
        .post(
            "/api/v1/me/password",
            &s(&c, "access_token"),
            json!({"current_password": PASSWORD, "new_password": "another long passphrase"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_problem(&refresh(&app, &s(&d, "refresh_token")).await, 401, "invalid_refresh_token");
    assert_problem(&app.get("/api/v1/me", &s(&d, "access_token")).await, 401, "invalid_token");

    // A disable too, and enabling the account again revives none.
    let e = login(&app, &other).await;
    let patch = |active| json!({"active": active});
    assert_eq!(app.patch(&format!("/api/v1/accounts/{}", other.account_id), &admin.token, patch(false)).await.status, 200);
    assert_eq!(app.patch(&format!("/api/v1/accounts/{}", other.account_id), &admin.token, patch(true)).await.status, 200);
    assert_problem(&refresh(&app, &s(&e, "refresh_token")).await, 401, "invalid_refresh_token");
    assert_problem(&app.get("/api/v1/me", &s(&e, "access_token")).await, 401, "invalid_token");
}

#[actix_rt::test]
async fn in_cookie_mode_the_refresh_token_travels_in_a_strict_cookie_with_a_csrf_header() {
    let sessions = concerto_api::config::SessionSettings { refresh_cookie: true, ..Default::default() };
    let app = TestApp::spawn_with(Options { sessions, ..Default::default() }).await;
    let center = app.center("C").await;
    let doc = app.physician("Cookie", &center).await;
    let json_type = ("content-type", "application/json");
    let credentials = json!({"username": doc.username, "password": PASSWORD}).to_string().into_bytes();
    // A hospital system asks for nothing: the body, as without the setting.
    let r = app.raw("POST", "/api/v1/auth/login", None, &[json_type], credentials.clone()).await;
    assert!(r.body["refresh_token"].is_string() && r.header("set-cookie").is_none(), "{}", r.text);
    // A browser front end asks for the cookie.
    let r = app.raw("POST", "/api/v1/auth/login", None, &[json_type, ("x-concerto-refresh", "cookie")], credentials).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["refresh_token"].is_null(), "{}", r.text);
    let set_cookie = r.header("set-cookie").unwrap_or_default();
    for part in ["concerto_refresh=", "HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth", "Max-Age=36000"] {
        assert!(set_cookie.contains(part), "{set_cookie} lacks {part}");
    }
    let cookie = set_cookie.split(';').next().unwrap_or_default().to_owned();
    // The cookie without the header: refused (a cross-site form could send the cookie, not the header).
    let r = app.raw("POST", "/api/v1/auth/refresh", None, &[json_type, ("cookie", &cookie)], b"{}".to_vec()).await;
    assert_problem(&r, 403, "csrf_header_required");
    let with_header = [json_type, ("cookie", cookie.as_str()), ("x-concerto-refresh", "cookie")];
    let r = app.raw("POST", "/api/v1/auth/refresh", None, &with_header, b"{}".to_vec()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["refresh_token"].is_null());
    let next = r.header("set-cookie").unwrap_or_default().split(';').next().unwrap_or_default().to_owned();
    assert_ne!(next, cookie);
    assert_eq!(app.get("/api/v1/me", &s(&r.body, "access_token")).await.status, 200);
    // Logout with the cookie ends the session and removes the cookie.
    let r = app
        .raw("POST", "/api/v1/auth/logout", None, &[json_type, ("cookie", &next), ("x-concerto-refresh", "cookie")], b"{}".to_vec())
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.header("set-cookie").unwrap_or_default().contains("Max-Age=0"));
    let r = app
        .raw("POST", "/api/v1/auth/refresh", None, &[json_type, ("cookie", &next), ("x-concerto-refresh", "cookie")], b"{}".to_vec())
        .await;
    assert_problem(&r, 401, "invalid_refresh_token");
}

/// The session check costs no statement: `/me` is the rights' one statement, session included.
/// Its last activity is written at most once a minute, and never by a background call.
#[actix_rt::test]
async fn the_session_check_adds_no_statement_and_activity_is_written_once_a_minute_by_user_requests_only() {
    let app = TestApp::spawn().await;
    let center = app.center("C").await;
    let doc = app.physician("Counted", &center).await;
    let token = s(&login(&app, &doc).await, "access_token");
    let cost = |headers: &'static [(&'static str, &'static str)]| {
        let (app, token) = (&app, token.clone());
        async move {
            let before = app.statements.get();
            let r = app.raw("GET", "/api/v1/me", Some(&token), headers, Vec::new()).await;
            assert_eq!(r.status, 200, "{}", r.text);
            app.statements.get().since(before).besides_transactions()
        }
    };
    const USER: &[(&str, &str)] = &[];
    const BACKGROUND: &[(&str, &str)] = &[("x-concerto-background", "1")];
    // The rights, the session with them: one statement.
    assert_eq!(cost(USER).await, 1);
    assert_eq!(cost(USER).await, 1);
    app.clock.advance(TimeDelta::minutes(2));
    // A background call two minutes on writes nothing; a user request writes the activity once.
    assert_eq!(cost(BACKGROUND).await, 1);
    assert_eq!(cost(USER).await, 2);
    assert_eq!(cost(USER).await, 1);
    app.clock.advance(TimeDelta::seconds(50));
    assert_eq!(cost(USER).await, 1);
    app.clock.advance(TimeDelta::seconds(20));
    assert_eq!(cost(USER).await, 2);
}

/// A refresh and a logout are writes of a resource without an ETag: a foreign `If-Match` is 412
/// and nothing changes; `*` matches.
#[actix_rt::test]
async fn a_refresh_and_a_logout_refuse_a_foreign_if_match() {
    let app = TestApp::spawn().await;
    let center = app.center("C").await;
    let doc = app.physician("Matched", &center).await;
    let body = login(&app, &doc).await;
    let json_type = ("content-type", "application/json");
    let payload = json!({"refresh_token": s(&body, "refresh_token")}).to_string().into_bytes();
    for path in ["/api/v1/auth/refresh", "/api/v1/auth/logout"] {
        let r = app.raw("POST", path, None, &[json_type, ("if-match", "\"AAA\"")], payload.clone()).await;
        assert_problem(&r, 412, "precondition_failed");
    }
    // Nothing changed: the token still rotates, with `*`.
    let r = app.raw("POST", "/api/v1/auth/refresh", None, &[json_type, ("if-match", "*")], payload).await;
    assert_eq!(r.status, 200, "{}", r.text);
}
