//! Login, tokens, `/me`, probes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::support::{PASSWORD, SECRET, TestApp, assert_problem, on_postgres};

#[actix_rt::test]
async fn login_then_me() {
    let app = TestApp::spawn().await;
    let center = app.center("3C Nord").await;
    let doc = app.physician("Martin", &center).await;
    let r =
        app.call("POST", "/api/v1/auth/login", None, Some(json!({"username": doc.username.to_uppercase(), "password": PASSWORD}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3600);
    let token = r.body["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/me", token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["professional"]["id"], json!(doc.id));
    assert_eq!(me.body["is_platform_admin"], false);
    assert_eq!(me.body["profiles"], json!([{"cancer_center_id": center, "kind": "physician"}]));
    assert_eq!(me.body["modules"], json!(["agenda", "patients", "session_run", "dossiers", "directory"]));
    assert_eq!(me.body["dossier_tabs"], json!(["rcp_passages", "correspondent", "treating"]));
    assert_eq!(me.body["acting_for"], json!([]));
}

#[actix_rt::test]
async fn admin_me_and_modules() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let me = app.me(&admin).await;
    assert_eq!(me["is_platform_admin"], true);
    assert_eq!(me["modules"], json!(["directory", "administration", "reports"]));
    assert_eq!(me["dossier_tabs"], json!([]));
}

#[actix_rt::test]
async fn the_same_401_for_unknown_user_wrong_password_and_disabled_account() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let unknown = app.call("POST", "/api/v1/auth/login", None, Some(json!({"username": "nobody", "password": PASSWORD}))).await;
    let wrong = app.call("POST", "/api/v1/auth/login", None, Some(json!({"username": doc.username, "password": "wrong password!"}))).await;
    assert_problem(&unknown, 401, "invalid_credentials");
    assert_problem(&wrong, 401, "invalid_credentials");
    assert_eq!(unknown.body["detail"], wrong.body["detail"]);

    let admin = app.admin().await;
    let r = app.patch(&format!("/api/v1/accounts/{}", doc.account_id), &admin.token, json!({"active": false})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["active"], false);
    let disabled = app.call("POST", "/api/v1/auth/login", None, Some(json!({"username": doc.username, "password": PASSWORD}))).await;
    assert_problem(&disabled, 401, "invalid_credentials");
    // The token issued before is refused at once.
    assert_problem(&app.get("/api/v1/me", &doc.token).await, 401, "invalid_token");
    // Enabled again, the account logs in again, but the token of before stays revoked.
    app.patch(&format!("/api/v1/accounts/{}", doc.account_id), &admin.token, json!({"active": true})).await;
    assert_problem(&app.get("/api/v1/me", &doc.token).await, 401, "invalid_token");
    let fresh = app.login(&doc.username, PASSWORD).await;
    assert_eq!(app.get("/api/v1/me", &fresh).await.status, 200);
}

fn token(alg: Algorithm, secret: &[u8], sub: &str, sid: &str, iat: i64, exp: i64) -> String {
    claims_token(
        alg,
        secret,
        json!({"sub": sub, "iss": "concerto", "aud": "concerto-api", "iat": iat, "nbf": iat, "exp": exp, "gen": 0, "sid": sid}),
    )
}

fn claims_token(alg: Algorithm, secret: &[u8], claims: serde_json::Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), &claims, &EncodingKey::from_secret(secret)).unwrap()
}

#[actix_rt::test]
async fn expired_tampered_and_foreign_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let login = app.call("POST", "/api/v1/auth/login", None, Some(json!({"username": admin.username, "password": PASSWORD}))).await;
    let sid = login.body["session_id"].as_str().unwrap().to_owned();
    let now = chrono::Utc::now().timestamp();
    // A well-signed token for the right account works: the baseline of the cases below.
    let good = token(Algorithm::HS256, SECRET, &admin.account_id, &sid, now, now + 600);
    assert_eq!(app.get("/api/v1/me", &good).await.status, 200);

    let expired = token(Algorithm::HS256, SECRET, &admin.account_id, &sid, now - 7200, now - 3600);
    assert_problem(&app.get("/api/v1/me", &expired).await, 401, "invalid_token");
    let other_secret = token(Algorithm::HS256, b"another-secret-another-secret-another", &admin.account_id, &sid, now, now + 600);
    assert_problem(&app.get("/api/v1/me", &other_secret).await, 401, "invalid_token");
    let other_alg = token(Algorithm::HS512, SECRET, &admin.account_id, &sid, now, now + 600);
    assert_problem(&app.get("/api/v1/me", &other_alg).await, 401, "invalid_token");

    // Each registered claim is required and checked: issuer, audience, not-before, expiry,
    // issued-at, and the account's token generation.
    let base = json!({"sub": admin.account_id, "iss": "concerto", "aud": "concerto-api", "iat": now, "nbf": now, "exp": now + 600, "gen": 0, "sid": sid});
    assert_eq!(app.get("/api/v1/me", &claims_token(Algorithm::HS256, SECRET, base.clone())).await.status, 200);
    let with = |k: &str, v: serde_json::Value| {
        let mut c = base.clone();
        c[k] = v;
        claims_token(Algorithm::HS256, SECRET, c)
    };
    let without = |k: &str| {
        let mut c = base.clone();
        c.as_object_mut().unwrap().remove(k);
        claims_token(Algorithm::HS256, SECRET, c)
    };
    for bad in [
        with("iss", json!("someone-else")),
        with("aud", json!("another-service")),
        with("nbf", json!(now + 600)),
        with("gen", json!(1)),
        // Another session, or none: a token is honoured only within its open login session.
        with("sid", json!("00000000-0000-0000-0000-000000000000")),
        without("sid"),
        without("aud"),
        without("nbf"),
        without("exp"),
        without("iat"),
        without("iss"),
        without("gen"),
    ] {
        assert_problem(&app.get("/api/v1/me", &bad).await, 401, "invalid_token");
    }

    // alg "none": header and claims unsigned.
    let b64 = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(json!({"sub": admin.account_id, "iss": "concerto", "iat": now, "exp": now + 600}))
    );
    assert_problem(&app.get("/api/v1/me", &none).await, 401, "invalid_token");

    // Tampering with the payload of a good token breaks its signature.
    let mut parts: Vec<String> = admin.token.split('.').map(str::to_owned).collect();
    parts[1] = b64(json!({"sub": "someone-else", "iss": "concerto", "iat": now, "exp": now + 600}));
    assert_problem(&app.get("/api/v1/me", &parts.join(".")).await, 401, "invalid_token");

    assert_problem(&app.call("GET", "/api/v1/me", None, None).await, 401, "invalid_token");
    let r = app.raw("GET", "/api/v1/me", None, &[("Authorization", "Basic YWRtaW46YWRtaW4=")], Vec::new()).await;
    assert_problem(&r, 401, "invalid_token");
    assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer realm=\"concerto\""));
}

#[actix_rt::test]
async fn probes_answer_without_a_token() {
    let app = TestApp::spawn().await;
    let health = app.call("GET", "/healthz", None, None).await;
    assert_eq!((health.status, health.body.clone()), (200, json!({"status": "ok"})));
    let ready = app.call("GET", "/readyz", None, None).await;
    assert_eq!((ready.status, ready.body.clone()), (200, json!({"status": "ok"})));
    assert!(ready.header("x-request-id").is_some_and(|id| !id.is_empty()));
}

#[actix_rt::test]
async fn readyz_follows_the_database_down_and_back() {
    let app = TestApp::spawn().await;
    let Some((admin_url, name)) = app.postgres_db() else {
        // A SQLite file cannot be taken down under an open process: the PostgreSQL run covers this.
        assert!(!on_postgres());
        assert_eq!(app.call("GET", "/readyz", None, None).await.status, 200);
        return;
    };
    assert_eq!(app.call("GET", "/readyz", None, None).await.status, 200);
    let closing = (admin_url.clone(), name.clone());
    actix_web::web::block(move || concerto_persistence::db::set_postgres_database_open(&closing.0, &closing.1, false))
        .await
        .unwrap()
        .unwrap();
    let down = app.call("GET", "/readyz", None, None).await;
    assert_problem(&down, 503, "service_unavailable");
    actix_web::web::block(move || concerto_persistence::db::set_postgres_database_open(&admin_url, &name, true)).await.unwrap().unwrap();
    assert_eq!(app.call("GET", "/readyz", None, None).await.status, 200);
}

#[actix_rt::test]
async fn request_id_is_echoed_when_sane() {
    let app = TestApp::spawn().await;
    let r = app.raw("GET", "/healthz", None, &[("x-request-id", "abc-123")], Vec::new()).await;
    assert_eq!(r.header("x-request-id").as_deref(), Some("abc-123"));
    let r = app.raw("GET", "/healthz", None, &[("x-request-id", "bad id; drop table")], Vec::new()).await;
    assert_ne!(r.header("x-request-id").as_deref(), Some("bad id; drop table"));
}
