//! The test application: a real server on a loopback port over a fresh database of its own
//! (a SQLite temp file, or a PostgreSQL database created from `TEST_POSTGRES_URL`), and a small
//! HTTP client to talk to it.

use std::net::TcpListener;
use std::sync::OnceLock;

use awc::http::StatusCode;
use concerto_api::auth::TokenKeys;
use concerto_api::state::AppState;
use concerto_persistence::{Store, db};
use serde_json::{Value, json};

/// The JWT secret of every test server.
pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";
/// The password of every test account.
pub const PASSWORD: &str = "correct horse battery staple";

/// Where a test's database lives; dropped with the test.
enum TestDb {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let _ = db::drop_postgres_database(admin_url, name);
        }
    }
}

/// An HTTP answer: status, headers and the body (JSON when it is JSON, else a string).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// The value of a response header.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// The problem `code` of an error answer.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// The `id` of a created resource.
    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap_or_default().to_owned()
    }
}

/// A logged-in user of the test world.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub account_id: String,
    pub username: String,
    pub token: String,
}

/// One server over one fresh database.
pub struct TestApp {
    pub base: String,
    client: awc::Client,
    pub pool: concerto_persistence::Pool,
    pub store: Store,
    options: Options,
    /// The SQL statements the server's handlers have sent so far.
    pub statements: concerto_api::state::SqlTally,
    /// The connections the server's request work has checked out of its pool so far.
    pub checkouts: concerto_api::state::Tally,
    /// The pieces of request work the server has run on its blocking pool so far.
    pub blocking_calls: concerto_api::state::Tally,
    /// The code lists the server holds in memory.
    pub code_indexes: std::sync::Arc<concerto_persistence::terminology::CodeIndexes>,
    /// The server's clock of sessions and tokens: tests move it on instead of sleeping.
    pub clock: concerto_api::auth::Clock,
    db: TestDb,
    admin: OnceLock<User>,
    counter: std::cell::Cell<u32>,
    code_lists: std::cell::Cell<bool>,
}

/// The same URL with TLS off. The tests' server is on loopback; with TLS, libpq runs OpenSSL,
/// whose clean-up at process exit races the pool's threads still closing their connections and
/// has aborted a test binary ("malloc_consolidate(): unaligned fastbin chunk") after it passed.
fn without_tls(url: &str) -> String {
    if url.contains("sslmode=") { url.to_owned() } else { format!("{url}{}sslmode=disable", if url.contains('?') { '&' } else { '?' }) }
}

/// True when this run is against PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty())
}

/// Settings of a test server that differ from the defaults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub auth: concerto_api::config::AuthSettings,
    pub cors_origins: Vec<String>,
    pub sessions: concerto_api::config::SessionSettings,
    /// Pro Santé Connect login (`tests/http/oidc.rs` points it at a provider it starts).
    pub oidc: Option<concerto_api::oidc::OidcSettings>,
}

impl TestApp {
    /// Starts a server over a new empty database.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Options::default()).await
    }

    /// Starts a server with `options` over a new empty database.
    pub async fn spawn_with(options: Options) -> TestApp {
        let (store, test_db) = match std::env::var("TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
            Some(admin_url) => {
                let name = format!("concerto_t_{}", uuid::Uuid::new_v4().simple());
                let url = match admin_url.split('?').next().and_then(|u| u.rsplit_once('/')) {
                    Some((server, _)) => without_tls(&format!("{server}/{name}")),
                    None => panic!("TEST_POSTGRES_URL must end with /<database>"),
                };
                let admin_url = without_tls(&admin_url);
                db::create_postgres_database(&admin_url, &name).expect("create test database");
                (Store::Postgres(url), TestDb::Postgres { admin_url, name })
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("concerto.db").to_string_lossy().into_owned();
                (Store::Sqlite(path), TestDb::Sqlite(dir))
            }
        };
        let pool = db::connect(&store, 4).expect("connect and migrate");
        let (base, state) = Self::start_server(pool.clone(), &options);
        TestApp {
            base,
            client: awc::Client::builder().disable_redirects().timeout(std::time::Duration::from_secs(30)).finish(),
            pool,
            store,
            options,
            statements: state.statements,
            checkouts: state.checkouts,
            blocking_calls: state.blocking_calls,
            code_indexes: state.code_indexes,
            clock: state.clock,
            db: test_db,
            admin: OnceLock::new(),
            counter: std::cell::Cell::new(0),
            code_lists: std::cell::Cell::new(false),
        }
    }

    /// A server over `pool`: its base URL and its state (for the tallies).
    fn start_server(pool: concerto_persistence::Pool, options: &Options) -> (String, AppState) {
        let state = AppState::new(pool, TokenKeys::new(SECRET, 3600), options.auth.clone())
            .with_sessions(options.sessions)
            .with_oidc(options.oidc.clone());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let serve = concerto_api::ServeOptions { cors_origins: options.cors_origins.clone(), ..concerto_api::ServeOptions::new(1) };
        let server = concerto_api::serve(state.clone(), listener, serve).expect("server");
        actix_rt::spawn(server);
        (base, state)
    }

    /// A second instance over the same database, with a pool of its own (as a second process
    /// behind a load balancer would have): its base URL.
    pub fn another_instance(&self) -> String {
        let pool = db::connect(&self.store, 4).expect("connect");
        Self::start_server(pool, &self.options).0
    }

    /// The PostgreSQL admin URL and database name of this app, when on PostgreSQL.
    pub fn postgres_db(&self) -> Option<(String, String)> {
        match &self.db {
            TestDb::Postgres { admin_url, name } => Some((admin_url.clone(), name.clone())),
            TestDb::Sqlite(_) => None,
        }
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        let res = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        };
        Self::read(res.expect("request sent")).await
    }

    /// Sends raw bytes with the given content type.
    pub async fn raw(&self, method: &str, path: &str, token: Option<&str>, headers: &[(&str, &str)], body: Vec<u8>) -> Resp {
        self.raw_at(&self.base, method, path, token, headers, body).await
    }

    /// [`TestApp::raw`] to the server at `base` (another instance, a spawned binary).
    pub async fn raw_at(&self, base: &str, method: &str, path: &str, token: Option<&str>, headers: &[(&str, &str)], body: Vec<u8>) -> Resp {
        self.try_raw_at(base, method, path, token, headers, body).await.expect("request sent and answered")
    }

    /// [`TestApp::raw_at`], or `None` when the server went away before answering.
    pub async fn try_raw_at(
        &self,
        base: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Option<Resp> {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, format!("{base}{path}"));
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = req.send_body(body).await.ok()?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.body().limit(50 * 1024 * 1024).await.ok()?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Some(Resp { status, headers, body, text })
    }

    async fn read<S>(mut res: awc::ClientResponse<S>) -> Resp
    where
        S: futures_util::Stream<Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>> + Unpin,
    {
        let status: StatusCode = res.status();
        let headers = res.headers().clone();
        let bytes = res.body().limit(50 * 1024 * 1024).await.expect("body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp { status: status.as_u16(), headers, body, text }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call("GET", path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("POST", path, Some(token), Some(body)).await
    }
    pub async fn put(&self, path: &str, token: &str, body: Option<Value>) -> Resp {
        self.call("PUT", path, Some(token), body).await
    }
    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.call("DELETE", path, Some(token), None).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("PATCH", path, Some(token), Some(body)).await
    }

    /// Logs in and returns the token (panics on failure: a setup step).
    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self.call("POST", "/api/v1/auth/login", None, Some(json!({"username": username, "password": password}))).await;
        assert_eq!(r.status, 200, "login of {username}: {}", r.text);
        r.body["access_token"].as_str().expect("token").to_owned()
    }

    /// The platform administrator, created as `concerto create-admin` does.
    pub async fn admin(&self) -> User {
        if let Some(u) = self.admin.get() {
            return u.clone();
        }
        let user = self.another_admin("admin").await;
        let _ = self.admin.set(user.clone());
        user
    }

    /// One more platform administrator named `username`, created as `concerto create-admin`
    /// does, logged in.
    pub async fn another_admin(&self, username: &str) -> User {
        let hash = concerto_api::auth::hash_password(PASSWORD).expect("hash");
        let mut conn = self.pool.get().expect("conn");
        let account = concerto_persistence::accounts::create_platform_admin(&mut conn, username, &hash).expect("admin");
        drop(conn);
        let token = self.login(username, PASSWORD).await;
        let me = self.get("/api/v1/me", &token).await;
        User {
            id: me.body["professional"]["id"].as_str().expect("id").to_owned(),
            account_id: account.id,
            username: username.into(),
            token,
        }
    }

    fn next(&self) -> u32 {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        n
    }

    /// A cancer center created by the administrator.
    pub async fn center(&self, name: &str) -> String {
        let admin = self.admin().await;
        let code = format!("C{}", self.next());
        let r = self.post("/api/v1/cancer-centers", &admin.token, json!({"name": name, "code": code})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.id()
    }

    /// A professional with an account and profiles, logged in. `category` as the API spells it.
    pub async fn user(&self, family: &str, category: &str, profiles: &[(&str, &str)]) -> User {
        let admin = self.admin().await;
        let n = self.next();
        let r = self
            .post(
                "/api/v1/professionals",
                &admin.token,
                json!({"family_name": family, "given_name": format!("G{n}"), "category": category}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.id();
        for (center, kind) in profiles {
            let r = self.put(&format!("/api/v1/professionals/{id}/profiles/{center}/{kind}"), &admin.token, None).await;
            assert_eq!(r.status, 204, "{}", r.text);
        }
        let username = format!("{}{n}", family.to_lowercase());
        let r =
            self.post("/api/v1/accounts", &admin.token, json!({"professional_id": id, "username": username, "password": PASSWORD})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let account_id = r.id();
        let token = self.login(&username, PASSWORD).await;
        User { id, account_id, username, token }
    }

    /// A center coordinator of `center`.
    pub async fn coordinator(&self, center: &str) -> User {
        self.user("Coordinator", "other", &[(center, "center_coordinator")]).await
    }

    /// A physician with a physician profile on `center`.
    pub async fn physician(&self, family: &str, center: &str) -> User {
        self.user(family, "physician", &[(center, "physician")]).await
    }

    /// A secretary with a secretary profile on `center`.
    pub async fn secretary(&self, family: &str, center: &str) -> User {
        self.user(family, "secretary", &[(center, "secretary")]).await
    }

    /// `GET /me` of a user.
    pub async fn me(&self, user: &User) -> Value {
        let r = self.get("/api/v1/me", &user.token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    }
}

impl TestApp {
    /// An RCP of `center`, created by a coordinator of it.
    pub async fn rcp(&self, coordinator: &User, center: &str, name: &str) -> String {
        let r = self
            .post("/api/v1/rcps", &coordinator.token, json!({"cancer_center_id": center, "name": name, "specialty": "digestive"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.id()
    }

    /// Makes `physician` a member of `rcp` with `role` (`participant` or `animateur`).
    pub async fn member(&self, coordinator: &User, rcp: &str, physician: &User, role: &str) {
        let r = self.put(&format!("/api/v1/rcps/{rcp}/members/{}", physician.id), &coordinator.token, Some(json!({"role": role}))).await;
        assert_eq!(r.status, 204, "{}", r.text);
    }

    /// A planned session of `rcp`, `days` days from now.
    pub async fn session(&self, coordinator: &User, rcp: &str, days: i64) -> String {
        let starts_at = (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339();
        let r = self
            .post(&format!("/api/v1/rcps/{rcp}/sessions"), &coordinator.token, json!({"starts_at": starts_at, "location": "Salle 2"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.id()
    }

    /// Affiliates `secretary` to `physician` directly (by the coordinator).
    pub async fn affiliate(&self, coordinator: &User, physician: &User, secretary: &User) {
        let r = self.put(&format!("/api/v1/professionals/{}/secretaries/{}", physician.id, secretary.id), &coordinator.token, None).await;
        assert_eq!(r.status, 204, "{}", r.text);
    }
}

/// The boundary of the multipart bodies the tests build.
pub const BOUNDARY: &str = "concerto-test-boundary-7MA4YWxkTrZu0gW";

/// A complete fiche RCP: every part filled in, a discussed case (validated with the board's
/// quorum), codes of the shipped lists ([`TestApp::complete_fiche`] loads them).
pub fn complete_fiche() -> Value {
    json!({
        "referral": {"reasons": ["treatment_proposal"], "case_status": "discussed"},
        "case": {
            "phase": "initial", "local_progression": false, "regional_progression": true, "distant_progression": false,
            "found_by_screening": true, "performance_status": 1
        },
        "diagnosis": {
            "tumour_site": "C18.7", "morphology": "8140/3", "laterality": "not_applicable",
            "date": "2026-09-01", "date_precision": "month",
            "tnm": {"t": "cT3", "n": "cN1", "m": "cM0", "stage": "III", "edition": "8"},
            "other_classification": {"name": "Dukes", "version": "1932", "value": "C"}
        },
        "proposal": {
            "treatments": [
                {"code": "387713003", "order": 1, "intention": "curative", "detail": "Colectomie gauche"},
                {"code": "C15632", "order": 2, "intention": "curative", "detail": "FOLFOX 6 mois"}
            ],
            "referral_rcp_requested": false,
            "requests": [{"kind": "follow_up", "description": "Scanner TAP", "earliest": "2027-03-01", "latest": "2027-04-30"}],
            "comment": "Selon tolérance"
        },
        "framework": {
            "guideline": {"name": "TNCD — cancer du côlon", "version": "2025", "date": "2025-06-01"},
            "conform": true, "nonconformity_reason": null, "trial_proposed": true, "trial_name": "PRODIGE 99"
        }
    })
}

/// A multipart/form-data body, as a browser builds it: parts of (name, content type, bytes).
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, content_type, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes());
        if *name == "file" {
            body.extend_from_slice(b"; filename=\"document\"");
        }
        body.extend_from_slice(b"\r\n");
        if let Some(ct) = content_type {
            body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Asserts a problem answer: status, `code`, and the problem+json shape.
#[track_caller]
pub fn assert_problem(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "expected {status} {code}, got: {}", r.text);
    assert_eq!(r.code(), code, "body: {}", r.text);
    assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"));
    assert_eq!(r.body["status"], json!(status));
    for field in ["type", "title", "detail"] {
        assert!(r.body[field].is_string(), "problem without {field}: {}", r.text);
    }
}

impl TestApp {
    /// A patient added by `created_by` (`POST /patients`, past the duplicate check); `treating`
    /// and `correspondents` are the patient's physicians.
    pub async fn patient(&self, created_by: &User, family: &str, treating: Option<&User>, correspondents: &[&User]) -> String {
        let body = json!({
            "family_name": family, "given_name": "Jeanne", "birth_date": "1961-04-12", "sex": "female",
            "treating_physician_id": treating.map(|u| u.id.clone()),
            "correspondent_ids": correspondents.iter().map(|u| u.id.clone()).collect::<Vec<_>>(),
        });
        let r = self.post("/api/v1/patients?confirm_new=true", &created_by.token, body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.id()
    }

    /// Registers `patient` in `session` for `requester`, as `by` (asserts 201); the dossier id.
    pub async fn dossier(&self, by: &User, session: &str, patient: &str, requester: &User) -> String {
        let r = self
            .post(&format!("/api/v1/sessions/{session}/dossiers"), &by.token, json!({"patient_id": patient, "requester_id": requester.id}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.id()
    }

    /// Records a full quorum present in `session` (in progress), as `recorder` (an animateur or
    /// his secretary): three new physicians of `center` with three specialties. The attendees.
    pub async fn quorum_present(&self, center: &str, session: &str, recorder: &User) -> Vec<User> {
        let admin = self.admin().await;
        let mut present = Vec::new();
        for (i, specialty) in ["surgery", "radiotherapy", "medical_oncology"].into_iter().enumerate() {
            let doc = self.physician(&format!("Quorum{i}"), center).await;
            let r =
                self.put(&format!("/api/v1/professionals/{}/specialty", doc.id), &admin.token, Some(json!({"specialty": specialty}))).await;
            assert_eq!(r.status, 200, "{}", r.text);
            present.push(doc);
        }
        let ids: Vec<String> = present.iter().map(|u| u.id.clone()).collect();
        let r = self.put(&format!("/api/v1/sessions/{session}/attendance"), &recorder.token, Some(json!({"present_ids": ids}))).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["quorum"]["met"], json!(true), "{}", r.text);
        present
    }

    /// A complete fiche RCP (every part filled in, a discussed case), to send as the `fiche` of a
    /// `PATCH /dossiers/{id}` before validating; loads the shipped code lists its codes are
    /// checked against, once per app.
    pub async fn complete_fiche(&self) -> Value {
        if !self.code_lists.get() {
            let pool = self.pool.clone();
            actix_web::web::block(move || {
                let mut c = pool.get().expect("a connection");
                db::write(&mut c, concerto_api::demo::load_code_lists)
            })
            .await
            .expect("a blocking call")
            .expect("the shipped code lists load");
            self.code_lists.set(true);
        }
        complete_fiche()
    }

    /// Sends JSON with an `If-Match` header.
    pub async fn with_if_match(&self, method: &str, path: &str, token: &str, if_match: &str, body: Value) -> Resp {
        let headers = [("content-type", "application/json"), ("if-match", if_match)];
        self.raw(method, path, Some(token), &headers, body.to_string().into_bytes()).await
    }
}

/// The smallest board the delegation rules act on: one center with its coordinator, an RCP
/// chaired by `chair` (animateur), a participant `member` and his secretary `secretary`.
pub struct Board {
    pub app: TestApp,
    pub center: String,
    pub coord: User,
    pub chair: User,
    pub member: User,
    pub secretary: User,
    pub rcp: String,
}

impl Board {
    /// A new server over a fresh store, with this board in it.
    pub async fn new() -> Board {
        let app = TestApp::spawn().await;
        let center = app.center("3C Nord").await;
        let coord = app.coordinator(&center).await;
        let chair = app.physician("Chair", &center).await;
        let member = app.physician("Member", &center).await;
        let secretary = app.secretary("Sec", &center).await;
        let rcp = app.rcp(&coord, &center, "RCP digestive").await;
        app.member(&coord, &rcp, &chair, "animateur").await;
        app.member(&coord, &rcp, &member, "participant").await;
        app.affiliate(&coord, &member, &secretary).await;
        Board { app, center, coord, chair, member, secretary, rcp }
    }
}

/// `concerto check` on the test's store: one line per difference.
pub async fn check_differences(app: &TestApp) -> Vec<String> {
    let pool = app.pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get().unwrap();
        concerto_persistence::check::run(&mut conn).unwrap().into_iter().map(|d| d.to_string()).collect()
    })
    .await
    .unwrap()
}
