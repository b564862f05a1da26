//! Authentication hardening (throttling, password change, token revocation), HTTP hygiene
//! (security headers, CORS, documents as attachments) and storage faults (PostgreSQL going
//! away under load, a SQLite store that is full or read-only).

use std::time::{Duration, Instant};

use concerto_api::config::AuthSettings;
use diesel::connection::SimpleConnection;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::{BOUNDARY, Options, PASSWORD, Resp, TestApp, assert_problem, multipart, on_postgres};

async fn login_attempt(app: &TestApp, base: &str, username: &str, password: &str, headers: &[(&str, &str)]) -> Resp {
    let body = json!({"username": username, "password": password}).to_string().into_bytes();
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    app.raw_at(base, "POST", "/api/v1/auth/login", None, &all, body).await
}

fn events(r: &Resp) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

#[actix_rt::test]
async fn five_wrong_passwords_lock_the_account_for_the_window_and_are_audited() {
    let app = TestApp::spawn().await;
    let center = app.center("3C Nord").await;
    let other_center = app.center("3C Sud").await;
    let coord = app.coordinator(&center).await;
    let coord_elsewhere = app.coordinator(&other_center).await;
    let doc = app.physician("Martin", &center).await;
    let colleague = app.physician("Bernard", &center).await;
    let base = app.base.clone();

    for _ in 0..5 {
        assert_problem(&login_attempt(&app, &base, &doc.username, "wrong password!", &[]).await, 401, "invalid_credentials");
    }
    // The sixth attempt is refused before any check, even with the right password.
    for password in ["wrong password!", PASSWORD] {
        let r = login_attempt(&app, &base, &doc.username, password, &[]).await;
        assert_problem(&r, 429, "too_many_attempts");
        let wait: i64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
        assert!((1..=900).contains(&wait), "Retry-After {wait}");
    }
    // Another account from the same address is not held back, and its success gives the
    // address its attempt back.
    app.login(&colleague.username, PASSWORD).await;
    // Tokens issued before stay valid: throttling is about guessing, not about revoking.
    assert_eq!(app.get("/api/v1/me", &doc.token).await.status, 200);

    // The coordinator of the account's center and the administrator see the refusals (5 × 401
    // and 2 × 429), without the password; a coordinator elsewhere sees none of them.
    let admin = app.admin().await;
    let query = format!("/api/v1/audit-events?actor_id={}", doc.id);
    // (The successful logins are events too, of the session they opened.)
    let denied = |events: Vec<Value>| events.into_iter().filter(|e| e["outcome"] == "denied").collect::<Vec<_>>();
    let seen = denied(events(&app.get(&query, &coord.token).await));
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert!(seen.iter().all(|e| e["action"] == "auth.login" && e["resource_id"] == json!(doc.account_id)));
    let reasons: Vec<&str> = seen.iter().map(|e| e["detail"].as_str().unwrap_or_default()).collect();
    assert_eq!(reasons, [["wrong_password"; 5].as_slice(), &["too_many_attempts"; 2]].concat());
    assert_eq!(denied(events(&app.get(&query, &admin.token).await)).len(), 7);
    assert!(events(&app.get(&query, &coord_elsewhere.token).await).is_empty());
    let everything = app.get("/api/v1/audit-events", &admin.token).await;
    assert!(!everything.text.contains("wrong password") && !everything.text.contains(PASSWORD));

    // An unknown username is throttled exactly like a real one (the 429 tells nothing about
    // which accounts exist) and audited as `anonymous`, without what was typed.
    for _ in 0..5 {
        assert_problem(&login_attempt(&app, &base, "nobody-here", "guess", &[]).await, 401, "invalid_credentials");
    }
    assert_problem(&login_attempt(&app, &base, "nobody-here", "guess", &[]).await, 429, "too_many_attempts");
    let anonymous = events(&app.get("/api/v1/audit-events?actor_id=anonymous", &admin.token).await);
    assert_eq!(anonymous.len(), 6);
    assert!(anonymous.iter().all(|e| e["resource_id"].is_null() && e["cancer_center_id"].is_null()));
    assert!(!app.get("/api/v1/audit-events", &admin.token).await.text.contains("nobody-here"));
}

#[actix_rt::test]
async fn parallel_guesses_never_get_past_the_limit() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let base = app.base.clone();
    let answers = join_all((0..24).map(|_| login_attempt(&app, &base, &doc.username, "wrong password!", &[]))).await;
    let refused = answers.iter().filter(|r| r.status == 401).count();
    let throttled = answers.iter().filter(|r| r.status == 429).count();
    assert_eq!((refused, throttled), (5, 19), "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
}

#[actix_rt::test]
async fn the_counters_are_shared_by_every_instance_on_the_database() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    // A second instance (its own pool, its own process state) on the same database: attempts
    // spread across both count together, as behind a load balancer or after a restart.
    let second = app.another_instance();
    for i in 0..5 {
        let base = if i % 2 == 0 { app.base.clone() } else { second.clone() };
        assert_problem(&login_attempt(&app, &base, &doc.username, "wrong password!", &[]).await, 401, "invalid_credentials");
    }
    assert_problem(&login_attempt(&app, &second, &doc.username, PASSWORD, &[]).await, 429, "too_many_attempts");
    assert_problem(&login_attempt(&app, &app.base, &doc.username, PASSWORD, &[]).await, 429, "too_many_attempts");
}

#[actix_rt::test]
async fn the_address_limit_reads_x_forwarded_for_only_from_trusted_proxies() {
    let auth = AuthSettings { max_per_address: 3, trusted_proxies: vec!["127.0.0.1".parse().unwrap()], ..AuthSettings::default() };
    let app = TestApp::spawn_with(Options { auth, ..Options::default() }).await;
    let base = app.base.clone();
    // Behind the trusted proxy, the client is the address the proxy appended (the rightmost);
    // what the client wrote itself further left is ignored.
    for user in ["a", "b", "c"] {
        let r = login_attempt(&app, &base, user, "guess", &[("x-forwarded-for", "6.6.6.6, 203.0.113.7")]).await;
        assert_problem(&r, 401, "invalid_credentials");
    }
    let r = login_attempt(&app, &base, "d", "guess", &[("x-forwarded-for", "1.2.3.4, 203.0.113.7")]).await;
    assert_problem(&r, 429, "too_many_attempts");
    // Another client behind the same proxy has attempts of its own.
    let r = login_attempt(&app, &base, "e", "guess", &[("x-forwarded-for", "203.0.113.8")]).await;
    assert_problem(&r, 401, "invalid_credentials");

    // Without a trusted proxy, the header is the client's word and counts for nothing: every
    // attempt is the peer's.
    let app =
        TestApp::spawn_with(Options { auth: AuthSettings { max_per_address: 3, ..AuthSettings::default() }, ..Options::default() }).await;
    let base = app.base.clone();
    for (i, user) in ["a", "b", "c"].iter().enumerate() {
        let forwarded = format!("198.51.100.{i}");
        assert_problem(&login_attempt(&app, &base, user, "guess", &[("x-forwarded-for", &forwarded)]).await, 401, "invalid_credentials");
    }
    let r = login_attempt(&app, &base, "d", "guess", &[("x-forwarded-for", "198.51.100.9")]).await;
    assert_problem(&r, 429, "too_many_attempts");
}

#[actix_rt::test]
async fn a_password_change_needs_the_current_password_and_revokes_every_earlier_token() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let coord = app.coordinator(&center).await;
    let doc = app.physician("Martin", &center).await;
    let earlier = app.login(&doc.username, PASSWORD).await;
    let new_password = "a brand new passphrase";

    let r = app.post("/api/v1/me/password", &doc.token, json!({"current_password": PASSWORD, "new_password": "too short"})).await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "new_password");
    let r = app.post("/api/v1/me/password", &doc.token, json!({"current_password": "not it at all", "new_password": new_password})).await;
    assert_problem(&r, 403, "wrong_password");
    let refused: Vec<Value> = events(&app.get(&format!("/api/v1/audit-events?actor_id={}", doc.id), &coord.token).await)
        .into_iter()
        .filter(|e| e["outcome"] == "denied")
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!((&refused[0]["action"], &refused[0]["outcome"]), (&json!("auth.password_change"), &json!("denied")));
    // Nothing changed: the old password and the tokens still work.
    assert_eq!(app.get("/api/v1/me", &doc.token).await.status, 200);

    // A token issued in the very second of the change is revoked too: the token carries the
    // account's generation, not a time.
    let just_before = app.login(&doc.username, PASSWORD).await;
    let r = app.post("/api/v1/me/password", &doc.token, json!({"current_password": PASSWORD, "new_password": new_password})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    for token in [&doc.token, &earlier, &just_before] {
        assert_problem(&app.get("/api/v1/me", token).await, 401, "invalid_token");
    }
    let base = app.base.clone();
    assert_problem(&login_attempt(&app, &base, &doc.username, PASSWORD, &[]).await, 401, "invalid_credentials");
    let fresh = app.login(&doc.username, new_password).await;
    assert_eq!(app.get("/api/v1/me", &fresh).await.status, 200);
}

#[actix_rt::test]
async fn wrong_current_passwords_are_throttled_like_logins() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let change = json!({"current_password": "a guess, again", "new_password": "a brand new passphrase"});
    for _ in 0..5 {
        assert_problem(&app.post("/api/v1/me/password", &doc.token, change.clone()).await, 403, "wrong_password");
    }
    let r =
        app.post("/api/v1/me/password", &doc.token, json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"})).await;
    assert_problem(&r, 429, "too_many_attempts");
    assert!(r.header("retry-after").is_some());
    // The same counter guards the login of that account.
    let base = app.base.clone();
    assert_problem(&login_attempt(&app, &base, &doc.username, PASSWORD, &[]).await, 429, "too_many_attempts");
}

#[actix_rt::test]
async fn every_answer_carries_no_store_and_nosniff_and_documents_are_attachments() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let patient = app.patient(&doc, "Dupont", Some(&doc), &[]).await;
    let body = multipart(&[
        ("metadata", Some("application/json"), br#"{"title": "CR Dupont", "kind": "report", "document_date": "2026-11-02"}"#),
        ("file", Some("text/plain"), b"compte rendu"),
    ]);
    let r = app
        .raw(
            "POST",
            &format!("/api/v1/patients/{patient}/documents"),
            Some(&doc.token),
            &[("content-type", &format!("multipart/form-data; boundary={BOUNDARY}"))],
            body,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let document = r.id();

    let answers = [
        app.get("/api/v1/me", &doc.token).await,
        app.get(&format!("/api/v1/patients/{patient}"), &doc.token).await,
        app.get(&format!("/api/v1/documents/{document}/content"), &doc.token).await,
        app.call("GET", "/api/v1/me", None, None).await,
        app.call("GET", "/api/v1/nothing-here", None, None).await,
        app.call("GET", "/healthz", None, None).await,
        app.call("POST", "/api/v1/auth/login", None, Some(json!({"username": doc.username, "password": PASSWORD}))).await,
    ];
    for r in &answers {
        assert_eq!(r.header("cache-control").as_deref(), Some("no-store"), "{} {}", r.status, r.text);
        assert_eq!(r.header("x-content-type-options").as_deref(), Some("nosniff"));
    }
    let content = &answers[2];
    assert_eq!(content.status, 200);
    assert_eq!(content.header("content-type").as_deref(), Some("text/plain; charset=utf-8"));
    // Named after the id, never the title (which names the patient here).
    assert_eq!(content.header("content-disposition"), Some(format!("attachment; filename=\"{document}.txt\"")));
}

#[actix_rt::test]
async fn cors_is_closed_by_default_and_open_to_the_listed_origins_only() {
    let preflight = [("origin", "https://dcc.example.org"), ("access-control-request-method", "GET")];
    let app = TestApp::spawn().await;
    let r = app.raw("GET", "/healthz", None, &[("origin", "https://dcc.example.org")], Vec::new()).await;
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = app.raw("OPTIONS", "/api/v1/me", None, &preflight, Vec::new()).await;
    assert_eq!(r.header("access-control-allow-origin"), None);

    let app = TestApp::spawn_with(Options { cors_origins: vec!["https://dcc.example.org".into()], ..Options::default() }).await;
    let r = app.raw("OPTIONS", "/api/v1/me", None, &preflight, Vec::new()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("access-control-allow-origin").as_deref(), Some("https://dcc.example.org"));
    assert!(r.header("access-control-allow-headers").is_some_and(|h| h.to_lowercase().contains("authorization")));
    let r = app.raw("GET", "/healthz", None, &[("origin", "https://dcc.example.org")], Vec::new()).await;
    assert_eq!(r.header("access-control-allow-origin").as_deref(), Some("https://dcc.example.org"));
    let r = app.raw("GET", "/healthz", None, &[("origin", "https://evil.example.com")], Vec::new()).await;
    assert_eq!(r.header("access-control-allow-origin"), None);
}

/// Runs `sql` on every connection of the test server's pool (all of them are held at once, so
/// each is a different one).
fn on_every_connection(app: &TestApp, sql: &str) {
    let mut held: Vec<_> = (0..app.pool.max_size()).map(|_| app.pool.get().unwrap()).collect();
    for conn in &mut held {
        conn.batch_execute(sql).unwrap();
    }
    // The read trail is a file of its own, with its own connection: on a full or read-only
    // disk it cannot grow either.
    concerto_persistence::db::on_read_trail(&mut held[0], |trail| Ok(trail.batch_execute(sql)?)).unwrap();
}

#[actix_rt::test]
async fn a_full_or_read_only_sqlite_store_answers_507_and_keeps_nothing_half_written() {
    let app = TestApp::spawn().await;
    if on_postgres() {
        // The PostgreSQL run covers the outage below; disk-full drills are SQLite's.
        return;
    }
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let patient = app.patient(&doc, "Dupont", Some(&doc), &[]).await;
    let admin = app.admin().await;
    let audit_count = |r: Resp| events(&r).len();
    let before = audit_count(app.get(&format!("/api/v1/audit-events?patient_id={patient}&limit=200"), &admin.token).await);

    // Disk full: the database may not grow by a single page, and a document needs many.
    on_every_connection(&app, "PRAGMA max_page_count = 1;");
    let upload = |bytes: Vec<u8>| {
        let body = multipart(&[
            ("metadata", Some("application/json"), br#"{"title": "scan", "kind": "imaging", "document_date": "2026-11-02"}"#),
            ("file", Some("text/plain"), &bytes),
        ]);
        let path = format!("/api/v1/patients/{patient}/documents");
        let token = doc.token.clone();
        let app = &app;
        async move {
            app.raw("POST", &path, Some(&token), &[("content-type", &format!("multipart/form-data; boundary={BOUNDARY}"))], body).await
        }
    };
    let r = upload(vec![b'x'; 512 * 1024]).await;
    assert_problem(&r, 507, "insufficient_storage");
    assert!(!r.text.contains("disk is full"), "the cause stays in the log: {}", r.text);

    // Read-only: every write is refused, reads that must be audited too (nothing is shown
    // that is not audited).
    on_every_connection(&app, "PRAGMA max_page_count = 1073741823; PRAGMA query_only = ON;");
    assert_problem(&upload(b"small".to_vec()).await, 507, "insufficient_storage");
    assert_problem(&app.get(&format!("/api/v1/patients/{patient}"), &doc.token).await, 507, "insufficient_storage");
    assert_eq!(app.call("GET", "/readyz", None, None).await.status, 200, "reads still work");

    // Back to normal: nothing of the refused work is there, and writing works again.
    on_every_connection(&app, "PRAGMA query_only = OFF;");
    let docs = app.get(&format!("/api/v1/patients/{patient}/documents"), &doc.token).await;
    assert_eq!(docs.status, 200, "{}", docs.text);
    assert_eq!(docs.body["items"], json!([]));
    let after = audit_count(app.get(&format!("/api/v1/audit-events?patient_id={patient}&limit=200"), &admin.token).await);
    // The listing just made is the only new event; the refused attempts left none or a denied one each.
    assert!(after <= before + 1 + 3, "before {before}, after {after}");
    assert_eq!(upload(b"small".to_vec()).await.status, 201);
}

#[actix_rt::test]
async fn postgres_going_away_under_load_answers_503_fast_and_service_resumes_alone() {
    let app = TestApp::spawn().await;
    let Some((admin_url, name)) = app.postgres_db() else {
        assert!(!on_postgres());
        return;
    };
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let patient = app.patient(&doc, "Dupont", Some(&doc), &[]).await;
    let paths = [format!("/api/v1/patients/{patient}"), "/api/v1/me".to_owned()];
    let burst = |n: usize| {
        let (app, paths, token) = (&app, &paths, doc.token.clone());
        join_all((0..n).map(move |i| {
            let (path, token) = (paths[i % 2].clone(), token.clone());
            async move {
                let started = Instant::now();
                let r = app.get(&path, &token).await;
                (r, started.elapsed())
            }
        }))
    };
    assert!(burst(16).await.iter().all(|(r, _)| r.status == 200));

    // The database closes while a burst is in flight: every answer is a 200 or a 503 problem.
    let close = {
        let (admin_url, name) = (admin_url.clone(), name.clone());
        actix_web::web::block(move || concerto_persistence::db::set_postgres_database_open(&admin_url, &name, false))
    };
    let (during, closed) = futures_util::future::join(burst(48), close).await;
    closed.unwrap().unwrap();
    for (r, _) in &during {
        assert!(r.status == 200 || (r.status == 503 && r.code() == "service_unavailable"), "{} {}", r.status, r.text);
    }
    // While it is down: 503 within the pool timeout (2 s) plus scheduling, never a hang or a 500.
    let down = burst(48).await;
    let slowest = down.iter().map(|(_, t)| *t).max().unwrap_or_default();
    for (r, _) in &down {
        assert_problem(r, 503, "service_unavailable");
    }
    assert!(slowest < Duration::from_secs(10), "slowest 503 took {slowest:?}");
    assert_problem(&app.call("GET", "/readyz", None, None).await, 503, "service_unavailable");
    eprintln!("postgres outage: {} requests answered 503, slowest in {slowest:?}", down.len());

    // Back: the pool reconnects by itself, no restart.
    actix_web::web::block(move || concerto_persistence::db::set_postgres_database_open(&admin_url, &name, true)).await.unwrap().unwrap();
    assert_eq!(app.call("GET", "/readyz", None, None).await.status, 200);
    let after = burst(48).await;
    assert!(after.iter().all(|(r, _)| r.status == 200), "{:?}", after.iter().map(|(r, _)| r.status).collect::<Vec<_>>());
}

#[actix_rt::test]
async fn an_upload_announced_larger_than_allowed_is_refused_before_its_body_is_read() {
    use std::io::{Read, Write};
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let patient = app.patient(&doc, "Dupont", Some(&doc), &[]).await;
    let mut stream = std::net::TcpStream::connect(app.base.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // 50 MiB announced, not one byte sent: the answer comes at once, from the headers alone.
    write!(
        stream,
        "POST /api/v1/patients/{patient}/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        doc.token,
        50 * 1024 * 1024
    )
    .unwrap();
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("document_too_large"), "{answer}");
}

#[actix_rt::test]
async fn clients_sending_their_bodies_slowly_hold_no_database_connection() {
    use std::io::Write;
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    // Twice the test pool's four connections: writes whose headers came, whose bodies do not.
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let mut stream = std::net::TcpStream::connect(app.base.trim_start_matches("http://")).unwrap();
        write!(
            stream,
            "POST /api/v1/patients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"family_name\":",
            doc.token
        )
        .unwrap();
        stalled.push(stream);
    }
    // Their rights are read meanwhile; then every other request still finds a connection.
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..3 {
        let r = app.get("/api/v1/me", &doc.token).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    drop(stalled);
}
