//! The real `concerto` binary as an operator runs it, over the test's store: SIGTERM drains
//! in-flight requests, SIGKILL in the middle of a burst loses nothing acknowledged, and a
//! full scenario at `RUST_LOG=debug` leaves no patient identity, token or password in the log.
//!
//! Each test spawns the binary beside its `TestApp` (same database, same JWT secret), points the
//! app's helpers at it by swapping `app.base`, and reads the binary's log from a file.

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;

use crate::support::{PASSWORD, SECRET, TestApp, User, assert_problem};

/// A running `concerto serve`, killed when dropped.
pub(crate) struct Binary {
    child: Child,
    pub(crate) base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Binary {
    /// Starts the binary over `app`'s store and waits until `/healthz` answers.
    async fn start(app: &TestApp, rust_log: &str) -> Binary {
        Self::start_with(app, rust_log, &[]).await
    }

    /// [`Binary::start`] with more environment variables.
    pub(crate) async fn start_with(app: &TestApp, rust_log: &str, envs: &[(&str, &str)]) -> Binary {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("concerto.log");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(env!("CARGO_BIN_EXE_concerto"))
            .arg("serve")
            .env("DATABASE_URL", app.store.url())
            .env("CONCERTO_BIND", format!("127.0.0.1:{port}"))
            .env("CONCERTO_JWT_SECRET", std::str::from_utf8(SECRET).unwrap())
            .env("CONCERTO_SHUTDOWN_TIMEOUT_SECONDS", "20")
            .env("RUST_LOG", rust_log)
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let binary = Binary { child, base: format!("http://127.0.0.1:{port}"), log, _dir: dir };
        let started = Instant::now();
        while app.try_raw_at(&binary.base, "GET", "/healthz", None, &[], Vec::new()).await.is_none() {
            assert!(started.elapsed() < Duration::from_secs(60), "the binary did not start: {}", binary.log_text());
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
        binary
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success());
    }

    /// Waits (bounded) for the process to exit; its exit status.
    pub(crate) async fn exited(&mut self) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "the binary did not exit: {}", self.log_text());
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A center, a coordinator, an animateur and a planned session: what registrations need.
async fn clinic(app: &TestApp) -> (User, String) {
    let center = app.center("3C Nord").await;
    let coord = app.coordinator(&center).await;
    let doc = app.physician("Martin", &center).await;
    let rcp = app.rcp(&coord, &center, "RCP digestive").await;
    app.member(&coord, &rcp, &doc, "animateur").await;
    let session = app.session(&coord, &rcp, 7).await;
    (doc, session)
}

#[actix_rt::test]
async fn sigterm_lets_the_request_in_flight_finish_before_the_process_exits() {
    let app = TestApp::spawn().await;
    let (doc, _) = clinic(&app).await;
    let mut binary = Binary::start(&app, "info").await;

    // A registration whose body is still on its way when SIGTERM arrives.
    let body = json!({"family_name": "Lenteur", "given_name": "Paule", "birth_date": "1958-02-03", "sex": "female"}).to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(binary.base.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "POST /api/v1/patients?confirm_new=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        doc.token,
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    actix_rt::time::sleep(Duration::from_millis(200)).await;
    binary.signal("TERM");
    let started = Instant::now();
    while !binary.log_text().contains("SIGTERM received") {
        assert!(started.elapsed() < Duration::from_secs(10), "no graceful shutdown in the log: {}", binary.log_text());
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    // Shutting down, the server soon accepts no new request (the log line may come an instant
    // before the acceptor has stopped)…
    let stopping = Instant::now();
    while app.try_raw_at(&binary.base, "GET", "/healthz", None, &[], Vec::new()).await.is_some() {
        assert!(stopping.elapsed() < Duration::from_secs(5), "still accepting new requests 5 s after SIGTERM");
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    // …but answers the one it was reading.
    stream.write_all(tail.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let status = binary.exited().await;
    assert!(status.success(), "exit {status:?}: {}", binary.log_text());

    // What it acknowledged is in the store.
    let id = answer.split("\"id\":\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    let restarted = Binary::start(&app, "info").await;
    let r = app.raw_at(&restarted.base, "GET", &format!("/api/v1/patients/{id}"), Some(&doc.token), &[], Vec::new()).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[actix_rt::test]
async fn sigkill_in_the_middle_of_a_burst_loses_nothing_acknowledged() {
    let mut app = TestApp::spawn().await;
    let (doc, session) = clinic(&app).await;
    let mut binary = Binary::start(&app, "warn").await;
    app.base = binary.base.clone();

    let acknowledged: RefCell<Vec<(String, Option<String>)>> = RefCell::new(Vec::new());
    let stop = Cell::new(false);
    let n = Cell::new(0);
    let worker = |w: usize| {
        let (app, doc, session, acknowledged, stop, n) = (&app, &doc, &session, &acknowledged, &stop, &n);
        async move {
            while !stop.get() {
                n.set(n.get() + 1);
                let identity = json!({"family_name": format!("Rafale{w}x{}", n.get()), "given_name": "Jean", "birth_date": "1960-01-01", "sex": "male"});
                let headers = [("content-type", "application/json")];
                let Some(r) = app
                    .try_raw_at(
                        &app.base,
                        "POST",
                        "/api/v1/patients?confirm_new=true",
                        Some(&doc.token),
                        &headers,
                        identity.to_string().into_bytes(),
                    )
                    .await
                else {
                    break;
                };
                assert_eq!(r.status, 201, "{}", r.text);
                let patient = r.id();
                acknowledged.borrow_mut().push((patient.clone(), None));
                let registration = json!({"patient_id": patient, "requester_id": doc.id}).to_string().into_bytes();
                let path = format!("/api/v1/sessions/{session}/dossiers");
                let Some(r) = app.try_raw_at(&app.base, "POST", &path, Some(&doc.token), &headers, registration).await else {
                    break;
                };
                assert_eq!(r.status, 201, "{}", r.text);
                if let Some(entry) = acknowledged.borrow_mut().iter_mut().find(|(p, _)| *p == patient) {
                    entry.1 = Some(r.id());
                }
            }
        }
    };
    let killer = async {
        while acknowledged.borrow().len() < 60 {
            actix_rt::time::sleep(Duration::from_millis(5)).await;
        }
        binary.child.kill().unwrap();
        stop.set(true);
    };
    futures_util::future::join(join_all((0..8).map(worker)), killer).await;
    assert!(!binary.exited().await.success());

    // Restarted on the same store: every acknowledged patient and dossier is there.
    let restarted = Binary::start(&app, "warn").await;
    app.base = restarted.base.clone();
    let acknowledged = acknowledged.into_inner();
    let dossiers: Vec<&String> = acknowledged.iter().filter_map(|(_, d)| d.as_ref()).collect();
    for (patient, _) in &acknowledged {
        let r = app.get(&format!("/api/v1/patients/{patient}"), &doc.token).await;
        assert_eq!(r.status, 200, "acknowledged patient {patient} lost: {}", r.text);
    }
    for dossier in &dossiers {
        let r = app.get(&format!("/api/v1/dossiers/{dossier}"), &doc.token).await;
        assert_eq!(r.status, 200, "acknowledged dossier {dossier} lost: {}", r.text);
    }
    eprintln!("kill -9 mid-burst: {} patients and {} dossiers acknowledged, all found after restart", acknowledged.len(), dossiers.len());
}

#[actix_rt::test]
async fn no_patient_identity_token_or_password_reaches_the_debug_log() {
    let mut app = TestApp::spawn().await;
    let (doc, session) = clinic(&app).await;
    let mut binary = Binary::start(&app, "debug").await;
    app.base = binary.base.clone();

    let token = app.login(&doc.username, PASSWORD).await;
    let (family, given, ins) = ("Farigoule", "Quiterie", "2610475123456");
    let r = app
        .post(
            "/api/v1/patients?confirm_new=true",
            &token,
            json!({"family_name": family, "given_name": given, "birth_date": "1961-04-12", "sex": "female", "ins": ins}),
        )
        .await;
    let patient = if r.status == 201 {
        r.id()
    } else {
        // An INS the checker refuses: register the same person without it.
        let r = app
            .post(
                "/api/v1/patients?confirm_new=true",
                &token,
                json!({"family_name": family, "given_name": given, "birth_date": "1961-04-12", "sex": "female"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.id()
    };
    assert_eq!(app.get(&format!("/api/v1/patients?family_name={family}&birth_date=1961-04-12"), &token).await.status, 200);
    // Searched by INS too (200, or 422 when the checker refuses this one): the query string
    // must not reach the log either way.
    assert!([200, 422].contains(&app.get(&format!("/api/v1/patients?ins={ins}"), &token).await.status));
    assert_eq!(app.get(&format!("/api/v1/patients/{patient}"), &token).await.status, 200);
    app.dossier(&doc, &session, &patient, &doc).await;
    assert_eq!(app.get("/api/v1/agenda", &token).await.status, 200);
    let wrong = "Wrong-Password-For-The-Log";
    let r = app.call("POST", "/api/v1/auth/login", None, Some(json!({"username": doc.username, "password": wrong}))).await;
    assert_problem(&r, 401, "invalid_credentials");
    let new_password = "A-New-Passphrase-For-The-Log";
    let r = app.post("/api/v1/me/password", &token, json!({"current_password": PASSWORD, "new_password": new_password})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let bad_token = app.get("/api/v1/me", &token).await;
    assert_problem(&bad_token, 401, "invalid_token");
    // The login sessions' flows: a refresh, a reuse, a logout; no refresh token in the log.
    let r = app.call("POST", "/api/v1/auth/login", None, Some(json!({"username": doc.username, "password": new_password}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let first_refresh = r.body["refresh_token"].as_str().unwrap_or_default().to_owned();
    let r = app.call("POST", "/api/v1/auth/refresh", None, Some(json!({"refresh_token": first_refresh}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (second_refresh, second_access) =
        (r.body["refresh_token"].as_str().unwrap_or_default().to_owned(), r.body["access_token"].as_str().unwrap_or_default().to_owned());
    let r = app.call("POST", "/api/v1/auth/refresh", None, Some(json!({"refresh_token": first_refresh}))).await;
    assert_problem(&r, 401, "refresh_token_reused");
    let r = app.call("POST", "/api/v1/auth/logout", None, Some(json!({"refresh_token": second_refresh}))).await;
    assert_eq!(r.status, 204, "{}", r.text);

    binary.signal("TERM");
    assert!(binary.exited().await.success());
    let log = binary.log_text();
    assert!(log.lines().count() > 10, "the debug log is not captured: {log}");
    let signature = token.rsplit('.').next().unwrap_or_default();
    for secret in [
        family,
        given,
        ins,
        &token,
        signature,
        &doc.token,
        PASSWORD,
        wrong,
        new_password,
        std::str::from_utf8(SECRET).unwrap(),
        &first_refresh,
        &second_refresh,
        &second_access,
    ] {
        for line in log.lines() {
            assert!(!line.to_lowercase().contains(&secret.to_lowercase()), "the log holds {secret:?}: {line}");
        }
    }
    eprintln!("debug log: {} lines, none with a patient identity, a token or a password", log.lines().count());
}
