//! Many users at once, on both stores: a mixed burst of 64 concurrent clients answers no 5xx and
//! leaves one audit event per answered patient-data call; and every invariant that depends on
//! "nothing like this exists yet" has exactly one winner among identical requests racing each
//! other, the others reading the documented 409 (or 412). Each race is repeated over several
//! rounds so that a lucky interleaving cannot pass it.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::{PASSWORD, Resp, TestApp, User, assert_problem};

/// Identical requests sent at once in each race.
const RACERS: usize = 16;
/// Rounds of each race.
const ROUNDS: usize = 4;
/// Rounds of the administrators' race, on one server (each round ends as it began).
const ADMIN_ROUNDS: usize = 16;

/// Sends the same request `RACERS` times at once.
async fn race(app: &TestApp, method: &str, path: &str, token: &str, body: Option<Value>) -> Vec<Resp> {
    join_all((0..RACERS).map(|_| app.call(method, path, Some(token), body.clone()))).await
}

/// Asserts one answer `winner` and every other answer `status` with `code`.
fn one_winner(answers: &[Resp], winner: u16, status: u16, code: &str) {
    let won = answers.iter().filter(|r| r.status == winner).count();
    assert_eq!(won, 1, "exactly one winner expected: {:?}", answers.iter().map(|r| (r.status, r.code().to_owned())).collect::<Vec<_>>());
    for lost in answers.iter().filter(|r| r.status != winner) {
        assert_problem(lost, status, code);
    }
}

/// Every audit event of the store.
async fn audit_event_count(app: &TestApp) -> usize {
    use concerto_persistence::{PageRequest, audit};
    let pool = app.pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get().unwrap();
        let (mut n, mut cursor) = (0, None::<String>);
        loop {
            let page = PageRequest::with_cursor(200, cursor.as_deref()).unwrap();
            let got = audit::list(&mut conn, &audit::AuditFilter::default(), None, &page).unwrap();
            n += got.items.len();
            match got.next_cursor {
                Some(c) => cursor = Some(c),
                None => return n,
            }
        }
    })
    .await
    .unwrap()
}

/// A board: a chair, two participants with a secretary each, a planned session and one in
/// progress whose dossiers carry a proposal, ready to validate.
struct Board {
    app: TestApp,
    center: String,
    coord: User,
    chair: User,
    members: Vec<User>,
    secretaries: Vec<User>,
    planned: String,
    running: String,
    /// Dossiers of the running session, each with a proposal.
    ready: Vec<String>,
}

async fn board(ready: usize) -> Board {
    let app = TestApp::spawn().await;
    let center = app.center("3C Nord").await;
    let coord = app.coordinator(&center).await;
    let chair = app.physician("Chair", &center).await;
    let rcp = app.rcp(&coord, &center, "RCP thoracique").await;
    app.member(&coord, &rcp, &chair, "animateur").await;
    let (mut members, mut secretaries) = (Vec::new(), Vec::new());
    for i in 0..2 {
        let member = app.physician(&format!("Member{i}"), &center).await;
        app.member(&coord, &rcp, &member, "participant").await;
        let sec = app.secretary(&format!("Sec{i}"), &center).await;
        app.affiliate(&coord, &member, &sec).await;
        members.push(member);
        secretaries.push(sec);
    }
    let planned = app.session(&coord, &rcp, 3).await;
    let running = app.session(&coord, &rcp, 1).await;
    let mut ids = Vec::new();
    for i in 0..ready {
        let patient = app.patient(&members[i % 2], &format!("Ready{i}"), None, &[]).await;
        ids.push(app.dossier(&members[i % 2], &running, &patient, &members[i % 2]).await);
    }
    assert_eq!(app.post(&format!("/api/v1/sessions/{running}/start"), &chair.token, json!({})).await.status, 200);
    app.quorum_present(&center, &running, &chair).await;
    for id in &ids {
        let etag = app.get(&format!("/api/v1/dossiers/{id}"), &chair.token).await.header("etag").unwrap();
        let r = app
            .with_if_match(
                "PATCH",
                &format!("/api/v1/dossiers/{id}"),
                &chair.token,
                &etag,
                json!({"proposal": "RCC", "fiche": app.complete_fiche().await}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    Board { app, center, coord, chair, members, secretaries, planned, running, ready: ids }
}

/// 64 clients at once, each reading agendas and dossiers, registering and validating: no 5xx,
/// and exactly one audit event per patient-data call answered.
#[actix_rt::test]
async fn sixty_four_concurrent_clients_get_no_server_error_and_every_read_is_audited() {
    const CLIENTS: usize = 64;
    let b = board(CLIENTS / 4).await;
    let app = &b.app;
    let mut patients = Vec::new();
    for i in 0..CLIENTS / 4 {
        patients.push(app.patient(&b.secretaries[i % 2], &format!("Burst{i}"), None, &[]).await);
    }
    let readable = b.ready[0].clone();
    let before = audit_event_count(app).await;
    let calls = (0..CLIENTS).map(|i| {
        let (b, patients, readable) = (&b, &patients, &readable);
        async move {
            let k = i / 4;
            match i % 4 {
                0 => app.get("/api/v1/agenda", &b.secretaries[k % 2].token).await,
                1 => app.get(&format!("/api/v1/dossiers/{readable}"), &b.members[k % 2].token).await,
                2 => {
                    let body = json!({"patient_id": patients[k], "requester_id": b.members[k % 2].id});
                    app.post(&format!("/api/v1/sessions/{}/dossiers", b.planned), &b.secretaries[k % 2].token, body).await
                }
                _ => app.post(&format!("/api/v1/dossiers/{}/validate", b.ready[k]), &b.chair.token, json!({})).await,
            }
        }
    });
    let answers = join_all(calls).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    for (i, r) in answers.iter().enumerate() {
        let expected = if i % 4 == 2 { 201 } else { 200 };
        assert_eq!(r.status, expected, "client {i}: {} (all: {statuses:?})", r.text);
    }
    assert_eq!(audit_event_count(app).await - before, CLIENTS, "one audit event per patient-data call");
    // Every registration and validation is there.
    let run = app.get(&format!("/api/v1/sessions/{}/run", b.planned), &b.chair.token).await;
    assert_eq!(run.body["dossiers"].as_array().unwrap().len(), CLIENTS / 4);
    let run = app.get(&format!("/api/v1/sessions/{}/run", b.running), &b.chair.token).await;
    assert!(run.body["dossiers"].as_array().unwrap().iter().all(|d| d["status"] == "validated"), "{}", run.text);
}

#[actix_rt::test]
async fn one_registration_per_patient_and_session() {
    let b = board(0).await;
    for round in 0..ROUNDS {
        let patient = b.app.patient(&b.secretaries[0], &format!("Racer{round}"), None, &[]).await;
        let body = json!({"patient_id": patient, "requester_id": b.members[0].id});
        let answers = race(&b.app, "POST", &format!("/api/v1/sessions/{}/dossiers", b.planned), &b.secretaries[0].token, Some(body)).await;
        one_winner(&answers, 201, 409, "already_registered");
    }
    let run = b.app.get(&format!("/api/v1/sessions/{}/run", b.planned), &b.chair.token).await;
    assert_eq!(run.body["dossiers"].as_array().unwrap().len(), ROUNDS);
}

#[actix_rt::test]
async fn one_validation_per_dossier_and_the_others_read_already_validated() {
    let b = board(ROUNDS).await;
    for id in &b.ready {
        let answers = race(&b.app, "POST", &format!("/api/v1/dossiers/{id}/validate"), &b.chair.token, Some(json!({}))).await;
        one_winner(&answers, 200, 409, "already_validated");
        assert_eq!(b.app.get(&format!("/api/v1/dossiers/{id}/report"), &b.chair.token).await.status, 200);
    }
}

#[actix_rt::test]
async fn one_write_per_version_with_if_match() {
    let b = board(1).await;
    let path = format!("/api/v1/dossiers/{}", b.ready[0]);
    for round in 0..ROUNDS {
        let etag = b.app.get(&path, &b.chair.token).await.header("etag").unwrap();
        let answers = join_all((0..RACERS).map(|i| {
            let body = json!({"proposal": format!("proposal {round}.{i}")});
            b.app.with_if_match("PATCH", &path, &b.chair.token, &etag, body)
        }))
        .await;
        one_winner(&answers, 200, 412, "precondition_failed");
    }
}

#[actix_rt::test]
async fn a_session_starts_once_and_registrations_racing_the_start_never_land_after_it() {
    for round in 0..ROUNDS {
        let b = board(0).await;
        let mut patients = Vec::new();
        for i in 0..RACERS {
            patients.push(b.app.patient(&b.members[0], &format!("Late{round}x{i}"), None, &[]).await);
        }
        let start = format!("/api/v1/sessions/{}/start", b.planned);
        let register = format!("/api/v1/sessions/{}/dossiers", b.planned);
        let starts = race(&b.app, "POST", &start, &b.chair.token, Some(json!({})));
        let registrations = join_all(
            patients.iter().map(|p| b.app.post(&register, &b.members[0].token, json!({"patient_id": p, "requester_id": b.members[0].id}))),
        );
        let (starts, registrations) = futures_util::future::join(starts, registrations).await;
        one_winner(&starts, 200, 409, "invalid_transition");
        let accepted = registrations.iter().filter(|r| r.status == 201).count();
        for r in registrations.iter().filter(|r| r.status != 201) {
            assert_problem(r, 409, "session_not_open");
        }
        // What was acknowledged is there, and nothing else.
        let run = b.app.get(&format!("/api/v1/sessions/{}/run", b.planned), &b.chair.token).await;
        assert_eq!(run.body["status"], "in_progress");
        assert_eq!(run.body["dossiers"].as_array().unwrap().len(), accepted);
    }
}

#[actix_rt::test]
async fn unique_names_accounts_and_ins_have_one_winner() {
    let b = board(0).await;
    let app = &b.app;
    let admin = app.admin().await;
    for round in 0..ROUNDS {
        let body = json!({"cancer_center_id": b.center, "name": format!("Secrétariat {round}")});
        one_winner(&race(app, "POST", "/api/v1/secretary-groups", &b.coord.token, Some(body)).await, 201, 409, "name_taken");

        let who = app.post("/api/v1/professionals", &admin.token, json!({"family_name": format!("New{round}"), "given_name": "A"})).await;
        let answers = join_all((0..RACERS).map(|i| {
            let body = json!({"professional_id": who.id(), "username": format!("new.{round}.{i}"), "password": PASSWORD});
            app.post("/api/v1/accounts", &admin.token, body)
        }))
        .await;
        one_winner(&answers, 201, 409, "account_exists");

        let nir = format!("{}", 2_500_375_056_000u64 + round as u64);
        let key = 97 - nir.parse::<u64>().unwrap() % 97;
        let body = json!({"family_name": format!("Ins{round}"), "given_name": "B", "birth_date": "1950-01-01", "sex": "male",
            "ins": format!("{nir}{key:02}")});
        let answers = race(app, "POST", "/api/v1/patients?confirm_new=true", &b.members[0].token, Some(body)).await;
        one_winner(&answers, 201, 409, "ins_taken");
    }
}

#[actix_rt::test]
async fn an_account_request_is_decided_once() {
    let b = board(0).await;
    let app = &b.app;
    let admin = app.admin().await;
    for round in 0..ROUNDS {
        let request = json!({"cancer_center_id": b.center, "family_name": format!("Req{round}"), "given_name": "C",
            "email": format!("req{round}@example.org"), "expected_profile": "physician"});
        let id = app.post("/api/v1/account-requests", &b.coord.token, request).await.id();
        let path = format!("/api/v1/account-requests/{id}/fulfil");
        let answers = join_all((0..RACERS).map(|i| {
            let fulfil = json!({"username": format!("req.{round}.{i}"), "initial_password": PASSWORD});
            app.post(&path, &admin.token, fulfil)
        }))
        .await;
        one_winner(&answers, 200, 409, "request_not_pending");
    }
    // One professional per request, however many administrators clicked.
    let found = app.get("/api/v1/professionals?q=req", &admin.token).await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), ROUNDS, "{}", found.text);
}

/// "Modifier la catégorie" racing an affiliation: whichever wins, the other sees it, so a
/// secretary is never affiliated as a physician's secretary once she is no longer a secretary.
#[actix_rt::test]
async fn a_category_change_and_an_affiliation_never_both_win() {
    let b = board(0).await;
    let app = &b.app;
    for round in 0..ROUNDS {
        let sec = app.secretary(&format!("Moving{round}"), &b.center).await;
        let category = format!("/api/v1/professionals/{}/category", sec.id);
        let affiliation = format!("/api/v1/professionals/{}/secretaries/{}", b.members[0].id, sec.id);
        let (change, link) = futures_util::future::join(
            app.put(&category, &b.coord.token, Some(json!({"category": "nurse"}))),
            app.put(&affiliation, &b.coord.token, None),
        )
        .await;
        let category_now = app.get(&format!("/api/v1/professionals/{}", sec.id), &b.coord.token).await.body["category"].clone();
        let linked = app.get(&format!("/api/v1/professionals/{}/secretaries", b.members[0].id), &b.coord.token).await;
        let is_linked = linked.body["secretaries"].as_array().unwrap().iter().any(|s| s["secretary_id"] == json!(sec.id));
        match (change.status, link.status) {
            (200, 422) => assert!(category_now == "nurse" && !is_linked),
            (409, 204) => assert!(category_now == "secretary" && is_linked),
            other => panic!("both or neither won: {other:?}: {} / {}", change.text, link.text),
        }
    }
}

/// One account logging in from many places at once (a hospital system's service account, a
/// user's several tabs), far below its throttle: every login succeeds. A success clears the
/// account's counter; an attempt that found the row gone, then re-inserted by another, took the
/// limit as spent and answered 429 "retry in 900 s".
#[actix_rt::test]
async fn logins_of_one_account_at_once_are_never_refused_below_its_limit() {
    use concerto_api::config::AuthSettings;
    let auth = AuthSettings { max_per_account: 1000, max_per_address: 1000, ..AuthSettings::default() };
    let app = TestApp::spawn_with(crate::support::Options { auth, ..Default::default() }).await;
    app.admin().await;
    let body = json!({"username": "admin", "password": PASSWORD});
    for _ in 0..ROUNDS {
        let answers = join_all((0..RACERS).map(|_| app.call("POST", "/api/v1/auth/login", None, Some(body.clone())))).await;
        let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    }
}

/// Two administrators disabling each other at once, half the racers each way: whoever commits
/// first wins and every request of his answers 200; every request of the other answers 401 (his
/// token died before it was read) or 409 `last_platform_admin` (it was read before, and counted
/// the administrators after the winner's commit). The platform keeps exactly one active
/// administrator: without the lock on the administrators' rows, both disables can pass on
/// PostgreSQL and nobody could log in to administer. The winner enables the other again for
/// the next round.
#[actix_rt::test]
async fn two_administrators_disabling_each_other_leave_exactly_one() {
    let app = TestApp::spawn().await;
    let mut admins = [app.another_admin("alice").await, app.another_admin("bruno").await];
    for _ in 0..ADMIN_ROUNDS {
        let paths = [&admins[1], &admins[0]].map(|target| format!("/api/v1/accounts/{}", target.account_id));
        let requests = (0..RACERS).map(|i| app.call("PATCH", &paths[i % 2], Some(&admins[i % 2].token), Some(json!({"active": false}))));
        let answers = join_all(requests).await;
        let outcome: Vec<(u16, String)> = answers.iter().map(|r| (r.status, r.code().to_owned())).collect();
        let won_by = |side: usize| answers.iter().enumerate().filter(|(i, r)| i % 2 == side && r.status == 200).count();
        let winner = if won_by(0) > 0 { 0 } else { 1 };
        assert_eq!(won_by(1 - winner), 0, "both administrators were disabled: {outcome:?}");
        assert_eq!(won_by(winner), RACERS / 2, "every request of the winner passes: {outcome:?}");
        for lost in answers.iter().enumerate().filter(|(i, _)| i % 2 != winner).map(|(_, r)| r) {
            assert!(matches!((lost.status, lost.code()), (401, "invalid_token") | (409, "last_platform_admin")), "{outcome:?}");
        }
        let logins = join_all(
            admins
                .iter()
                .map(|u| app.call("POST", "/api/v1/auth/login", None, Some(json!({"username": u.username, "password": PASSWORD})))),
        )
        .await;
        let statuses: Vec<u16> = logins.iter().map(|r| r.status).collect();
        assert_eq!(statuses, if winner == 0 { [200, 401] } else { [401, 200] }, "{outcome:?}");
        let loser = 1 - winner;
        let enable =
            app.patch(&format!("/api/v1/accounts/{}", admins[loser].account_id), &admins[winner].token, json!({"active": true})).await;
        assert_eq!(enable.status, 200, "{}", enable.text);
        admins[loser].token = app.login(&admins[loser].username.clone(), PASSWORD).await;
    }
}
