//! The race harness: every pair of writes that touch one derived record (a report to send, the
//! delegation history, a dossier's copies of its patient's name and treating physician, the
//! attendance, a fiche's projections), sent at the same
//! moment, `CONCERTO_RACE_TRIES` times (20 by default; `make races` runs 500 on both stores).
//! After each try `concerto check` (`check::run`) must find nothing, and the answers must keep
//! their invariants (one "ended" per end, one winner where one must win, one audit event per
//! patient-data write).
//!
//! SQLite's writers take turns, so these pass there by construction; on PostgreSQL (READ
//! COMMITTED) each race failed before the lock discipline of docs/ARCHITECTURE.md ("Derived
//! records, and the locks that keep them exact"). A race is not stopped at its first failure:
//! the failures of every try are counted and reported together ("k of N tries failed"), which is
//! how bench/RESULTS.md ("Races") counts them.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::{Board, Resp, TestApp, User, check_differences};

/// Tries of each race.
fn tries() -> usize {
    std::env::var("CONCERTO_RACE_TRIES").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(20)
}

/// What went wrong in which tries of one race.
struct Failures {
    race: &'static str,
    tries: usize,
    failed: Vec<(usize, String)>,
}

impl Failures {
    fn new(race: &'static str) -> Self {
        Self { race, tries: 0, failed: Vec::new() }
    }

    /// Records try `n`: `problems` empty means it passed.
    fn record(&mut self, n: usize, problems: Vec<String>) {
        self.tries += 1;
        if !problems.is_empty() {
            self.failed.push((n, problems.join("; ")));
        }
    }

    fn assert_none(self) {
        eprintln!("race {}: {} of {} tries failed", self.race, self.failed.len(), self.tries);
        assert!(
            self.failed.is_empty(),
            "race {}: {} of {} tries failed; first: try {}: {}",
            self.race,
            self.failed.len(),
            self.tries,
            self.failed[0].0,
            self.failed[0].1
        );
    }
}

/// Audit events of writes (the store's own table; reads go to SQLite's read trail).
async fn write_events(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    let pool = app.pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get().unwrap();
        concerto_persistence::schema::audit_events::table.count().get_result::<i64>(&mut conn).unwrap()
    })
    .await
    .unwrap()
}

/// Sends two patient-data writes at once: their answers, and a problem unless each wrote
/// exactly one audit event.
async fn audited_pair(
    app: &TestApp,
    a: impl std::future::Future<Output = Resp>,
    b: impl std::future::Future<Output = Resp>,
) -> (Resp, Resp, Option<String>) {
    let before = write_events(app).await;
    let (a, b) = futures_util::future::join(a, b).await;
    let written = write_events(app).await - before;
    (a, b, (written != 2).then(|| format!("{written} audit events for two calls")))
}

/// Problems of one try: the answers that are not `expected`, and every difference check finds.
async fn problems(app: &TestApp, answers: &[(&str, &Resp, u16)]) -> Vec<String> {
    let mut out: Vec<String> = answers
        .iter()
        .filter(|(_, r, want)| r.status != *want)
        .map(|(what, r, want)| format!("{what}: {} (wanted {want}): {}", r.status, r.text))
        .collect();
    out.extend(check_differences(app).await);
    out
}

/// A board (`support::Board`) whose member requests dossiers and whose secretary sends their
/// reports, a treating physician and a newcomer outside it.
struct World {
    board: Board,
    treating: User,
    newcomer: User,
}

impl std::ops::Deref for World {
    type Target = Board;
    fn deref(&self) -> &Board {
        &self.board
    }
}

async fn world() -> World {
    let board = Board::new().await;
    let treating = board.app.physician("Traitant", &board.center).await;
    let newcomer = board.app.physician("Nouveau", &board.center).await;
    World { board, treating, newcomer }
}

impl World {
    /// `n` dossiers of the member for new patients (treated by `treating` when given), in a new
    /// session now in progress with its quorum, each with a proposal; validated when asked.
    async fn dossiers(&self, n: usize, treating: Option<&User>, validate: bool) -> Vec<(String, String)> {
        let session = self.app.session(&self.coord, &self.rcp, 1).await;
        let mut out = Vec::new();
        for i in 0..n {
            let patient = self.app.patient(&self.member, &format!("Racer{i}"), treating, &[]).await;
            out.push((patient.clone(), self.app.dossier(&self.secretary, &session, &patient, &self.member).await));
        }
        assert_eq!(self.app.post(&format!("/api/v1/sessions/{session}/start"), &self.chair.token, json!({})).await.status, 200);
        self.app.quorum_present(&self.center, &session, &self.chair).await;
        for (_, id) in &out {
            let path = format!("/api/v1/dossiers/{id}");
            let etag = self.app.get(&path, &self.chair.token).await.header("etag").unwrap();
            let r = self
                .app
                .with_if_match(
                    "PATCH",
                    &path,
                    &self.chair.token,
                    &etag,
                    json!({"proposal": "Chirurgie", "fiche": self.app.complete_fiche().await}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            if validate {
                let r = self.app.post(&format!("{path}/validate"), &self.chair.token, json!({})).await;
                assert_eq!(r.status, 200, "{}", r.text);
            }
        }
        out
    }

    async fn patient_etag(&self, patient: &str) -> String {
        self.app.get(&format!("/api/v1/patients/{patient}"), &self.member.token).await.header("etag").unwrap()
    }

    /// The member's reports waiting to be sent.
    async fn waiting(&self) -> u64 {
        self.app.get("/api/v1/me/reports-to-send/count", &self.member.token).await.body["count"].as_u64().unwrap()
    }
}

fn send(to: &[&str]) -> Value {
    json!({"recipient_ids": to, "channel": "mssante"})
}

/// Issue 25, 1: a sending to the requester and a new correspondent at once. The report must
/// wait for the correspondent afterwards, whichever committed first.
#[actix_rt::test]
async fn a_sending_racing_a_new_correspondent_leaves_the_report_waiting_for_him() {
    let w = world().await;
    let n = tries();
    let dossiers = w.dossiers(n, None, true).await;
    let mut failures = Failures::new("sending × new correspondent");
    for (i, (patient, dossier)) in dossiers.iter().enumerate() {
        let etag = w.patient_etag(patient).await;
        let before = w.waiting().await;
        let (transmissions, patient_path) =
            (format!("/api/v1/dossiers/{dossier}/report/transmissions"), format!("/api/v1/patients/{patient}"));
        let sending = w.app.post(&transmissions, &w.secretary.token, send(&[&w.member.id]));
        let body = json!({"correspondent_ids": [w.newcomer.id]});
        let change = w.app.with_if_match("PATCH", &patient_path, &w.member.token, &etag, body);
        let (sent, changed, audit) = audited_pair(&w.app, sending, change).await;
        let mut p = problems(&w.app, &[("sending", &sent, 201), ("patient change", &changed, 200)]).await;
        p.extend(audit);
        // Validated dossiers before this one still wait for their newcomer; this one too.
        if w.waiting().await != before {
            p.push(format!("the report left the worklist ({before} waiting before, {} after)", w.waiting().await));
        }
        failures.record(i, p);
    }
    failures.assert_none();
}

/// Two sendings that together reach every default recipient: the report leaves the worklist.
#[actix_rt::test]
async fn two_sendings_completing_the_recipients_take_the_report_off_the_worklist() {
    let w = world().await;
    let n = tries();
    let dossiers = w.dossiers(n, Some(&w.treating), true).await;
    let mut failures = Failures::new("sending × sending");
    for (i, (_, dossier)) in dossiers.iter().enumerate() {
        let path = format!("/api/v1/dossiers/{dossier}/report/transmissions");
        let (a, b, audit) = audited_pair(
            &w.app,
            w.app.post(&path, &w.secretary.token, send(&[&w.member.id])),
            w.app.post(&path, &w.member.token, send(&[&w.treating.id])),
        )
        .await;
        let mut p = problems(&w.app, &[("first sending", &a, 201), ("second sending", &b, 201)]).await;
        p.extend(audit);
        let left = w.waiting().await;
        let expected = u64::try_from(n - i - 1).unwrap();
        if left != expected {
            p.push(format!("{left} reports wait, {expected} expected"));
        }
        failures.record(i, p);
    }
    failures.assert_none();
}

/// A validation and a new correspondent at once: the report waits, for him too.
#[actix_rt::test]
async fn a_validation_racing_a_new_correspondent_lists_the_report() {
    let w = world().await;
    let n = tries();
    let dossiers = w.dossiers(n, None, false).await;
    let mut failures = Failures::new("validation × new correspondent");
    for (i, (patient, dossier)) in dossiers.iter().enumerate() {
        let etag = w.patient_etag(patient).await;
        let (validate, patient_path) = (format!("/api/v1/dossiers/{dossier}/validate"), format!("/api/v1/patients/{patient}"));
        let validation = w.app.post(&validate, &w.chair.token, json!({}));
        let body = json!({"correspondent_ids": [w.newcomer.id]});
        let change = w.app.with_if_match("PATCH", &patient_path, &w.member.token, &etag, body);
        let (validated, changed, audit) = audited_pair(&w.app, validation, change).await;
        let mut p = problems(&w.app, &[("validation", &validated, 200), ("patient change", &changed, 200)]).await;
        p.extend(audit);
        let waiting = w.waiting().await;
        if waiting != u64::try_from(i + 1).unwrap() {
            p.push(format!("{waiting} reports wait, {} expected", i + 1));
        }
        failures.record(i, p);
    }
    failures.assert_none();
}

/// A registration and a new family name of its patient at once: the dossier's copy of the
/// patient's search key (kept by triggers) follows the name that won.
#[actix_rt::test]
async fn a_registration_racing_a_new_family_name_copies_the_name_that_won() {
    let w = world().await;
    let session = w.app.session(&w.coord, &w.rcp, 3).await;
    let mut failures = Failures::new("registration × new family name");
    for i in 0..tries() {
        let patient = w.app.patient(&w.member, &format!("Ancien{i}"), None, &[]).await;
        let etag = w.patient_etag(&patient).await;
        let (register, patient_path) = (format!("/api/v1/sessions/{session}/dossiers"), format!("/api/v1/patients/{patient}"));
        let registration = w.app.post(&register, &w.secretary.token, json!({"patient_id": patient, "requester_id": w.member.id}));
        let body = json!({"family_name": format!("Nouveau{i}")});
        let rename = w.app.with_if_match("PATCH", &patient_path, &w.member.token, &etag, body);
        let (registered, renamed, audit) = audited_pair(&w.app, registration, rename).await;
        let mut p = problems(&w.app, &[("registration", &registered, 201), ("rename", &renamed, 200)]).await;
        p.extend(audit);
        failures.record(i, p);
    }
    failures.assert_none();
}

/// A registration and a new treating physician of its patient at once: the dossier's copy of
/// the patient's treating physician (kept by triggers, the search's treating arm walks it)
/// follows the physician that won; `concerto check` compares every copy with its patient.
#[actix_rt::test]
async fn a_registration_racing_a_new_treating_physician_copies_the_physician_that_won() {
    let w = world().await;
    let session = w.app.session(&w.coord, &w.rcp, 3).await;
    let mut failures = Failures::new("registration × new treating physician");
    for i in 0..tries() {
        let patient = w.app.patient(&w.member, &format!("Suivi{i}"), Some(&w.treating), &[]).await;
        let etag = w.patient_etag(&patient).await;
        let (register, patient_path) = (format!("/api/v1/sessions/{session}/dossiers"), format!("/api/v1/patients/{patient}"));
        let registration = w.app.post(&register, &w.secretary.token, json!({"patient_id": patient, "requester_id": w.member.id}));
        let body = json!({"treating_physician_id": w.newcomer.id});
        let change = w.app.with_if_match("PATCH", &patient_path, &w.member.token, &etag, body);
        let (registered, changed, audit) = audited_pair(&w.app, registration, change).await;
        let mut p = problems(&w.app, &[("registration", &registered, 201), ("treating change", &changed, 200)]).await;
        p.extend(audit);
        failures.record(i, p);
    }
    failures.assert_none();
}

/// `racers` identical removals of a link just granted: each answers 204 (idempotent) and the
/// history records one end (check replays it).
async fn removals_race(w: &World, race: &'static str, grant: (&str, &str), removal: (&str, &str), racers: usize) {
    let mut failures = Failures::new(race);
    for i in 0..tries() {
        let granted = w.app.call("PUT", grant.0, Some(grant.1), None).await;
        let answers = join_all((0..racers).map(|_| w.app.call("DELETE", removal.0, Some(removal.1), None))).await;
        let mut expected: Vec<(&str, &Resp, u16)> = vec![("grant", &granted, 204)];
        expected.extend(answers.iter().map(|r| ("removal", r, 204)));
        failures.record(i, problems(&w.app, &expected).await);
    }
    failures.assert_none();
}

/// Issue 25, 2: six identical `DELETE`s of one delegation, direct or through a group, and of
/// the other links the history records.
#[actix_rt::test]
async fn identical_removals_of_a_direct_delegation_record_one_end() {
    let w = world().await;
    let other = w.app.secretary("Autre", &w.center).await;
    let direct = format!("/api/v1/professionals/{}/secretaries/{}", w.member.id, other.id);
    removals_race(&w, "6 removals of a direct delegation", (&direct, &w.coord.token), (&direct, &w.coord.token), 6).await;
    // The physician himself ends his delegations too.
    removals_race(&w, "6 removals by the physician", (&direct, &w.coord.token), (&direct, &w.member.token), 6).await;
}

#[actix_rt::test]
async fn identical_removals_of_a_group_delegation_record_one_end() {
    let w = world().await;
    let group = w.app.post("/api/v1/secretary-groups", &w.coord.token, json!({"cancer_center_id": w.center, "name": "G"})).await.id();
    let via = format!("/api/v1/professionals/{}/secretary-groups/{group}", w.member.id);
    removals_race(&w, "6 removals of a group's delegation", (&via, &w.coord.token), (&via, &w.coord.token), 6).await;
}

#[actix_rt::test]
async fn identical_removals_of_a_membership_or_a_profile_record_one_end() {
    let w = world().await;
    let admin = w.app.admin().await;
    let other = w.app.secretary("Autre", &w.center).await;
    let group = w.app.post("/api/v1/secretary-groups", &w.coord.token, json!({"cancer_center_id": w.center, "name": "G"})).await.id();
    let membership = format!("/api/v1/secretary-groups/{group}/members/{}", other.id);
    removals_race(&w, "6 removals of a membership", (&membership, &w.coord.token), (&membership, &w.coord.token), 6).await;
    let profile = format!("/api/v1/professionals/{}/profiles/{}/physician", other.id, w.center);
    removals_race(&w, "6 removals of a profile", (&profile, &admin.token), (&profile, &admin.token), 6).await;
}

/// Who holds the member's rights now, by the history (`?at=`), and by the live delegations.
async fn holders_now(w: &World) -> (Vec<String>, Vec<String>) {
    let at = chrono::Utc::now().to_rfc3339().replace('+', "%2B");
    let history = w.app.get(&format!("/api/v1/professionals/{}/delegation-history?at={at}", w.member.id), &w.coord.token).await;
    let mut by_history: Vec<String> =
        history.body["holders_at"].as_array().unwrap().iter().map(|h| h["secretary_id"].as_str().unwrap().to_owned()).collect();
    let live = w.app.get(&format!("/api/v1/professionals/{}/secretaries", w.member.id), &w.coord.token).await;
    let mut by_state: Vec<String> = live.body["secretaries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["via_group_id"].is_null())
        .map(|s| s["secretary_id"].as_str().unwrap().to_owned())
        .collect();
    by_history.sort();
    by_state.sort();
    by_history.dedup();
    (by_history, by_state)
}

/// Issue 25, 3: grants with other dates and ends of one delegation, all at once. Whatever the
/// order, the history replays to the live state, and `?at=now` names who holds it now.
#[actix_rt::test]
async fn grants_racing_ends_leave_a_history_that_tells_the_state() {
    let w = world().await;
    let other = w.app.secretary("Autre", &w.center).await;
    let path = format!("/api/v1/professionals/{}/secretaries/{}", w.member.id, other.id);
    let dates = |days: i64| {
        let from = chrono::Utc::now() - chrono::Duration::days(1);
        json!({"valid_from": from.to_rfc3339(), "valid_until": (from + chrono::Duration::days(days)).to_rfc3339()})
    };
    let mut failures = Failures::new("PUT, DELETE, PUT, DELETE");
    for i in 0..tries() {
        assert_eq!(w.app.put(&path, &w.coord.token, Some(dates(30))).await.status, 204);
        let (a, b, c, d) = futures_util::future::join4(
            w.app.put(&path, &w.coord.token, Some(dates(10))),
            w.app.delete(&path, &w.coord.token),
            w.app.put(&path, &w.coord.token, Some(dates(20))),
            w.app.delete(&path, &w.coord.token),
        )
        .await;
        let mut p = problems(&w.app, &[("grant", &a, 204), ("end", &b, 204), ("grant", &c, 204), ("end", &d, 204)]).await;
        let (by_history, by_state) = holders_now(&w).await;
        if by_history != by_state {
            p.push(format!("the history names {by_history:?} as holders now, the delegations {by_state:?}"));
        }
        failures.record(i, p);
        // The next try starts from a granted delegation whatever this one left.
        w.app.delete(&path, &w.coord.token).await;
    }
    failures.assert_none();
}

/// Two attendance lists recorded at once: the attendance is one of them, never a mix.
#[actix_rt::test]
async fn two_attendance_lists_at_once_leave_one_of_them() {
    let w = world().await;
    let session = w.app.session(&w.coord, &w.rcp, 1).await;
    assert_eq!(w.app.post(&format!("/api/v1/sessions/{session}/start"), &w.chair.token, json!({})).await.status, 200);
    let path = format!("/api/v1/sessions/{session}/attendance");
    let mut a = vec![w.chair.id.clone(), w.member.id.clone()];
    let mut b = vec![w.treating.id.clone(), w.newcomer.id.clone(), w.chair.id.clone()];
    a.sort();
    b.sort();
    let mut failures = Failures::new("attendance × attendance");
    for i in 0..tries() {
        let (ra, rb) = futures_util::future::join(
            w.app.put(&path, &w.chair.token, Some(json!({"present_ids": a}))),
            w.app.put(&path, &w.chair.token, Some(json!({"present_ids": b}))),
        )
        .await;
        let mut p = problems(&w.app, &[("first list", &ra, 200), ("second list", &rb, 200)]).await;
        let now = w.app.get(&path, &w.chair.token).await;
        let mut present: Vec<String> =
            now.body["present"].as_array().unwrap().iter().map(|x| x["professional_id"].as_str().unwrap().to_owned()).collect();
        present.sort();
        if present != a && present != b {
            p.push(format!("attendance {present:?} is neither list"));
        }
        failures.record(i, p);
    }
    failures.assert_none();
}

/// Another complete fiche than `complete_fiche`: another site, a non-conform proposal with its
/// reason, another treatment list, so that every projection (site, conformity, treatment
/// types) differs between the two.
fn other_fiche(mut fiche: Value) -> Value {
    fiche["diagnosis"]["tumour_site"] = json!("C20");
    fiche["framework"]["conform"] = json!(false);
    fiche["framework"]["nonconformity_reason"] = json!("Patient âgé, chirurgie récusée");
    fiche["proposal"]["treatments"] = json!([{"code": "C15313", "order": 1, "intention": "palliative", "detail": null}]);
    fiche
}

/// What the dossier's fiche projections say, read from the store (`dossier_fiches`,
/// `dossier_treatments`).
async fn projections(app: &TestApp, dossier: &str) -> (Option<String>, Option<bool>, Vec<String>) {
    use concerto_persistence::schema::{dossier_fiches as f, dossier_treatments as t};
    use diesel::prelude::*;
    let (pool, id) = (app.pool.clone(), dossier.to_owned());
    actix_web::web::block(move || {
        let mut conn = pool.get().unwrap();
        let (site, conform) = f::table.find(&id).select((f::tumour_site, f::conform)).first(&mut conn).unwrap();
        let treatments = t::table.filter(t::dossier_id.eq(&id)).select(t::code).order(t::code).load(&mut conn).unwrap();
        (site, conform, treatments)
    })
    .await
    .unwrap()
}

/// Issue 27: a fiche change and the validation at once. Either the change wins and the
/// validation validates the changed fiche, or the validation wins and the change is refused
/// (the dossier moved on): the projections are those of the fiche the store holds, the quorum
/// is recorded, one audit event per call (a refused one leaves its `denied` event).
#[actix_rt::test]
async fn a_fiche_change_racing_the_validation_leaves_the_projections_of_the_fiche_validated() {
    let w = world().await;
    let dossiers = w.dossiers(tries(), None, false).await;
    let other = other_fiche(w.app.complete_fiche().await);
    let mut failures = Failures::new("fiche change × validation");
    let mut change_won = 0;
    for (i, (_, dossier)) in dossiers.iter().enumerate() {
        let path = format!("/api/v1/dossiers/{dossier}");
        let etag = w.app.get(&path, &w.chair.token).await.header("etag").unwrap();
        let before = write_events(&w.app).await;
        let (changed, validated) = futures_util::future::join(
            w.app.with_if_match("PATCH", &path, &w.member.token, &etag, json!({"fiche": other})),
            w.app.post(&format!("{path}/validate"), &w.chair.token, json!({})),
        )
        .await;
        let mut p = problems(&w.app, &[("validation", &validated, 200)]).await;
        if ![200, 409, 412].contains(&changed.status) {
            p.push(format!("fiche change: {} {}", changed.status, changed.text));
        }
        // One event per call: the write's, or the `denied` event of a refused one.
        let written = write_events(&w.app).await - before;
        if written != 2 {
            p.push(format!("{written} audit events for two calls"));
        }
        let now = w.app.get(&path, &w.chair.token).await;
        let wanted = if changed.status == 200 { other.clone() } else { w.app.complete_fiche().await };
        if now.body["fiche"] != wanted || now.body["status"] != json!("validated") || now.body["fiche_quorum"] != json!("reached") {
            p.push(format!("after the race: {}", now.text));
        }
        change_won += usize::from(changed.status == 200);
        let site = if changed.status == 200 { "C20" } else { "C18" };
        let (stored_site, _, _) = projections(&w.app, dossier).await;
        if stored_site.as_deref() != Some(site) {
            p.push(format!("tumour site {stored_site:?} projected, {site} expected"));
        }
        failures.record(i, p);
    }
    eprintln!("race fiche change × validation: the change won {change_won} of {} tries", dossiers.len());
    failures.assert_none();
}

/// Two fiche changes from the same version at once: one wins, the other is refused as stale,
/// and the projections are the winner's.
#[actix_rt::test]
async fn two_fiche_changes_at_once_leave_the_projections_of_the_one_that_won() {
    let w = world().await;
    let dossiers = w.dossiers(tries(), None, false).await;
    let (first, second) = (w.app.complete_fiche().await, other_fiche(w.app.complete_fiche().await));
    let mut failures = Failures::new("fiche change × fiche change");
    for (i, (_, dossier)) in dossiers.iter().enumerate() {
        let path = format!("/api/v1/dossiers/{dossier}");
        let etag = w.app.get(&path, &w.chair.token).await.header("etag").unwrap();
        // The dossier holds `first` already: write `second` from one side and a `first` with
        // another comment from the other, so that either winner is visible.
        let mut third = first.clone();
        third["proposal"]["comment"] = json!(format!("Relecture {i}"));
        let (a, b, audit) = audited_pair(
            &w.app,
            w.app.with_if_match("PATCH", &path, &w.member.token, &etag, json!({"fiche": second})),
            w.app.with_if_match("PATCH", &path, &w.chair.token, &etag, json!({"fiche": third})),
        )
        .await;
        let mut p = check_differences(&w.app).await;
        let statuses = [a.status, b.status];
        if statuses != [200, 412] && statuses != [412, 200] {
            p.push(format!("answers {statuses:?}, one 200 and one 412 expected"));
        }
        // One event per call: the winner's write and the loser's `denied`.
        p.extend(audit);
        let (winner, site, conform, treatments) =
            if a.status == 200 { (&second, "C20", false, vec!["C15313"]) } else { (&third, "C18", true, vec!["387713003", "C15632"]) };
        let now = w.app.get(&path, &w.chair.token).await;
        if &now.body["fiche"] != winner {
            p.push(format!("the fiche read is not the winner's: {}", now.text));
        }
        let stored = projections(&w.app, dossier).await;
        let expected = (Some(site.to_owned()), Some(conform), treatments.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>());
        if stored != expected {
            p.push(format!("projections {stored:?}, {expected:?} expected"));
        }
        failures.record(i, p);
    }
    failures.assert_none();
}

/// `concerto check` itself: clean on a store the API wrote, and it names what a direct write
/// broke, with exit status 1 from the binary.
#[actix_rt::test]
async fn check_finds_what_a_direct_write_broke_and_the_binary_exits_1() {
    let w = world().await;
    let dossiers = w.dossiers(1, Some(&w.treating), true).await;
    let direct = format!("/api/v1/professionals/{}/secretaries/{}", w.member.id, w.secretary.id);
    assert_eq!(w.app.delete(&direct, &w.coord.token).await.status, 204);
    assert!(check_differences(&w.app).await.is_empty(), "{:?}", check_differences(&w.app).await);
    let binary = |app: &TestApp| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_concerto"))
            .arg("check")
            .env("DATABASE_URL", app.store.url())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    assert_eq!(binary(&w.app), (Some(0), String::new()));

    let dossier = dossiers[0].1.clone();
    let pool = w.app.pool.clone();
    let (member, secretary) = (w.member.id.clone(), w.secretary.id.clone());
    actix_web::web::block(move || {
        use diesel::connection::SimpleConnection;
        let mut conn = pool.get().unwrap();
        // A report to send lost, an affiliation made behind the history's back.
        conn.batch_execute(&format!("DELETE FROM reports_to_send WHERE dossier_id = '{dossier}'")).unwrap();
        conn.batch_execute(&format!(
            "INSERT INTO secretary_affiliations (physician_id, secretary_id, added_at) VALUES ('{member}', '{secretary}', '2026-01-01 00:00:00')"
        ))
        .unwrap();
    })
    .await
    .unwrap();
    let found = check_differences(&w.app).await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().any(|d| d.starts_with("reports_to_send") && d.contains(&dossiers[0].1)), "{found:?}");
    assert!(found.iter().any(|d| d.starts_with("delegation_events") && d.contains("does not hold it")), "{found:?}");
    let (code, printed) = binary(&w.app);
    assert_eq!(code, Some(1));
    assert_eq!(printed.lines().count(), 2, "{printed}");
}

/// Two refreshes with the same refresh token at the same moment: exactly one rotates it; the
/// other finds it already used, which is a reuse: 401 `refresh_token_reused`, and the session
/// has ended (the winner's new tokens with it). On PostgreSQL the loser's conditional `UPDATE`
/// waits for the winner's row lock and then finds the digest changed.
#[actix_rt::test]
async fn two_refreshes_with_one_token_give_one_success_and_end_the_session() {
    let app = TestApp::spawn().await;
    let center = app.center("C").await;
    let doc = app.physician("Racer", &center).await;
    let mut failures = Failures::new("refresh/refresh");
    for n in 0..tries() {
        let r = app
            .call("POST", "/api/v1/auth/login", None, Some(json!({"username": doc.username, "password": crate::support::PASSWORD})))
            .await;
        let token = r.body["refresh_token"].as_str().unwrap_or_default().to_owned();
        let body = json!({"refresh_token": token});
        let answers = join_all((0..2).map(|_| app.call("POST", "/api/v1/auth/refresh", None, Some(body.clone())))).await;
        let mut problems = Vec::new();
        let winners: Vec<&Resp> = answers.iter().filter(|r| r.status == 200).collect();
        if winners.len() != 1 {
            problems.push(format!("{} successes", winners.len()));
        }
        if !answers.iter().any(|r| r.status == 401 && r.code() == "refresh_token_reused") {
            problems.push(format!("no reuse: {} / {}", answers[0].text, answers[1].text));
        }
        if let Some(winner) = winners.first() {
            let access = winner.body["access_token"].as_str().unwrap_or_default();
            if app.get("/api/v1/me", access).await.status != 401 {
                problems.push("the session outlived the reuse".to_owned());
            }
        }
        failures.record(n, problems);
    }
    failures.assert_none();
}

/// Issue 30: writes that change the activity counters of one RCP-month at once — two
/// validations in one session, two validations in two sessions of the same day (their month's,
/// year's, center's and region's rows are shared, their sessions' locks are not), a
/// registration and a withdrawal in one planned session. `concerto check` recomputes every
/// counter after each try, and the report counts what the dossiers say.
#[actix_rt::test]
async fn writes_racing_on_one_month_leave_exact_activity_counters() {
    let w = world().await;
    let n = tries();
    let first = w.dossiers(2 * n, None, false).await;
    let second = w.dossiers(n, None, false).await;
    let planned = w.app.session(&w.coord, &w.rcp, 2).await;
    let mut withdrawable = Vec::new();
    for i in 0..n {
        let patient = w.app.patient(&w.member, &format!("Leaving{i}"), None, &[]).await;
        withdrawable.push(w.app.dossier(&w.secretary, &planned, &patient, &w.member).await);
    }
    let mut failures = Failures::new("activity counters: validation × validation, registration × withdrawal");
    for i in 0..n {
        let path = |id: &str| format!("/api/v1/dossiers/{id}/validate");
        let (p1, p2, p3) = (path(&first[2 * i].1), path(&first[2 * i + 1].1), path(&second[i].1));
        let token = w.chair.token.as_str();
        // Two dossiers of one session.
        let (a, b) = futures_util::future::join(w.app.post(&p1, token, json!({})), w.app.post(&p2, token, json!({}))).await;
        let mut p = problems(&w.app, &[("validation", &a, 200), ("validation", &b, 200)]).await;
        // Two sessions of the same day.
        let (a, b) = futures_util::future::join(w.app.post(&p1, token, json!({})), w.app.post(&p3, token, json!({}))).await;
        p.extend(problems(&w.app, &[("validation again", &a, 409), ("validation", &b, 200)]).await);
        // A registration and a withdrawal in one planned session.
        let patient = w.app.patient(&w.member, &format!("Arriving{i}"), None, &[]).await;
        let path = format!("/api/v1/dossiers/{}", withdrawable[i]);
        let (_, withdrawn) = futures_util::future::join(
            w.app.dossier(&w.secretary, &planned, &patient, &w.member),
            w.app.with_if_match("PATCH", &path, &w.member.token, "\"1\"", json!({"status": "withdrawn"})),
        )
        .await;
        p.extend(problems(&w.app, &[("withdrawal", &withdrawn, 200)]).await);
        failures.record(i, p);
    }
    failures.assert_none();
    // The report reads the counters: every validation and withdrawal counted once.
    let month = |days: i64| (chrono::Utc::now() + chrono::Duration::days(days)).format("%Y-%m").to_string();
    let (from, to) = (month(0), month(62));
    let r = w.app.get(&format!("/api/v1/reports/activity?rcp_id={}&from={from}-01&to={to}-01", w.rcp), &w.coord.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let row = &r.body["items"][0];
    assert_eq!(row["dossiers_validated"], json!(3 * n), "{row}");
    assert_eq!(row["dossiers_withdrawn"], json!(n), "{row}");
    assert_eq!(row["dossiers_registered"], json!(5 * n), "{row}");
    assert_eq!(row["sessions_held"], json!(2), "{row}");
}
