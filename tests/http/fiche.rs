//! The fiche RCP on the dossier (FRCP 2025.01): read beside the free text, written part by part,
//! its administrative part by a secretary and the rest by who writes the medical content, codes
//! checked against the loaded lists, and what validation requires of it.

use serde_json::{Value, json};

use crate::support::{Board, Resp, TestApp, User, assert_problem, check_differences};

fn path(dossier: &str) -> String {
    format!("/api/v1/dossiers/{dossier}")
}

/// `PATCH /dossiers/{id}` with the ETag just read.
async fn patch(app: &TestApp, user: &User, dossier: &str, body: Value) -> Resp {
    let etag = app.get(&path(dossier), &user.token).await.header("etag").unwrap();
    app.with_if_match("PATCH", &path(dossier), &user.token, &etag, body).await
}

/// A board's planned session and a dossier of its participant in it, registered by him with
/// free text only.
async fn dossier(b: &Board) -> (String, String) {
    let session = b.app.session(&b.coord, &b.rcp, 2).await;
    let patient = b.app.patient(&b.member, "Fiche", None, &[]).await;
    let r = b
        .app
        .post(
            &format!("/api/v1/sessions/{session}/dossiers"),
            &b.member.token,
            json!({"patient_id": patient, "requester_id": b.member.id, "clinical_summary": "Adénocarcinome sigmoïdien.", "question": "Chirurgie ?"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    (session, r.id())
}

const REQUIRED: [&str; 4] =
    ["fiche.referral.reasons", "fiche.referral.case_status", "fiche.diagnosis.tumour_site", "fiche.proposal.treatments"];

#[actix_rt::test]
async fn a_dossier_with_free_text_only_reads_with_an_empty_fiche() {
    let b = Board::new().await;
    let (_, d) = dossier(&b).await;
    let r = b.app.get(&path(&d), &b.member.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["clinical_summary"], json!("Adénocarcinome sigmoïdien."));
    assert_eq!(
        r.body["fiche"],
        json!({"referral": null, "case": null, "diagnosis": null, "proposal": null, "framework": null}),
        "{}",
        r.text
    );
    assert_eq!(r.body["fiche_missing"], json!(REQUIRED));
    assert_eq!(r.body["fiche_quorum"], json!("unknown"));
    // Whoever reads the dossier reads its fiche: the requester's secretary too.
    assert_eq!(b.app.get(&path(&d), &b.secretary.token).await.body["fiche"], r.body["fiche"]);
}

#[actix_rt::test]
async fn a_full_fiche_round_trips_every_section() {
    let b = Board::new().await;
    let (_, d) = dossier(&b).await;
    let fiche = b.app.complete_fiche().await;
    let w = patch(&b.app, &b.member, &d, json!({"fiche": fiche})).await;
    assert_eq!(w.status, 200, "{}", w.text);
    assert_eq!(w.body["fiche"], fiche, "{}", w.text);
    assert_eq!(w.body["fiche_missing"], json!([]));
    assert_eq!(w.body["version"], json!(2));
    assert_eq!(w.header("etag").as_deref(), Some("\"2\""));
    let r = b.app.get(&path(&d), &b.chair.token).await;
    assert_eq!(r.body["fiche"], fiche, "{}", r.text);
    assert_eq!(r.body["fiche_missing"], json!([]));
    // The fiche is beside the free text, which it leaves as it was.
    assert_eq!(r.body["question"], json!("Chirurgie ?"));
    assert_eq!(r.body["status"], json!("registered"));
    // A stale ETag writes nothing.
    let stale = b.app.with_if_match("PATCH", &path(&d), &b.member.token, "\"1\"", json!({"fiche": {"case": null}})).await;
    assert_problem(&stale, 412, "precondition_failed");
    assert_eq!(b.app.get(&path(&d), &b.member.token).await.body["fiche"], fiche);
}

#[actix_rt::test]
async fn a_part_sent_replaces_that_part_null_clears_it_and_an_absent_one_is_left() {
    let b = Board::new().await;
    let (_, d) = dossier(&b).await;
    let fiche = b.app.complete_fiche().await;
    assert_eq!(patch(&b.app, &b.member, &d, json!({"fiche": fiche})).await.status, 200);
    let w = patch(&b.app, &b.member, &d, json!({"fiche": {"diagnosis": {"tumour_site": "C20"}, "case": null}})).await;
    assert_eq!(w.status, 200, "{}", w.text);
    let mut expected = fiche.clone();
    expected["diagnosis"] = json!({
        "tumour_site": "C20", "morphology": null, "laterality": null, "date": null, "date_precision": null,
        "tnm": null, "other_classification": null
    });
    expected["case"] = Value::Null;
    assert_eq!(w.body["fiche"], expected, "{}", w.text);
    assert_eq!(b.app.get(&path(&d), &b.member.token).await.body["fiche"], expected);
    // `fiche: {}` changes nothing.
    assert_problem(&patch(&b.app, &b.member, &d, json!({"fiche": {}})).await, 422, "validation_failed");
    // `fiche: null` is not a way to clear it all, and unknown parts are refused.
    assert_problem(&patch(&b.app, &b.member, &d, json!({"fiche": null})).await, 422, "validation_failed");
    assert_problem(&patch(&b.app, &b.member, &d, json!({"fiche": {"status": "complete"}})).await, 422, "validation_failed");
}

#[actix_rt::test]
async fn a_secretary_writes_the_referral_for_her_physician_but_never_the_medical_parts() {
    let b = Board::new().await;
    let (session, d) = dossier(&b).await;
    let fiche = b.app.complete_fiche().await;
    let referral = json!({"reasons": ["diagnostic_opinion", "treatment_proposal"], "case_status": "discussed"});
    let w = patch(&b.app, &b.secretary, &d, json!({"fiche": {"referral": referral}})).await;
    assert_eq!(w.status, 200, "{}", w.text);
    assert_eq!(w.body["fiche"]["referral"], referral);
    for medical in [
        json!({"diagnosis": fiche["diagnosis"]}),
        json!({"referral": fiche["referral"], "proposal": fiche["proposal"]}),
        json!({"case": null}),
    ] {
        let r = patch(&b.app, &b.secretary, &d, json!({"fiche": medical})).await;
        assert_problem(&r, 403, "medical_act_forbidden");
    }
    let r = b.app.get(&path(&d), &b.member.token).await;
    assert_eq!(r.body["fiche"]["referral"], referral, "nothing of a refused write is kept: {}", r.text);
    assert_eq!(r.body["fiche"]["diagnosis"], Value::Null);
    assert_eq!(r.body["version"], json!(2));
    // During the session too: the referral is administrative, whatever the session's status.
    assert_eq!(b.app.post(&format!("/api/v1/sessions/{session}/start"), &b.chair.token, json!({})).await.status, 200);
    let w = patch(&b.app, &b.secretary, &d, json!({"fiche": {"referral": {"reasons": ["referral"], "case_status": "registered"}}})).await;
    assert_eq!(w.status, 200, "{}", w.text);
    // A participant who is not the requester writes the medical parts during the session, but
    // not the referral: he does not register for the requester.
    let other = b.app.physician("Other", &b.center).await;
    b.app.member(&b.coord, &b.rcp, &other, "participant").await;
    assert_eq!(patch(&b.app, &other, &d, json!({"fiche": {"diagnosis": fiche["diagnosis"]}})).await.status, 200);
    assert_problem(&patch(&b.app, &other, &d, json!({"fiche": {"referral": null}})).await, 403, "not_requester");
}

#[actix_rt::test]
async fn a_code_outside_its_loaded_list_is_refused_and_nothing_is_written() {
    let b = Board::new().await;
    let (_, d) = dossier(&b).await;
    let fiche = b.app.complete_fiche().await;
    let mut wrong_site = fiche.clone();
    wrong_site["diagnosis"]["tumour_site"] = json!("C99.9");
    let r = patch(&b.app, &b.member, &d, json!({"fiche": wrong_site})).await;
    assert_problem(&r, 422, "unknown_code");
    assert_eq!(r.body["errors"][0]["field"], json!("fiche.diagnosis.tumour_site"), "{}", r.text);
    assert!(r.text.contains("cim10"), "the system is named: {}", r.text);
    let mut wrong_treatment = fiche.clone();
    wrong_treatment["proposal"]["treatments"][1]["code"] = json!("NOT-A-TREATMENT");
    let r = patch(&b.app, &b.member, &d, json!({"fiche": wrong_treatment})).await;
    assert_problem(&r, 422, "unknown_code");
    assert_eq!(r.body["errors"][0]["field"], json!("fiche.proposal.treatments.code"), "{}", r.text);
    assert!(r.text.contains("frcp-treatment"), "{}", r.text);
    // The fiche's own rules, before any code.
    let r = patch(&b.app, &b.member, &d, json!({"fiche": {"case": {"performance_status": 7}}})).await;
    assert_problem(&r, 422, "validation_failed");
    let r = patch(&b.app, &b.member, &d, json!({"fiche": {"framework": {"conform": true, "nonconformity_reason": "x"}}})).await;
    assert_problem(&r, 422, "validation_failed");
    let read = b.app.get(&path(&d), &b.member.token).await;
    assert_eq!(read.body["version"], json!(1), "{}", read.text);
    assert_eq!(read.body["fiche"]["diagnosis"], Value::Null);
}

#[actix_rt::test]
async fn validation_names_every_missing_field_of_the_fiche() {
    let b = Board::new().await;
    let (session, d) = dossier(&b).await;
    assert_eq!(b.app.post(&format!("/api/v1/sessions/{session}/start"), &b.chair.token, json!({})).await.status, 200);
    b.app.quorum_present(&b.center, &session, &b.chair).await;
    // A proposal in free text, a registered case without its guideline, nothing else.
    let body = json!({"proposal": "Chirurgie", "fiche": {"referral": {"reasons": [], "case_status": "registered"}}});
    assert_eq!(patch(&b.app, &b.member, &d, body).await.status, 200);
    let missing = ["fiche.referral.reasons", "fiche.diagnosis.tumour_site", "fiche.proposal.treatments", "fiche.framework.guideline"];
    let read = b.app.get(&path(&d), &b.chair.token).await;
    assert_eq!(read.body["fiche_missing"], json!(missing), "{}", read.text);
    let r = b.app.post(&format!("{}/validate", path(&d)), &b.chair.token, json!({})).await;
    assert_problem(&r, 422, "fiche_incomplete");
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, missing, "{}", r.text);
    assert_eq!(b.app.get(&path(&d), &b.chair.token).await.body["status"], json!("discussed"));
    // Complete, it is validated, the board present: its quorum is recorded reached, and the
    // report says the fiche's main facts.
    assert_eq!(patch(&b.app, &b.member, &d, json!({"fiche": b.app.complete_fiche().await})).await.status, 200);
    let v = b.app.post(&format!("{}/validate", path(&d)), &b.chair.token, json!({})).await;
    assert_eq!(v.status, 200, "{}", v.text);
    assert_eq!((v.body["fiche_quorum"].clone(), v.body["fiche_missing"].clone()), (json!("reached"), json!([])), "{}", v.text);
    let report = b.app.get(&format!("{}/report", path(&d)), &b.member.token).await;
    let text = report.body["body"].as_str().unwrap();
    for fact in ["C18.7", "387713003", "C15632", "FOLFOX 6 mois", "TNCD — cancer du côlon", "PRODIGE 99"] {
        assert!(text.contains(fact), "{fact} missing from the report: {text}");
    }
    // Validated, the fiche is frozen, its referral too.
    assert_problem(&patch(&b.app, &b.secretary, &d, json!({"fiche": {"referral": null}})).await, 409, "already_validated");
}

#[actix_rt::test]
async fn a_registered_case_is_validated_without_the_quorum_which_is_recorded_not_reached() {
    let b = Board::new().await;
    let (session, registered) = dossier(&b).await;
    let patient = b.app.patient(&b.member, "Discussed", None, &[]).await;
    let discussed = b.app.dossier(&b.member, &session, &patient, &b.member).await;
    let unattended_session = b.app.session(&b.coord, &b.rcp, 3).await;
    let patient = b.app.patient(&b.member, "Unattended", None, &[]).await;
    let unattended = b.app.dossier(&b.member, &unattended_session, &patient, &b.member).await;
    let mut fiche = b.app.complete_fiche().await;
    fiche["referral"]["case_status"] = json!("registered");
    for d in [&registered, &unattended] {
        assert_eq!(patch(&b.app, &b.member, d, json!({"proposal": "Surveillance", "fiche": fiche})).await.status, 200);
    }
    let full = b.app.complete_fiche().await;
    assert_eq!(patch(&b.app, &b.member, &discussed, json!({"proposal": "Chirurgie", "fiche": full})).await.status, 200);
    for s in [&session, &unattended_session] {
        assert_eq!(b.app.post(&format!("/api/v1/sessions/{s}/start"), &b.chair.token, json!({})).await.status, 200);
    }
    // Only the chair and one participant are there.
    let r = b
        .app
        .put(&format!("/api/v1/sessions/{session}/attendance"), &b.chair.token, Some(json!({"present_ids": [b.chair.id, b.member.id]})))
        .await;
    assert_eq!((r.status, r.body["quorum"]["met"].clone()), (200, json!(false)), "{}", r.text);
    assert_problem(&b.app.post(&format!("{}/validate", path(&discussed)), &b.chair.token, json!({})).await, 409, "quorum_not_met");
    let v = b.app.post(&format!("{}/validate", path(&registered)), &b.chair.token, json!({})).await;
    assert_eq!(v.status, 200, "{}", v.text);
    assert_eq!((v.body["status"].clone(), v.body["fiche_quorum"].clone()), (json!("validated"), json!("not_reached")), "{}", v.text);
    assert_eq!(b.app.get(&path(&registered), &b.member.token).await.body["fiche_quorum"], json!("not_reached"));
    // No attendance recorded at all: the quorum is not known.
    let v = b.app.post(&format!("{}/validate", path(&unattended)), &b.chair.token, json!({})).await;
    assert_eq!((v.status, v.body["fiche_quorum"].clone()), (200, json!("unknown")), "{}", v.text);
}

#[actix_rt::test]
async fn the_fiches_projections_follow_the_fiche_through_racing_writes_and_check_finds_a_stale_one() {
    use diesel::prelude::*;
    let b = Board::new().await;
    let (_, d) = dossier(&b).await;
    let fiche = b.app.complete_fiche().await;
    let mut other = fiche.clone();
    other["diagnosis"]["tumour_site"] = json!("C20");
    other["proposal"]["treatments"] = json!([{"code": "C15313", "order": 1}]);
    // Two writers of the same version: one wins, and the projections are the winner's.
    let etag = b.app.get(&path(&d), &b.member.token).await.header("etag").unwrap();
    let target = path(&d);
    let bodies = [json!({"fiche": fiche}), json!({"fiche": other})];
    let answers = futures_util::future::join_all(
        bodies.iter().map(|body| b.app.with_if_match("PATCH", &target, &b.member.token, &etag, body.clone())),
    )
    .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert!(statuses.contains(&200) && statuses.contains(&412), "{statuses:?}");
    assert_eq!(check_differences(&b.app).await, Vec::<String>::new());
    // A projection that no longer says what its fiche says is found.
    let pool = b.app.pool.clone();
    let id = d.clone();
    actix_web::web::block(move || {
        use concerto_persistence::schema::dossier_fiches;
        diesel::update(dossier_fiches::table.find(id)).set(dossier_fiches::tumour_site.eq("C99")).execute(&mut pool.get().unwrap())
    })
    .await
    .unwrap()
    .unwrap();
    // The activity counters by tumour site, which followed the fiche, now differ from the
    // stale projection too.
    let found = check_differences(&b.app).await;
    let (counters, projections): (Vec<&String>, Vec<&String>) = found.iter().partition(|f| f.starts_with("activity_counters "));
    assert_eq!(projections.len(), 1, "{found:?}");
    assert!(projections[0].starts_with(&format!("dossier_fiches dossier {d}")), "{found:?}");
    assert!(counters.iter().any(|f| f.contains(" tumour_site ")), "{found:?}");
}

/// Statements a `PATCH` sends besides `BEGIN`/`COMMIT`, the ETag's read excluded.
async fn patch_cost(app: &TestApp, user: &User, dossier: &str, body: Value) -> u64 {
    let etag = app.get(&path(dossier), &user.token).await.header("etag").unwrap();
    let before = app.statements.get();
    let r = app.with_if_match("PATCH", &path(dossier), &user.token, &etag, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.statements.get().since(before).besides_transactions()
}

#[actix_rt::test]
async fn a_full_fiche_costs_a_few_statements_more_than_a_plain_patch_whatever_its_codes() {
    let b = Board::new().await;
    let (_, d) = dossier(&b).await;
    let fiche = b.app.complete_fiche().await;
    let plain = patch_cost(&b.app, &b.member, &d, json!({"question": "Chirurgie d'emblée ?"})).await;
    // First write: the codes in one statement (their systems joined to the codes sent), the
    // fiche's row and one insert of its treatment types, whatever their number; and, since the
    // tumour site and the treatment types are keys of the activity counters, the session's
    // lock, then the counters (their rows locked and read, then written).
    let first = patch_cost(&b.app, &b.member, &d, json!({"fiche": fiche})).await;
    assert_eq!(first, plain + 3 + 3, "plain PATCH {plain}, first fiche {first}");
    // The same fiche again: its codes checked, its row written, the session's lock; no treatment
    // row, no counter.
    let same = patch_cost(&b.app, &b.member, &d, json!({"fiche": fiche})).await;
    assert_eq!(same, plain + 2 + 1, "plain PATCH {plain}, the same fiche {same}");
    // A change elsewhere in the fiche rewrites its row in place, and not the treatment types.
    let mut changed = fiche.clone();
    changed["framework"]["conform"] = json!(false);
    changed["framework"]["nonconformity_reason"] = json!("Patient âgé");
    // (The session's lock too: any fiche may change the counters' keys.)
    let again = patch_cost(&b.app, &b.member, &d, json!({"fiche": {"framework": changed["framework"]}})).await;
    assert_eq!(again, plain + 1 + 1, "plain PATCH {plain}, framework only {again}");
    let r = b.app.get(&path(&d), &b.member.token).await;
    assert_eq!(r.body["fiche"]["framework"]["conform"], json!(false), "{}", r.text);
    assert_eq!(r.body["fiche"]["proposal"], fiche["proposal"]);
    // One treatment type replaced by two others: one delete and one insert, not one per type.
    let treatments = json!([
        {"code": "387713003", "order": 1, "intention": "curative", "detail": "Colectomie gauche"},
        {"code": "C15313", "order": 2, "intention": "curative", "detail": "Radiothérapie"},
        {"code": "C93352", "order": 3, "intention": "curative", "detail": "Thérapie ciblée"}
    ]);
    let swapped = patch_cost(&b.app, &b.member, &d, json!({"fiche": {"proposal": {"treatments": treatments}}})).await;
    // (And the session's lock, then the counters of the proposal types that come and go.)
    assert_eq!(swapped, plain + 1 + 1 + 2 + 3, "plain PATCH {plain}, treatment types swapped {swapped}");
    let r = b.app.get(&path(&d), &b.member.token).await;
    assert_eq!(r.body["fiche"]["proposal"]["treatments"], treatments, "{}", r.text);
    // The projection of the treatment types follows the fiche (`concerto check`).
    assert_eq!(crate::support::check_differences(&b.app).await, Vec::<String>::new());
}
