//! The board's own rules: specialties, attendance, quorum, and the activity report.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use crate::support::{TestApp, User, assert_problem};

/// One center, an RCP chaired by `chair` with `member`, the chair's secretary, a manager, and a
/// physician of another center.
struct Board {
    app: TestApp,
    center: String,
    coord: User,
    chair: User,
    member: User,
    sec_chair: User,
    manager: User,
    elsewhere: User,
    rcp: String,
}

async fn board() -> Board {
    let app = TestApp::spawn().await;
    let center = app.center("3C Nord").await;
    let other = app.center("3C Sud").await;
    let coord = app.coordinator(&center).await;
    let chair = app.physician("Chair", &center).await;
    let member = app.physician("Member", &center).await;
    let sec_chair = app.secretary("SecChair", &center).await;
    let manager = app.physician("Manager", &center).await;
    let elsewhere = app.physician("Elsewhere", &other).await;
    let rcp = app.rcp(&coord, &center, "RCP digestive").await;
    app.member(&coord, &rcp, &chair, "animateur").await;
    app.member(&coord, &rcp, &member, "participant").await;
    app.affiliate(&coord, &chair, &sec_chair).await;
    assert_eq!(app.put(&format!("/api/v1/rcps/{rcp}/managers/{}", manager.id), &coord.token, None).await.status, 204);
    Board { app, center, coord, chair, member, sec_chair, manager, elsewhere, rcp }
}

async fn set_specialty(app: &TestApp, by: &User, who: &User, specialty: &str) {
    let r = app.put(&format!("/api/v1/professionals/{}/specialty", who.id), &by.token, Some(json!({"specialty": specialty}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn attend(app: &TestApp, by: &User, session: &str, present: &[&User]) -> crate::support::Resp {
    let ids: Vec<&str> = present.iter().map(|u| u.id.as_str()).collect();
    app.put(&format!("/api/v1/sessions/{session}/attendance"), &by.token, Some(json!({"present_ids": ids}))).await
}

async fn propose(app: &TestApp, by: &User, dossier: &str) {
    let etag = app.get(&format!("/api/v1/dossiers/{dossier}"), &by.token).await.header("etag").unwrap();
    let r = app
        .with_if_match(
            "PATCH",
            &format!("/api/v1/dossiers/{dossier}"),
            &by.token,
            &etag,
            json!({"proposal": "RCC", "fiche": app.complete_fiche().await}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[actix_rt::test]
async fn specialties_are_set_by_coordinators_and_searchable() {
    let b = board().await;
    let app = &b.app;
    let body = Some(json!({"specialty": "surgery", "subspecialty": "digestive"}));
    let path = format!("/api/v1/professionals/{}/specialty", b.member.id);
    assert_problem(&app.put(&path, &b.member.token, body.clone()).await, 403, "center_coordinator_required");
    let r = app.put(&path, &b.coord.token, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["subspecialty"], "digestive");
    assert_problem(&app.put(&path, &b.coord.token, Some(json!({"specialty": "astrology"}))).await, 422, "validation_failed");
    let sec = format!("/api/v1/professionals/{}/specialty", b.sec_chair.id);
    assert_problem(&app.put(&sec, &b.coord.token, Some(json!({"specialty": "other"}))).await, 422, "not_a_physician");
    // The coordinator of another center may not; the administrator may.
    let admin = app.admin().await;
    let theirs = format!("/api/v1/professionals/{}/specialty", b.elsewhere.id);
    assert_problem(&app.put(&theirs, &b.coord.token, Some(json!({"specialty": "radiology"}))).await, 403, "center_coordinator_required");
    assert_eq!(app.put(&theirs, &admin.token, Some(json!({"specialty": "radiology"}))).await.status, 200);

    let detail = app.get(&format!("/api/v1/professionals/{}", b.member.id), &b.chair.token).await;
    assert_eq!((detail.body["specialty"].clone(), detail.body["subspecialty"].clone()), (json!("surgery"), json!("digestive")));
    let found = app.get("/api/v1/professionals?specialty=surgery", &b.chair.token).await;
    let ids: Vec<&str> = found.body["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![b.member.id.as_str()]);
    assert_eq!(app.get("/api/v1/professionals?specialty=pathology", &b.chair.token).await.body["items"], json!([]));
}

#[actix_rt::test]
async fn attendance_is_recorded_during_the_session_by_the_animateurs_and_their_secretaries() {
    let b = board().await;
    let app = &b.app;
    let session = app.session(&b.coord, &b.rcp, 1).await;
    assert_problem(&attend(app, &b.chair, &session, &[&b.member]).await, 409, "session_not_in_progress");
    assert_eq!(app.post(&format!("/api/v1/sessions/{session}/start"), &b.chair.token, json!({})).await.status, 200);
    assert_problem(&attend(app, &b.member, &session, &[&b.member]).await, 403, "not_animateur");
    assert_problem(&attend(app, &b.chair, &session, &[&b.sec_chair]).await, 422, "not_an_attendee");
    assert_problem(&attend(app, &b.chair, &session, &[&b.elsewhere]).await, 422, "not_an_attendee");
    // A member, and a physician of the center invited (not a member).
    let r = attend(app, &b.sec_chair, &session, &[&b.member, &b.manager, &b.member]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["present"].as_array().unwrap().len(), 2);
    assert_eq!(r.body["quorum"]["met"], json!(false));
    assert_eq!(r.body["quorum"]["missing_physicians"], json!(1));
    assert_eq!(r.body["quorum"]["missing_specialties"], json!(3));
    let read = app.get(&format!("/api/v1/sessions/{session}/attendance"), &b.chair.token).await;
    assert_eq!(read.body["present"], r.body["present"]);
    assert_problem(&app.get(&format!("/api/v1/sessions/{session}/attendance"), &b.member.token).await, 403, "not_animateur");
    let run = app.get(&format!("/api/v1/sessions/{session}/run"), &b.chair.token).await;
    assert_eq!(run.body["attendance"]["present"], r.body["present"], "{}", run.text);
    // The list replaces the previous one.
    let r = attend(app, &b.chair, &session, &[&b.chair]).await;
    assert_eq!(r.body["present"][0]["professional_id"], json!(b.chair.id));
    assert_eq!(r.body["present"].as_array().unwrap().len(), 1);
}

#[actix_rt::test]
async fn validation_needs_the_quorum_the_rcp_asks_for() {
    let b = board().await;
    let app = &b.app;
    let quorum = format!("/api/v1/rcps/{}/quorum", b.rcp);
    assert_eq!(
        app.get(&quorum, &b.member.token).await.body,
        json!({"min_physicians": 3, "min_specialties": 3, "required_specialties": []})
    );
    let digestive = json!({"min_physicians": 3, "min_specialties": 2, "required_specialties": ["surgery"]});
    assert_problem(&app.put(&quorum, &b.member.token, Some(digestive.clone())).await, 403, "forbidden");
    let bad = json!({"min_physicians": 2, "min_specialties": 3, "required_specialties": []});
    assert_problem(&app.put(&quorum, &b.manager.token, Some(bad)).await, 422, "invalid_quorum");
    assert_eq!(app.put(&quorum, &b.manager.token, Some(digestive.clone())).await.body, digestive);

    let session = app.session(&b.coord, &b.rcp, 1).await;
    let patient = app.patient(&b.member, "Dupont", None, &[]).await;
    let dossier = app.dossier(&b.member, &session, &patient, &b.member).await;
    assert_eq!(app.post(&format!("/api/v1/sessions/{session}/start"), &b.chair.token, json!({})).await.status, 200);
    propose(app, &b.member, &dossier).await;
    let validate = format!("/api/v1/dossiers/{dossier}/validate");
    set_specialty(app, &b.coord, &b.chair, "medical_oncology").await;
    set_specialty(app, &b.coord, &b.member, "radiotherapy").await;
    set_specialty(app, &b.coord, &b.manager, "radiology").await;
    // Three physicians of three specialties, but no surgeon.
    assert_eq!(attend(app, &b.chair, &session, &[&b.chair, &b.member, &b.manager]).await.status, 200);
    let refused = app.post(&validate, &b.sec_chair.token, json!({})).await;
    assert_problem(&refused, 409, "quorum_not_met");
    assert_eq!(refused.body["missing"]["missing_required"], json!(["surgery"]), "{}", refused.text);
    assert_eq!(refused.body["missing"]["missing_physicians"], json!(0));
    // Dr Member's specialty is corrected: he is the surgeon; the same attendance now holds.
    set_specialty(app, &b.coord, &b.member, "surgery").await;
    let v = app.post(&validate, &b.sec_chair.token, json!({})).await;
    assert_eq!(v.status, 200, "{}", v.text);

    // A session closes without its quorum; its dossiers stay unvalidated.
    let other = app.session(&b.coord, &b.rcp, 2).await;
    let waiting = app.dossier(&b.member, &other, &patient, &b.member).await;
    assert_eq!(app.post(&format!("/api/v1/sessions/{other}/start"), &b.chair.token, json!({})).await.status, 200);
    propose(app, &b.member, &waiting).await;
    assert_problem(&app.post(&format!("/api/v1/dossiers/{waiting}/validate"), &b.chair.token, json!({})).await, 409, "quorum_not_met");
    assert_eq!(app.post(&format!("/api/v1/sessions/{other}/close"), &b.chair.token, json!({})).await.status, 200);
    assert_eq!(app.get(&format!("/api/v1/dossiers/{waiting}"), &b.member.token).await.body["status"], "discussed");
}

#[actix_rt::test]
async fn a_physician_recategorised_loses_his_specialty_and_his_place_in_the_quorum() {
    let b = board().await;
    let app = &b.app;
    let quorum = format!("/api/v1/rcps/{}/quorum", b.rcp);
    let two = json!({"min_physicians": 3, "min_specialties": 0, "required_specialties": []});
    assert_eq!(app.put(&quorum, &b.manager.token, Some(two)).await.status, 200);
    set_specialty(app, &b.coord, &b.manager, "radiology").await;
    let session = app.session(&b.coord, &b.rcp, 1).await;
    let patient = app.patient(&b.member, "Dupont", None, &[]).await;
    let dossier = app.dossier(&b.member, &session, &patient, &b.member).await;
    assert_eq!(app.post(&format!("/api/v1/sessions/{session}/start"), &b.chair.token, json!({})).await.status, 200);
    propose(app, &b.member, &dossier).await;
    assert_eq!(attend(app, &b.chair, &session, &[&b.chair, &b.member, &b.manager]).await.status, 200);

    // Dr Manager is a nurse after all: no specialty left, and two physicians are present.
    let r = app.put(&format!("/api/v1/professionals/{}/category", b.manager.id), &b.coord.token, Some(json!({"category": "nurse"}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let detail = app.get(&format!("/api/v1/professionals/{}", b.manager.id), &b.chair.token).await;
    assert_eq!((detail.body["category"].clone(), detail.body["specialty"].clone()), (json!("nurse"), Value::Null), "{}", detail.text);
    assert_eq!(app.get("/api/v1/professionals?specialty=radiology", &b.chair.token).await.body["items"], json!([]));
    let read = app.get(&format!("/api/v1/sessions/{session}/attendance"), &b.chair.token).await;
    assert_eq!(read.body["present"].as_array().unwrap().len(), 2, "{}", read.text);
    let refused = app.post(&format!("/api/v1/dossiers/{dossier}/validate"), &b.chair.token, json!({})).await;
    assert_problem(&refused, 409, "quorum_not_met");
    assert_eq!(refused.body["missing"]["missing_physicians"], json!(1), "{}", refused.text);
    // A physician again, he counts again (his specialty is gone: a physician without one).
    let r =
        app.put(&format!("/api/v1/professionals/{}/category", b.manager.id), &b.coord.token, Some(json!({"category": "physician"}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.get(&format!("/api/v1/professionals/{}", b.manager.id), &b.chair.token).await.body["specialty"], Value::Null);
    let v = app.post(&format!("/api/v1/dossiers/{dossier}/validate"), &b.chair.token, json!({})).await;
    assert_eq!(v.status, 200, "{}", v.text);
}

#[actix_rt::test]
async fn writes_without_an_etag_refuse_a_foreign_if_match_and_keep_everything() {
    let b = board().await;
    let app = &b.app;
    let quorum = format!("/api/v1/rcps/{}/quorum", b.rcp);
    let before = app.get(&quorum, &b.member.token).await.body;
    let rule = json!({"min_physicians": 2, "min_specialties": 1, "required_specialties": []});
    let r = app.with_if_match("PUT", &quorum, &b.manager.token, "\"not-one-of-ours\"", rule.clone()).await;
    assert_problem(&r, 412, "precondition_failed");
    assert_eq!(app.get(&quorum, &b.member.token).await.body, before);
    // The body is judged first.
    let bad = json!({"min_physicians": 0, "min_specialties": 0, "required_specialties": []});
    assert_problem(&app.with_if_match("PUT", &quorum, &b.manager.token, "\"x\"", bad).await, 422, "invalid_quorum");
    // A category, a membership: refused alike, nothing changed.
    let category = format!("/api/v1/professionals/{}/category", b.manager.id);
    let r = app.with_if_match("PUT", &category, &b.coord.token, "W/\"1\"", json!({"category": "nurse"})).await;
    assert_problem(&r, 412, "precondition_failed");
    assert_eq!(app.get(&format!("/api/v1/professionals/{}", b.manager.id), &b.coord.token).await.body["category"], "physician");
    let member = format!("/api/v1/rcps/{}/members/{}", b.rcp, b.member.id);
    let r = app.raw("DELETE", &member, Some(&b.coord.token), &[("if-match", "\"1\"")], Vec::new()).await;
    assert_problem(&r, 412, "precondition_failed");
    let members = app.get(&format!("/api/v1/rcps/{}", b.rcp), &b.coord.token).await;
    assert!(members.text.contains(&b.member.id), "{}", members.text);
    // `*`, or an empty header, is no obstacle.
    assert_eq!(app.with_if_match("PUT", &quorum, &b.manager.token, "*", rule.clone()).await.status, 200);
    assert_eq!(app.get(&quorum, &b.member.token).await.body, rule);
    assert_eq!(app.with_if_match("PUT", &category, &b.coord.token, "", json!({"category": "nurse"})).await.status, 200);
}

/// The activity report's rows by key, over the days around today where the tests' sessions are.
async fn activity(app: &TestApp, by: &User, query: &str) -> BTreeMap<String, Value> {
    let r = app.get(&format!("/api/v1/reports/activity?{query}&{}", period()), &by.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().iter().map(|row| (row["key"].as_str().unwrap().to_owned(), row.clone())).collect()
}

#[actix_rt::test]
async fn the_activity_report_is_for_coordinators_managers_and_the_administrator_without_small_numbers() {
    let b = board().await;
    let app = &b.app;
    let session = app.session(&b.coord, &b.rcp, 1).await;
    for i in 0..5 {
        let requester = if i < 3 { &b.member } else { &b.chair };
        let patient = app.patient(requester, &format!("Patient{i}"), None, &[]).await;
        app.dossier(requester, &session, &patient, requester).await;
    }
    let center = format!("cancer_center_id={}", b.center);
    let rows = activity(app, &b.coord, &center).await;
    assert_eq!(rows[&b.rcp]["dossiers_registered"], json!(5));
    assert_eq!(rows[&b.rcp]["label"], json!("RCP digestive"));
    assert_eq!(rows[&b.rcp]["sessions_held"], json!(0));
    assert_problem(&app.get(&format!("/api/v1/reports/activity?{center}"), &b.member.token).await, 403, "forbidden");
    assert_problem(&app.get(&format!("/api/v1/reports/activity?{center}"), &b.manager.token).await, 403, "forbidden");
    let by_rcp = format!("rcp_id={}", b.rcp);
    assert_eq!(activity(app, &b.manager, &by_rcp).await.len(), 1);
    // A coordinator who names no center reads her own center's report; one of two centers
    // must name it, and the refusal names the parameter.
    assert_eq!(activity(app, &b.coord, "by=rcp").await, activity(app, &b.coord, &center).await);
    let admin = app.admin().await;
    let elsewhere = app.center("3C elsewhere").await;
    let path = format!("/api/v1/professionals/{}/profiles/{elsewhere}/center_coordinator", b.coord.id);
    assert_eq!(app.put(&path, &admin.token, None).await.status, 204);
    let r = app.get("/api/v1/reports/activity", &b.coord.token).await;
    assert_problem(&r, 422, "invalid_query");
    assert_eq!(r.body["errors"][0]["field"], "cancer_center_id", "{}", r.text);
    assert_eq!(activity(app, &b.coord, &center).await[&b.rcp]["dossiers_registered"], json!(5));
    // Anyone else who names nothing is still refused.
    assert_problem(&app.get("/api/v1/reports/activity", &b.member.token).await, 403, "forbidden");
    // Three and two dossiers of two requesters: suppressed for the coordinator and the administrator.
    let rows = activity(app, &b.coord, &format!("{center}&by=requester")).await;
    assert_eq!(rows[&b.member.id]["suppressed"], json!(true));
    assert_eq!(rows[&b.member.id]["dossiers_registered"], json!(null));
    assert_eq!(rows[&b.chair.id]["suppressed"], json!(true));
    assert_eq!(activity(app, &admin, "by=requester").await[&b.member.id]["suppressed"], json!(true));
    // CSV for a spreadsheet.
    let csv_path = format!("/api/v1/reports/activity?{center}&{}", period());
    let csv = app.raw("GET", &csv_path, Some(&b.coord.token), &[("accept", "text/csv")], Vec::new()).await;
    assert_eq!(csv.status, 200);
    assert!(csv.text.starts_with("key,label,sessions_held,"), "{}", csv.text);
    assert!(csv.text.contains(&format!("{},RCP digestive,0,5,0,0,0,0,", b.rcp)), "{}", csv.text);
    assert_problem(
        &app.get(&format!("/api/v1/reports/activity?{center}&from=2026-02-01&to=2026-01-01"), &b.coord.token).await,
        422,
        "invalid_period",
    );
    // Whole months only: the figures are counted by month.
    let r = app.get(&format!("/api/v1/reports/activity?{center}&from=2026-01-02&to=2026-03-01"), &b.coord.token).await;
    assert_problem(&r, 422, "invalid_period");
    assert_eq!(r.body["errors"][0]["field"], "from", "{}", r.text);
    let r = app.get(&format!("/api/v1/reports/activity?{center}&from=2026-01-01&to=2026-03-15"), &b.coord.token).await;
    assert_problem(&r, 422, "invalid_period");
    assert_eq!(r.body["errors"][0]["field"], "to", "{}", r.text);
}

/// The attack of issue 25: the RCP's total minus the visible requester rows gave back a
/// suppressed requester's figures, and a specialty of one requester showed them unsuppressed.
#[actix_rt::test]
async fn no_breakdown_gives_back_a_suppressed_row_by_subtraction() {
    let b = board().await;
    let app = &b.app;
    let third = app.physician("Third", &b.center).await;
    app.member(&b.coord, &b.rcp, &third, "participant").await;
    set_specialty(app, &b.coord, &b.member, "surgery").await;
    set_specialty(app, &b.coord, &b.chair, "radiotherapy").await;
    set_specialty(app, &b.coord, &third, "pathology").await;
    let session = app.session(&b.coord, &b.rcp, 1).await;
    for (requester, n) in [(&b.member, 3), (&b.chair, 6), (&third, 8)] {
        for i in 0..n {
            let patient = app.patient(requester, &format!("P{}{i}", requester.id.get(..4).unwrap_or_default()), None, &[]).await;
            app.dossier(requester, &session, &patient, requester).await;
        }
    }
    let scope = format!("rcp_id={}", b.rcp);
    let total = activity(app, &b.manager, &scope).await[&b.rcp]["dossiers_registered"].as_i64().unwrap();
    assert_eq!(total, 17);
    for (by, small, next, large) in
        [("requester", &b.member.id, &b.chair.id, &third.id), ("specialty", &"surgery".into(), &"radiotherapy".into(), &"pathology".into())]
    {
        let rows = activity(app, &b.manager, &format!("{scope}&by={by}")).await;
        let shows = |k: &String| rows[k]["suppressed"] == json!(false);
        assert!(!shows(small) && !shows(next) && shows(large), "by {by}: {rows:?}");
        // What subtraction leaves is the two suppressed rows together, not either one.
        let visible: i64 = rows.values().filter_map(|r| r["dossiers_registered"].as_i64()).sum();
        assert_eq!(total - visible, 9, "by {by}");
    }
    // The requester reads his own row whatever its size, and the rows that would give back
    // another's are still hidden from him.
    assert_eq!(app.put(&format!("/api/v1/rcps/{}/managers/{}", b.rcp, b.member.id), &b.coord.token, None).await.status, 204);
    let his = activity(app, &b.member, &format!("{scope}&by=requester")).await;
    assert_eq!(his[&b.member.id]["dossiers_registered"], json!(3));
    assert!(his[&b.chair.id]["suppressed"] == json!(false) && his[&third.id]["suppressed"] == json!(false), "{his:?}");
}

/// Whole months (the report's grain) around the days ahead where the tests' sessions are.
fn period() -> String {
    use chrono::Datelike;
    let month = chrono::Utc::now().date_naive().with_day(1).unwrap();
    format!("from={month}&to={}", month + chrono::Months::new(2))
}

/// What becomes of one dossier in a random world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Registered,
    Withdrawn,
    Discussed,
    Validated,
    Sent,
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![Just(Fate::Registered), Just(Fate::Withdrawn), Just(Fate::Discussed), Just(Fate::Validated), Just(Fate::Sent)]
}

/// The tumour sites and treatment types the random fiches draw from.
const SITES: [&str; 2] = ["C34", "C50"];
const TREATMENTS: [&str; 3] = ["387713003", "C15632", "MED-226"];

/// A dossier's fiche projections: no fiche, or a site (an index of `SITES`, or none), the
/// conformity, and the treatment types (a bit mask over `TREATMENTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FicheCase {
    site: Option<usize>,
    conform: Option<bool>,
    types: u8,
}

fn fiche_case() -> impl Strategy<Value = Option<FicheCase>> {
    proptest::option::weighted(
        0.8,
        (proptest::option::of(0..SITES.len()), proptest::option::of(any::<bool>()), 0u8..8).prop_map(|(site, conform, types)| FicheCase {
            site,
            conform,
            types,
        }),
    )
}

impl FicheCase {
    fn fiche(&self) -> concerto_domain::fiche::Fiche {
        use concerto_domain::fiche::{Diagnosis, Fiche, Framework, Proposal, Treatment};
        let treatments = (0..TREATMENTS.len())
            .filter(|t| self.types & (1 << t) != 0)
            .map(|t| Treatment { code: TREATMENTS[t].to_owned(), order: 1, intention: None, detail: None })
            .collect();
        Fiche {
            // A site given with its subdivision counts by its category.
            diagnosis: Some(Diagnosis { tumour_site: self.site.map(|s| format!("{}.1", SITES[s])), ..Diagnosis::default() }),
            proposal: Some(Proposal { treatments, ..Proposal::default() }),
            framework: Some(Framework { conform: self.conform, ..Framework::default() }),
            ..Fiche::default()
        }
    }
}

/// One session: held or not, quorum or not, and its dossiers' fates by requester (0 or 1),
/// with their fiches.
#[derive(Debug, Clone)]
struct SessionCase {
    held: bool,
    quorum: bool,
    dossiers: Vec<(usize, Fate)>,
    fiches: Vec<Option<FicheCase>>,
}

fn session_case() -> impl Strategy<Value = SessionCase> {
    (any::<bool>(), any::<bool>(), proptest::collection::vec((0..2usize, fate(), fiche_case()), 0..7)).prop_map(
        |(held, quorum, dossiers)| {
            let fiches = dossiers.iter().map(|(_, _, f)| *f).collect();
            // Only a held session with its quorum discusses and validates.
            let dossiers = dossiers
                .into_iter()
                .map(|(r, f, _)| match f {
                    Fate::Discussed | Fate::Validated | Fate::Sent if !held => (r, Fate::Registered),
                    Fate::Validated | Fate::Sent if !quorum => (r, Fate::Discussed),
                    other => (r, other),
                })
                .collect();
            SessionCase { held, quorum: quorum && held, dossiers, fiches }
        },
    )
}

/// Nearest-rank percentile of sorted values.
fn rank(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    (n > 0).then(|| sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1])
}

/// The activity figures equal those computed from the raw dossiers the test created.
#[test]
fn activity_figures_equal_those_of_the_raw_dossiers() {
    let system = actix_rt::System::new();
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(6).min(12);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let result = runner.run(&proptest::collection::vec(session_case(), 1..4), |cases| {
        system.block_on(async move {
            let b = board().await;
            let app = &b.app;
            let requesters = [&b.member, &b.chair];
            let attendees = [app.physician("A1", &b.center).await, app.physician("A2", &b.center).await];
            set_specialty(app, &b.coord, &b.member, "surgery").await;
            set_specialty(app, &b.coord, &attendees[0], "radiology").await;
            set_specialty(app, &b.coord, &attendees[1], "pathology").await;
            let mut created = Vec::new();
            for (k, case) in cases.iter().enumerate() {
                let session = app.session(&b.coord, &b.rcp, 1 + k as i64).await;
                let mut ids = Vec::new();
                for (i, (r, f)) in case.dossiers.iter().enumerate() {
                    let patient = app.patient(requesters[*r], &format!("P{k}x{i}"), None, &[]).await;
                    let id = app.dossier(requesters[*r], &session, &patient, requesters[*r]).await;
                    if *f == Fate::Withdrawn {
                        let path = format!("/api/v1/dossiers/{id}");
                        let r = app.with_if_match("PATCH", &path, &requesters[*r].token, "\"1\"", json!({"status": "withdrawn"})).await;
                        assert_eq!(r.status, 200, "{}", r.text);
                    }
                    ids.push(id);
                }
                if case.held {
                    assert_eq!(app.post(&format!("/api/v1/sessions/{session}/start"), &b.chair.token, json!({})).await.status, 200);
                    let present: Vec<&User> = if case.quorum { vec![&b.member, &attendees[0], &attendees[1]] } else { vec![&b.member] };
                    assert_eq!(attend(app, &b.chair, &session, &present).await.status, 200);
                }
                for (id, (_, f)) in ids.iter().zip(&case.dossiers) {
                    if matches!(f, Fate::Discussed | Fate::Validated | Fate::Sent) {
                        propose(app, &b.chair, id).await;
                    }
                    if matches!(f, Fate::Validated | Fate::Sent) {
                        assert_eq!(app.post(&format!("/api/v1/dossiers/{id}/validate"), &b.chair.token, json!({})).await.status, 200);
                    }
                    if *f == Fate::Sent {
                        let body = json!({"recipient_ids": [b.member.id], "channel": "mail"});
                        assert_eq!(
                            app.post(&format!("/api/v1/dossiers/{id}/report/transmissions"), &b.chair.token, body).await.status,
                            201
                        );
                    }
                    created.push(id.clone());
                }
                // The fiches' projections, as the dossier's writes leave them. A dossier without
                // a fiche in the case gets an empty one: validation made it hold the complete
                // fiche the test sends (`support::complete_fiche`), which the case does not count.
                for (id, fiche) in ids.iter().zip(&case.fiches) {
                    let (pool, id) = (app.pool.clone(), id.clone());
                    let fiche = fiche.as_ref().map(FicheCase::fiche).unwrap_or_default();
                    actix_web::web::block(move || {
                        concerto_persistence::fiche::save(&mut pool.get().unwrap(), &id, &fiche, chrono::Utc::now().naive_utc())
                    })
                    .await
                    .unwrap()
                    .unwrap();
                }
            }
            // Expected, from the dossiers as the API shows them.
            let mut validation = Vec::new();
            let mut sending = Vec::new();
            let count = |pred: &dyn Fn(&Fate) -> bool| cases.iter().flat_map(|c| &c.dossiers).filter(|(_, f)| pred(f)).count() as i64;
            let registered = count(&|_| true);
            let discussed = count(&|f| matches!(f, Fate::Discussed | Fate::Validated | Fate::Sent));
            let validated = count(&|f| matches!(f, Fate::Validated | Fate::Sent));
            let withdrawn = count(&|f| *f == Fate::Withdrawn);
            let sent = count(&|f| *f == Fate::Sent);
            let ts = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
            for id in &created {
                let d = app.get(&format!("/api/v1/dossiers/{id}"), &b.chair.token).await.body;
                if d["validated_at"].is_string() {
                    validation.push((ts(&d["validated_at"]) - ts(&d["created_at"])).num_microseconds().unwrap() as f64 / 3.6e9);
                    let t = app.get(&format!("/api/v1/dossiers/{id}/report/transmissions"), &b.chair.token).await.body;
                    if let Some(first) = t["items"].as_array().unwrap().iter().map(|x| ts(&x["sent_at"])).min() {
                        sending.push((first - ts(&d["validated_at"])).num_microseconds().unwrap() as f64 / 3.6e9);
                    }
                }
            }
            validation.sort_by(f64::total_cmp);
            sending.sort_by(f64::total_cmp);
            let held = cases.iter().filter(|c| c.held).count() as i64;
            let reached = cases.iter().filter(|c| c.quorum).count() as i64;

            let rows = activity(app, &b.coord, &format!("rcp_id={}", b.rcp)).await;
            // No session held and no dossier: nothing to report, no row.
            let Some(row) = rows.get(&b.rcp) else {
                prop_assert_eq!((held, registered), (0, 0));
                return Ok(());
            };
            // Fewer than five dossiers: the row shows nothing, and nor does any other cut.
            if (1..5).contains(&registered) {
                prop_assert_eq!(row["suppressed"].as_bool(), Some(true), "{}", row);
                prop_assert!(row["dossiers_registered"].is_null() && row["sessions_held"].is_null(), "{}", row);
                for by in ["month", "specialty", "requester", "tumour_site", "proposal_type"] {
                    let cut = activity(app, &b.coord, &format!("rcp_id={}&by={by}", b.rcp)).await;
                    prop_assert!(
                        cut.values().all(|r| r["suppressed"] == json!(true) || r["dossiers_registered"] == json!(0)),
                        "by {}: {:?}",
                        by,
                        cut
                    );
                }
                return Ok(());
            }
            prop_assert_eq!(row["sessions_held"].as_i64(), Some(held));
            prop_assert_eq!(row["dossiers_registered"].as_i64(), Some(registered));
            prop_assert_eq!(row["dossiers_discussed"].as_i64(), Some(discussed));
            prop_assert_eq!(row["dossiers_validated"].as_i64(), Some(validated));
            prop_assert_eq!(row["dossiers_withdrawn"].as_i64(), Some(withdrawn));
            prop_assert_eq!(row["reports_sent"].as_i64(), Some(sent));
            let close = |got: &Value, want: Option<f64>| match (got.as_f64(), want) {
                (None, None) => true,
                (Some(g), Some(w)) => (g - w).abs() < 1e-3,
                _ => false,
            };
            prop_assert!(close(&row["validation_delay_hours"]["median"], rank(&validation, 0.5)), "{} vs {:?}", row, validation);
            prop_assert!(close(&row["validation_delay_hours"]["p90"], rank(&validation, 0.9)), "{} vs {:?}", row, validation);
            prop_assert!(close(&row["sending_delay_hours"]["median"], rank(&sending, 0.5)), "{} vs {:?}", row, sending);
            prop_assert!(close(&row["sending_delay_hours"]["p90"], rank(&sending, 0.9)), "{} vs {:?}", row, sending);
            let rate = (held > 0).then(|| reached as f64 / held as f64);
            prop_assert!(close(&row["quorum_rate"], rate), "{} vs {:?}", row, rate);
            // Every dossier with its fiche (or none), and what each key of the fiche's
            // breakdowns expects: (dossiers, validated, validated conform, validated saying).
            let all: Vec<(Fate, Option<FicheCase>)> =
                cases.iter().flat_map(|c| c.dossiers.iter().map(|(_, f)| *f).zip(c.fiches.iter().copied())).collect();
            let is_validated = |f: &Fate| matches!(f, Fate::Validated | Fate::Sent);
            type Expected = BTreeMap<String, (i64, i64, i64, i64)>;
            let tally = |keys: &dyn Fn(Option<FicheCase>) -> Vec<String>| {
                let mut want = Expected::new();
                for (f, fiche) in &all {
                    for k in keys(*fiche) {
                        let e = want.entry(k).or_default();
                        e.0 += 1;
                        if is_validated(f) {
                            e.1 += 1;
                            let conform = fiche.and_then(|c| c.conform);
                            e.2 += i64::from(conform == Some(true));
                            e.3 += i64::from(conform.is_some());
                        }
                    }
                }
                want
            };
            let share = |(_, _, yes, known): (i64, i64, i64, i64)| (known > 0).then(|| yes as f64 / known as f64);
            let whole = all.iter().fold((0, 0, 0, 0), |acc, (f, fiche)| {
                let conform = fiche.and_then(|c| c.conform).filter(|_| is_validated(f));
                (acc.0, acc.1, acc.2 + i64::from(conform == Some(true)), acc.3 + i64::from(conform.is_some()))
            });
            prop_assert!(close(&row["conform_share"], share(whole)), "{} vs {:?}", row, whole);
            let by_site = tally(&|fiche| vec![fiche.and_then(|c| c.site).map_or_else(|| "unknown".to_owned(), |s| SITES[s].to_owned())]);
            let by_type = tally(&|fiche| {
                let types: Vec<String> = (0..TREATMENTS.len())
                    .filter(|t| fiche.is_some_and(|c| c.types & (1 << t) != 0))
                    .map(|t| TREATMENTS[t].to_owned())
                    .collect();
                if types.is_empty() { vec!["none".to_owned()] } else { types }
            });
            for (by, want) in [("tumour_site", &by_site), ("proposal_type", &by_type)] {
                let cut = activity(app, &b.coord, &format!("rcp_id={}&by={by}", b.rcp)).await;
                prop_assert_eq!(cut.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "by {}", by);
                let hidden: Vec<&String> = cut.iter().filter(|(_, r)| r["suppressed"] == json!(true)).map(|(k, _)| k).collect();
                // Never one row suppressed alone, nor rows of one dossier each: subtraction
                // (or, by type, knowing the overlap) would give them back.
                if !hidden.is_empty() {
                    prop_assert!(hidden.len() >= 2, "by {}: one row suppressed alone: {:?}", by, cut);
                    let sum: i64 = hidden.iter().map(|k| want[*k].0).sum();
                    prop_assert!(sum > hidden.len() as i64, "by {}: {:?} from {:?}", by, cut, want);
                }
                for (k, (n, validated, yes, known)) in want {
                    let r = &cut[k];
                    if (1..5).contains(n) {
                        prop_assert_eq!(r["suppressed"].as_bool(), Some(true), "by {} {}: {}", by, k, r);
                    }
                    if r["suppressed"] == json!(true) {
                        prop_assert!(r["dossiers_registered"].is_null() && r["conform_share"].is_null(), "{}", r);
                        continue;
                    }
                    prop_assert_eq!(r["dossiers_registered"].as_i64(), Some(*n), "by {} {}", by, k);
                    prop_assert_eq!(r["dossiers_validated"].as_i64(), Some(*validated), "by {} {}", by, k);
                    prop_assert!(close(&r["conform_share"], share((*n, *validated, *yes, *known))), "by {} {}: {}", by, k, r);
                }
                if by == "tumour_site" && hidden.is_empty() {
                    prop_assert_eq!(cut.values().map(|r| r["dossiers_registered"].as_i64().unwrap_or(0)).sum::<i64>(), registered);
                }
            }
            // The other cuts count the same dossiers: by month and by specialty they add up,
            // unless rows are suppressed: then never one alone (the total would give it back).
            for by in ["month", "specialty"] {
                let cut = activity(app, &b.coord, &format!("rcp_id={}&by={by}", b.rcp)).await;
                let hidden = cut.values().filter(|r| r["suppressed"] == json!(true)).count();
                if hidden > 0 {
                    prop_assert!(hidden >= 2, "by {}: one row suppressed alone: {:?}", by, cut);
                    continue;
                }
                let sum = |field: &str| cut.values().map(|r| r[field].as_i64().unwrap_or(0)).sum::<i64>();
                prop_assert_eq!(sum("dossiers_registered"), registered, "by {}", by);
                prop_assert_eq!(sum("dossiers_validated"), validated, "by {}", by);
                prop_assert_eq!(sum("dossiers_withdrawn"), withdrawn, "by {}", by);
                prop_assert_eq!(sum("reports_sent"), sent, "by {}", by);
                if by == "month" {
                    prop_assert_eq!(sum("sessions_held"), held);
                }
            }
            // By requester, every dossier counted once, small numbers suppressed for the
            // coordinator, and with them the other requester's row (the total would give it back).
            let by_requester = activity(app, &b.coord, &format!("rcp_id={}&by=requester", b.rcp)).await;
            let theirs = |r: usize| cases.iter().flat_map(|c| &c.dossiers).filter(|(q, _)| *q == r).count() as i64;
            let small = (0..2).any(|r| (1..5).contains(&theirs(r)));
            for (r, who) in requesters.iter().enumerate() {
                match by_requester.get(&who.id) {
                    None => prop_assert_eq!(theirs(r), 0),
                    Some(row) if small => prop_assert_eq!(row["suppressed"].as_bool(), Some(true)),
                    Some(row) => prop_assert_eq!(row["dossiers_registered"].as_i64(), Some(theirs(r))),
                }
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
