//! Pro Santé Connect login against a real OpenID provider started on the loopback:
//! `oidc-provider-mock` 0.3.4 (PyPI), installed by the Makefile into `.venv/`. A test sets the
//! claims of a user (`PUT /users/{sub}`: they go into the ID token, overriding the standard
//! ones, and into the userinfo), starts the login at Concerto, "logs in" at the provider as
//! that user (its form, `POST` with `sub`), and hands Concerto the callback the browser would.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use concerto_api::oidc::OidcSettings;
use serde_json::{Value, json};

use crate::support::{Options, PASSWORD, Resp, TestApp, assert_problem};

const CLIENT_ID: &str = "concerto-test";
const REDIRECT: &str = "http://localhost/api/v1/auth/oidc/callback";

/// The provider, stopped with the test.
struct Provider {
    child: Child,
    base: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the provider on a free loopback port; `None` (with a loud message) only when the
/// venv lacks it and `CI` is not set: in CI a missing provider fails the test.
async fn provider(app_for_polling: &TestApp) -> Option<Provider> {
    let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/oidc-provider-mock");
    if !std::path::Path::new(bin).exists() {
        assert!(std::env::var_os("CI").is_none(), "{bin} is missing: `make .venv/.installed` installs it (fuzz/requirements.txt)");
        eprintln!("\n!!!!! SKIPPED: {bin} is missing; run `make .venv/.installed` to test the Pro Santé Connect login !!!!!\n");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start oidc-provider-mock");
    let provider = Provider { child, base: format!("http://127.0.0.1:{port}") };
    let started = Instant::now();
    loop {
        let r = app_for_polling.try_raw_at(&provider.base, "GET", "/.well-known/openid-configuration", None, &[], vec![]).await;
        if r.is_some_and(|r| r.status == 200) {
            return Some(provider);
        }
        assert!(started.elapsed() < Duration::from_secs(30), "oidc-provider-mock did not answer on {}", provider.base);
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

fn settings(provider: &Provider) -> OidcSettings {
    OidcSettings {
        discovery_url: format!("{}/.well-known/openid-configuration", provider.base),
        client_id: CLIENT_ID.to_owned(),
        client_secret: "test-client-secret".to_owned(),
        redirect_url: REDIRECT.to_owned(),
        scopes: concerto_api::oidc::DEFAULT_SCOPES.to_owned(),
        required_acr: "eidas1".to_owned(),
        key_refetch_after: concerto_api::oidc::REFETCH_AFTER,
    }
}

/// A server with the login pointed at a fresh provider (`required_acr` as given).
async fn world(required_acr: &str) -> Option<(TestApp, Provider)> {
    let probe = TestApp::spawn().await;
    let provider = provider(&probe).await?;
    drop(probe);
    let mut oidc = settings(&provider);
    oidc.required_acr = required_acr.to_owned();
    let app = TestApp::spawn_with(Options { oidc: Some(oidc), ..Options::default() }).await;
    Some((app, provider))
}

/// An RPPS with its Luhn check digit: `n` makes it distinct.
fn rpps(n: u32) -> String {
    let base = format!("1{n:09}");
    for check in 0..10 {
        let candidate = format!("{base}{check}");
        if concerto_domain::professional::luhn_valid(&candidate) {
            return candidate;
        }
    }
    unreachable!()
}

/// A professional with this RPPS and an account: (professional id, account id).
async fn professional(app: &TestApp, rpps: &str, username: &str) -> (String, String) {
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/professionals",
            &admin.token,
            json!({"family_name": "Psc", "given_name": "Doc", "rpps": rpps, "category": "physician"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.id();
    let r = app.post("/api/v1/accounts", &admin.token, json!({"professional_id": id, "username": username, "password": PASSWORD})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (id, r.id())
}

/// Sets the claims of `sub` at the provider.
async fn set_user(app: &TestApp, provider: &Provider, sub: &str, claims: Value) {
    let r = app
        .raw_at(
            &provider.base,
            "PUT",
            &format!("/users/{sub}"),
            None,
            &[("content-type", "application/json")],
            claims.to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
}

/// The query Concerto's callback receives after `sub` logs in at the provider.
async fn authorize(app: &TestApp, sub: &str) -> String {
    let r = app.call("GET", "/api/v1/auth/oidc/start", None, None).await;
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.header("location").expect("Location");
    let r = app
        .raw_at("", "POST", &location, None, &[("content-type", "application/x-www-form-urlencoded")], format!("sub={sub}").into_bytes())
        .await;
    assert_eq!(r.status, 302, "the provider's consent: {}", r.text);
    let back = r.header("location").expect("redirect back");
    assert!(back.starts_with(REDIRECT), "{back}");
    back.split_once('?').expect("query").1.to_owned()
}

async fn callback(app: &TestApp, query: &str) -> Resp {
    app.call("GET", &format!("/api/v1/auth/oidc/callback?{query}"), None, None).await
}

/// The whole login of `sub` with `claims`.
async fn login(app: &TestApp, provider: &Provider, sub: &str, claims: Value) -> Resp {
    set_user(app, provider, sub, claims).await;
    let query = authorize(app, sub).await;
    callback(app, &query).await
}

fn claims(rpps: &str) -> Value {
    json!({"SubjectNameID": format!("8{rpps}"), "acr": "eidas1"})
}

fn refused(r: &Resp, reason: &str) {
    assert_problem(r, 401, "oidc_refused");
    assert!(r.body["detail"].as_str().unwrap_or("").contains(reason), "expected {reason}: {}", r.text);
}

#[actix_rt::test]
async fn start_redirects_with_pkce_state_nonce_and_acr() {
    let Some((app, provider)) = world("eidas1").await else { return };
    let r = app.call("GET", "/api/v1/auth/oidc/start", None, None).await;
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.header("location").unwrap();
    assert!(location.starts_with(&format!("{}/oauth2/authorize?", provider.base)), "{location}");
    for part in [
        "response_type=code",
        "code_challenge_method=S256",
        "code_challenge=",
        "state=",
        "nonce=",
        "acr_values=eidas1",
        "scope=openid+scope_all",
        "client_id=concerto-test",
    ] {
        assert!(location.contains(part), "{part} missing from {location}");
    }
}

#[actix_rt::test]
async fn a_professional_logs_in_with_pro_sante_connect_and_the_session_says_so() {
    let Some((app, provider)) = world("eidas1").await else { return };
    let number = rpps(1);
    let (_, account_id) = professional(&app, &number, "psc1").await;
    let r = login(&app, &provider, "psc-sub-1", claims(&number)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.body["access_token"].as_str().unwrap().to_owned();
    assert!(r.body["refresh_token"].is_string());
    let me = app.get("/api/v1/me", &token).await;
    assert_eq!(me.status, 200, "{}", me.text);
    let sessions = app.get("/api/v1/me/sessions", &token).await;
    assert_eq!(sessions.status, 200, "{}", sessions.text);
    let items = sessions.body["items"].as_array().or(sessions.body.as_array()).cloned().unwrap_or_default();
    assert!(items.iter().any(|s| s["method"] == "psc" && s["acr"] == "eidas1"), "{}", sessions.text);
    // The binding holds: the same sub logs in again; another sub for this RPPS is refused.
    let r = login(&app, &provider, "psc-sub-1", claims(&number)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    refused(&login(&app, &provider, "psc-sub-other", claims(&number)).await, "identity_mismatch");
    let _ = account_id;
}

#[actix_rt::test]
async fn a_wrong_or_replayed_state_is_refused() {
    let Some((app, provider)) = world("eidas1").await else { return };
    let number = rpps(2);
    professional(&app, &number, "psc2").await;
    set_user(&app, &provider, "psc-sub-2", claims(&number)).await;
    let query = authorize(&app, "psc-sub-2").await;
    let forged: String = query
        .split('&')
        .map(|kv| if kv.starts_with("state=") { "state=forged".to_owned() } else { kv.to_owned() })
        .collect::<Vec<_>>()
        .join("&");
    refused(&callback(&app, &forged).await, "unknown_state");
    assert_eq!(callback(&app, &query).await.status, 200);
    // The same callback again: its attempt is used.
    refused(&callback(&app, &query).await, "unknown_state");
}

#[actix_rt::test]
async fn id_tokens_that_fail_a_check_are_refused() {
    let Some((app, provider)) = world("eidas1").await else { return };
    let number = rpps(3);
    professional(&app, &number, "psc3").await;
    let with = |extra: Value| {
        let mut c = claims(&number);
        c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        c
    };
    refused(&login(&app, &provider, "s-nonce", with(json!({"nonce": "not-the-one-sent"}))).await, "wrong_nonce");
    refused(&login(&app, &provider, "s-aud", with(json!({"aud": "another-client"}))).await, "wrong_audience");
    refused(&login(&app, &provider, "s-exp", with(json!({"exp": 1_000_000_000}))).await, "expired_id_token");
    refused(&login(&app, &provider, "s-iss", with(json!({"iss": "http://127.0.0.1:1"}))).await, "wrong_issuer");
    // Nothing bound by the refusals: the professional still logs in.
    assert_eq!(login(&app, &provider, "s-ok", claims(&number)).await.status, 200);
}

#[actix_rt::test]
async fn a_missing_or_lower_acr_is_refused() {
    let Some((app, provider)) = world("eidas2").await else { return };
    let number = rpps(4);
    professional(&app, &number, "psc4").await;
    refused(&login(&app, &provider, "s-none", json!({"SubjectNameID": format!("8{number}")})).await, "acr_too_low");
    refused(&login(&app, &provider, "s-low", claims(&number)).await, "acr_too_low");
    let high = json!({"SubjectNameID": format!("8{number}"), "acr": "eidas3"});
    assert_eq!(login(&app, &provider, "s-high", high).await.status, 200);
}

#[actix_rt::test]
async fn an_unknown_rpps_or_a_disabled_account_is_refused_and_audited() {
    let Some((app, provider)) = world("eidas1").await else { return };
    let r = login(&app, &provider, "s-unknown", claims(&rpps(5))).await;
    assert_problem(&r, 403, "no_local_account");
    let number = rpps(6);
    let (_, account_id) = professional(&app, &number, "psc6").await;
    let admin = app.admin().await;
    let r = app.patch(&format!("/api/v1/accounts/{account_id}"), &admin.token, json!({"active": false})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_problem(&login(&app, &provider, "s-disabled", claims(&number)).await, 403, "account_disabled");
    // No SubjectNameID, or not an RPPS one.
    refused(&login(&app, &provider, "s-nosni", json!({"acr": "eidas1"})).await, "no_rpps");
    let audit = app.get("/api/v1/audit-events?limit=200", &admin.token).await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    for reason in ["no_local_account", "account_disabled", "no_rpps"] {
        assert!(audit.text.contains(reason), "{reason} not audited: {}", audit.text);
    }
}

#[actix_rt::test]
async fn nothing_is_fetched_at_start_up_and_a_provider_down_is_a_503() {
    // Nothing listens on this port: the server starts all the same.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let oidc = OidcSettings {
        discovery_url: format!("http://127.0.0.1:{port}/.well-known/openid-configuration"),
        client_id: CLIENT_ID.to_owned(),
        client_secret: "test-client-secret".to_owned(),
        redirect_url: REDIRECT.to_owned(),
        scopes: concerto_api::oidc::DEFAULT_SCOPES.to_owned(),
        required_acr: "eidas1".to_owned(),
        key_refetch_after: concerto_api::oidc::REFETCH_AFTER,
    };
    let app = TestApp::spawn_with(Options { oidc: Some(oidc), ..Options::default() }).await;
    assert_eq!(app.call("GET", "/healthz", None, None).await.status, 200);
    assert_problem(&app.call("GET", "/api/v1/auth/oidc/start", None, None).await, 503, "oidc_provider_unavailable");
    // A password login does not care.
    let admin = app.admin().await;
    assert_eq!(app.get("/api/v1/me", &admin.token).await.status, 200);
}

#[actix_rt::test]
async fn the_login_is_off_when_not_configured() {
    let app = TestApp::spawn().await;
    assert_problem(&app.call("GET", "/api/v1/auth/oidc/start", None, None).await, 404, "not_found");
    assert_problem(&app.call("GET", "/api/v1/auth/oidc/callback?code=a&state=b", None, None).await, 404, "not_found");
}

#[actix_rt::test]
async fn no_code_state_token_or_secret_of_a_pro_sante_connect_login_reaches_the_debug_log() {
    let Some((mut app, provider)) = world("eidas1").await else { return };
    let number = rpps(7);
    professional(&app, &number, "psc7").await;
    let oidc = settings(&provider);
    let mut binary = crate::process::Binary::start_with(
        &app,
        "debug",
        &[
            ("CONCERTO_OIDC_DISCOVERY_URL", &oidc.discovery_url),
            ("CONCERTO_OIDC_CLIENT_ID", &oidc.client_id),
            ("CONCERTO_OIDC_CLIENT_SECRET", &oidc.client_secret),
            ("CONCERTO_OIDC_REDIRECT_URL", &oidc.redirect_url),
        ],
    )
    .await;
    app.base = binary.base.clone();
    set_user(&app, &provider, "s-log", claims(&number)).await;
    let query = authorize(&app, "s-log").await;
    let r = callback(&app, &query).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (access, refresh) = (r.body["access_token"].as_str().unwrap().to_owned(), r.body["refresh_token"].as_str().unwrap().to_owned());
    refused(&callback(&app, &query).await, "unknown_state");
    binary.signal("TERM");
    assert!(binary.exited().await.success());
    let log = binary.log_text();
    assert!(log.lines().count() > 5, "the debug log is not captured: {log}");
    let param = |name: &str| query.split('&').find_map(|kv| kv.strip_prefix(&format!("{name}="))).unwrap().to_owned();
    let (code, state) = (param("code"), param("state"));
    for secret in [code.as_str(), state.as_str(), &access, &refresh, &oidc.client_secret] {
        for line in log.lines() {
            assert!(!line.contains(secret), "the log holds {secret:?}: {line}");
        }
    }
}

/// A test-local provider for what `oidc-provider-mock` cannot produce (it always signs RS256
/// and answers JSON userinfo): an ID token with `alg: none` or HS256 (keyed with the client
/// secret, the classic confusion), and a userinfo JWT. Its own RSA key (a test fixture) signs
/// the tokens it means to be valid, so the valid case passes and proves the stub right.
mod stub {
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use actix_web::{App, HttpResponse, HttpServer, web};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::{Value, json};

    /// The stub's RSA private key (PKCS#1 DER, made for this test only) and its modulus (base64url).
    pub const KEYS: [(&[u8], &str); 2] = [
        (include_bytes!("fixtures/oidc-stub-key.der"), include_str!("fixtures/oidc-stub-key.n")),
        (include_bytes!("fixtures/oidc-stub-key-2.der"), include_str!("fixtures/oidc-stub-key-2.n")),
    ];

    /// What the stub answers next.
    #[derive(Default)]
    pub struct Answers {
        pub id_token: String,
        /// (content type, body) of the userinfo.
        pub userinfo: (String, String),
        /// Which of [`KEYS`] the JWKS publishes (a rotation).
        pub key: usize,
    }

    pub struct Stub {
        pub base: String,
        pub answers: Arc<Mutex<Answers>>,
    }

    pub fn start() -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let answers = Arc::new(Mutex::new(Answers::default()));
        let (b, a) = (base.clone(), answers.clone());
        let server = HttpServer::new(move || {
            let (b, a1, a2, a3) = (b.clone(), a.clone(), a.clone(), a.clone());
            App::new()
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(move || {
                        let b = b.clone();
                        async move {
                            HttpResponse::Ok().json(json!({
                                "issuer": b,
                                "authorization_endpoint": format!("{b}/authorize"),
                                "token_endpoint": format!("{b}/token"),
                                "userinfo_endpoint": format!("{b}/userinfo"),
                                "jwks_uri": format!("{b}/jwks"),
                                "response_types_supported": ["code"],
                                "subject_types_supported": ["public"],
                                "id_token_signing_alg_values_supported": ["RS256"],
                            }))
                        }
                    }),
                )
                .route(
                    "/jwks",
                    web::get().to(move || {
                        let key = a3.lock().unwrap().key;
                        let jwk = json!({"kty": "RSA", "kid": format!("stub-{key}"), "use": "sig", "alg": "RS256", "n": KEYS[key].1.trim(), "e": "AQAB"});
                        async move { HttpResponse::Ok().json(json!({"keys": [jwk]})) }
                    }),
                )
                .route(
                    "/token",
                    web::post().to(move || {
                        let id_token = a1.lock().unwrap().id_token.clone();
                        async move {
                            HttpResponse::Ok().json(
                                json!({"access_token": "stub-access", "token_type": "Bearer", "expires_in": 60, "id_token": id_token}),
                            )
                        }
                    }),
                )
                .route(
                    "/userinfo",
                    web::get().to(move || {
                        let (content_type, body) = a2.lock().unwrap().userinfo.clone();
                        async move { HttpResponse::Ok().content_type(content_type).body(body) }
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        actix_rt::spawn(server);
        Stub { base, answers }
    }

    pub fn rs256(claims: &Value) -> String {
        rs256_with(claims, 0)
    }

    /// Signed with the stub's `key`-th key.
    pub fn rs256_with(claims: &Value, key: usize) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(format!("stub-{key}"));
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(KEYS[key].0)).unwrap()
    }

    pub fn hs256(claims: &Value, secret: &str) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
    }

    pub fn unsigned(claims: &Value) -> String {
        let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.", part(&json!({"alg": "none", "typ": "JWT"})), part(claims))
    }

    /// `jwt` with its payload replaced by `claims`, the signature kept.
    pub fn tampered(jwt: &str, claims: &Value) -> String {
        let parts: Vec<&str> = jwt.split('.').collect();
        format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2])
    }
}

/// A server whose login points at `stub`, and a professional of RPPS `rpps(n)` to log in as.
async fn stub_world(stub: &stub::Stub, n: u32, key_refetch_after: Duration) -> (TestApp, Value) {
    let oidc = OidcSettings {
        discovery_url: format!("{}/.well-known/openid-configuration", stub.base),
        client_id: CLIENT_ID.to_owned(),
        client_secret: STUB_SECRET.to_owned(),
        redirect_url: REDIRECT.to_owned(),
        scopes: concerto_api::oidc::DEFAULT_SCOPES.to_owned(),
        required_acr: "eidas1".to_owned(),
        key_refetch_after,
    };
    let app = TestApp::spawn_with(Options { oidc: Some(oidc), ..Options::default() }).await;
    let number = rpps(n);
    professional(&app, &number, &format!("psc{n}")).await;
    let userinfo_claims = json!({"sub": "stub-sub", "SubjectNameID": format!("8{number}"), "iss": stub.base, "aud": CLIENT_ID});
    (app, userinfo_claims)
}

const STUB_SECRET: &str = "test-client-secret";

/// One login through the stub: the ID token `id_token` makes from the claims (with the
/// attempt's nonce) and the client secret, and the userinfo (content type, body).
async fn stub_login(app: &TestApp, stub: &stub::Stub, id_token: fn(&Value, &str) -> String, userinfo: (String, String)) -> Resp {
    let now = chrono::Utc::now().timestamp();
    let r = app.call("GET", "/api/v1/auth/oidc/start", None, None).await;
    assert_eq!(r.status, 302, "{}", r.text);
    let location = r.header("location").unwrap();
    let param = |name: &str| location.split(['?', '&']).find_map(|kv| kv.strip_prefix(&format!("{name}="))).unwrap().to_owned();
    let claims = json!({"iss": stub.base, "aud": CLIENT_ID, "sub": "stub-sub", "iat": now, "exp": now + 300, "nonce": param("nonce"), "acr": "eidas1"});
    {
        let mut answers = stub.answers.lock().unwrap();
        answers.id_token = id_token(&claims, STUB_SECRET);
        answers.userinfo = userinfo;
    }
    callback(app, &format!("code=stub-code&state={}", param("state"))).await
}

#[actix_rt::test]
async fn unsigned_or_hs256_id_tokens_and_a_tampered_userinfo_jwt_are_refused() {
    let stub = stub::start();
    let (app, userinfo_claims) = stub_world(&stub, 8, concerto_api::oidc::REFETCH_AFTER).await;
    let json_userinfo = || ("application/json".to_owned(), userinfo_claims.to_string());
    // The stub is right: an RS256 ID token with its key logs in, with a JSON or a signed userinfo.
    let r = stub_login(&app, &stub, |c, _| stub::rs256(c), json_userinfo()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let signed = stub::rs256(&userinfo_claims);
    let r = stub_login(&app, &stub, |c, _| stub::rs256(c), ("application/jwt".to_owned(), signed.clone())).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // alg none, and HS256 keyed with the client secret, where RS256 is expected.
    refused(&stub_login(&app, &stub, |c, _| stub::unsigned(c), json_userinfo()).await, "bad_signature");
    refused(&stub_login(&app, &stub, stub::hs256, json_userinfo()).await, "bad_signature");
    // A userinfo JWT whose payload was changed after signing (another professional's RPPS).
    let forged = json!({"sub": "stub-sub", "SubjectNameID": format!("8{}", rpps(9)), "iss": stub.base, "aud": CLIENT_ID});
    let r = stub_login(&app, &stub, |c, _| stub::rs256(c), ("application/jwt".to_owned(), stub::tampered(&signed, &forged))).await;
    refused(&r, "invalid_userinfo");
}

#[actix_rt::test]
async fn a_rotated_provider_key_is_fetched_again_at_most_once_a_minute() {
    // Keys kept a minute: a token signed with a key published since is refused within it.
    let stub = stub::start();
    let (app, userinfo_claims) = stub_world(&stub, 10, concerto_api::oidc::REFETCH_AFTER).await;
    let json_userinfo = || ("application/json".to_owned(), userinfo_claims.to_string());
    assert_eq!(stub_login(&app, &stub, |c, _| stub::rs256_with(c, 0), json_userinfo()).await.status, 200);
    stub.answers.lock().unwrap().key = 1;
    refused(&stub_login(&app, &stub, |c, _| stub::rs256_with(c, 1), json_userinfo()).await, "bad_signature");
    // Past that minute (shortened here), the unknown key makes the server fetch the keys again.
    let stub = stub::start();
    let (app, userinfo_claims) = stub_world(&stub, 11, Duration::ZERO).await;
    let json_userinfo = || ("application/json".to_owned(), userinfo_claims.to_string());
    assert_eq!(stub_login(&app, &stub, |c, _| stub::rs256_with(c, 0), json_userinfo()).await.status, 200);
    stub.answers.lock().unwrap().key = 1;
    let r = stub_login(&app, &stub, |c, _| stub::rs256_with(c, 1), json_userinfo()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The retired key no longer signs.
    refused(&stub_login(&app, &stub, |c, _| stub::rs256_with(c, 0), json_userinfo()).await, "bad_signature");
}
