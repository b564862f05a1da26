//! Dossiers, validation, reports, transmissions and the dossier tabs: one test per row of the
//! delegation table that concerns them, and the scenarios of the secretary's user guide.

use concerto_persistence::PageRequest;
use concerto_persistence::audit::{self, AuditFilter};
use serde_json::{Value, json};

use crate::support::{Resp, TestApp, User, assert_problem};

/// One center, one RCP chaired by `chair` with two participants, a physician outside it, the
/// secretaries of the chair and of a participant, and a planned session in two days.
struct World {
    app: TestApp,
    center: String,
    coord: User,
    chair: User,
    member: User,
    other: User,
    outsider: User,
    sec_chair: User,
    sec_member: User,
    rcp: String,
    session: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let center = app.center("3C Nord").await;
    let coord = app.coordinator(&center).await;
    let chair = app.physician("Chair", &center).await;
    let member = app.physician("Member", &center).await;
    let other = app.physician("Other", &center).await;
    let outsider = app.physician("Outsider", &center).await;
    let sec_chair = app.secretary("SecChair", &center).await;
    let sec_member = app.secretary("SecMember", &center).await;
    let rcp = app.rcp(&coord, &center, "RCP digestive").await;
    app.member(&coord, &rcp, &chair, "animateur").await;
    app.member(&coord, &rcp, &member, "participant").await;
    app.member(&coord, &rcp, &other, "participant").await;
    app.affiliate(&coord, &chair, &sec_chair).await;
    app.affiliate(&coord, &member, &sec_member).await;
    let session = app.session(&coord, &rcp, 2).await;
    World { app, center, coord, chair, member, other, outsider, sec_chair, sec_member, rcp, session }
}

fn dossier_path(id: &str) -> String {
    format!("/api/v1/dossiers/{id}")
}

fn register_path(session: &str) -> String {
    format!("/api/v1/sessions/{session}/dossiers")
}

fn ids(items: &Value) -> Vec<String> {
    items.as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect()
}

/// The dossier ids the agenda shows for `session`.
async fn agenda_dossiers(app: &TestApp, user: &User, session: &str) -> Vec<String> {
    let r = app.get("/api/v1/agenda", &user.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().iter().filter(|s| s["id"] == json!(session)).flat_map(|s| ids(&s["dossiers"])).collect()
}

async fn tab(app: &TestApp, user: &User, name: &str) -> Vec<String> {
    let r = app.get(&format!("/api/v1/me/dossiers?tab={name}"), &user.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    ids(&r.body["items"])
}

async fn read(app: &TestApp, user: &User, id: &str) -> Resp {
    app.get(&dossier_path(id), &user.token).await
}

async fn start(app: &TestApp, user: &User, session: &str) {
    let r = app.post(&format!("/api/v1/sessions/{session}/start"), &user.token, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Records a proposal as `user` with the current ETag (asserts 200).
async fn propose(app: &TestApp, user: &User, id: &str, proposal: &str) -> Resp {
    let etag = read(app, user, id).await.header("etag").unwrap();
    let r = app
        .with_if_match("PATCH", &dossier_path(id), &user.token, &etag, json!({"proposal": proposal, "fiche": app.complete_fiche().await}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

/// The audit events of `actor` for `action`, oldest first.
async fn events(app: &TestApp, actor: &User, action: &str) -> Vec<audit::AuditEvent> {
    let pool = app.pool.clone();
    let filter = AuditFilter { actor_id: Some(actor.id.clone()), ..AuditFilter::default() };
    let all = actix_web::web::block(move || audit::list(&mut pool.get().unwrap(), &filter, None, &PageRequest::first(200)))
        .await
        .unwrap()
        .unwrap();
    all.items.into_iter().filter(|e| e.action == action).collect()
}

// Row "register a patient in a session before it starts".
#[actix_rt::test]
async fn registration_follows_the_table() {
    let World { app, coord, chair, member, other, outsider, sec_member, session, .. } = world().await;
    let p1 = app.patient(&member, "Dupont", None, &[]).await;
    let body = |requester: &User| json!({"patient_id": p1, "requester_id": requester.id});

    // A physician for himself, with his medical content.
    let own = app
        .post(
            &register_path(&session),
            &member.token,
            json!({"patient_id": p1, "requester_id": member.id, "clinical_summary": "ADK colon T3N1", "question": "Chimio adjuvante ?"}),
        )
        .await;
    assert_eq!(own.status, 201, "{}", own.text);
    assert_eq!(own.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(own.body["status"], "registered");
    assert_eq!(own.body["version"], 1);
    assert_eq!(own.body["registered_by"], json!(member.id));
    assert_eq!(own.body["clinical_summary"], "ADK colon T3N1");
    assert_problem(&app.post(&register_path(&session), &member.token, body(&member)).await, 409, "already_registered");

    // For another member: no; a non-member: no; a coordinator: no.
    let p2 = app.patient(&member, "Martin", None, &[]).await;
    let body2 = |requester: &User| json!({"patient_id": p2, "requester_id": requester.id});
    assert_problem(&app.post(&register_path(&session), &member.token, body2(&other)).await, 403, "not_requester");
    assert_problem(&app.post(&register_path(&session), &outsider.token, body2(&outsider)).await, 403, "not_member");
    assert_problem(&app.post(&register_path(&session), &coord.token, body2(&member)).await, 403, "not_member");
    // An animateur for any member, but only for a member.
    assert_problem(&app.post(&register_path(&session), &chair.token, body2(&outsider)).await, 403, "not_requester");
    let by_chair = app.dossier(&chair, &session, &p2, &other).await;
    assert_eq!(read(&app, &other, &by_chair).await.body["requester_id"], json!(other.id));

    // A secretary for her member physician; for a non-member physician of hers: no.
    let p3 = app.patient(&sec_member, "Petit", None, &[]).await;
    let r = app.post(&register_path(&session), &sec_member.token, json!({"patient_id": p3, "requester_id": member.id})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["registered_by"], json!(sec_member.id));
    assert_eq!(r.body["requester_id"], json!(member.id));
    let p4 = app.patient(&sec_member, "Roux", None, &[]).await;
    assert_problem(
        &app.post(&register_path(&session), &sec_member.token, json!({"patient_id": p4, "requester_id": other.id})).await,
        403,
        "not_requester",
    );
    app.affiliate(&coord, &outsider, &sec_member).await;
    assert_problem(
        &app.post(&register_path(&session), &sec_member.token, json!({"patient_id": p4, "requester_id": outsider.id})).await,
        403,
        "not_requester",
    );
    // Her registration with medical content is refused whole: nothing is written.
    let before = agenda_dossiers(&app, &member, &session).await;
    assert_problem(
        &app.post(
            &register_path(&session),
            &sec_member.token,
            json!({"patient_id": p4, "requester_id": member.id, "clinical_summary": "Bilan"}),
        )
        .await,
        403,
        "medical_act_forbidden",
    );
    assert_eq!(agenda_dossiers(&app, &member, &session).await, before);
    let denied = events(&app, &sec_member, "dossier.create").await;
    assert_eq!(denied.last().map(|e| (e.outcome.as_str(), e.patient_id.clone())), Some(("denied", Some(p4.clone()))));

    // Unknown patient or session: 404. After the start: 409.
    assert_problem(
        &app.post(&register_path(&session), &member.token, json!({"patient_id": "nope", "requester_id": member.id})).await,
        404,
        "not_found",
    );
    assert_problem(&app.post(&register_path("nope"), &member.token, body2(&member)).await, 404, "not_found");
    start(&app, &chair, &session).await;
    assert_problem(
        &app.post(&register_path(&session), &member.token, json!({"patient_id": p4, "requester_id": member.id})).await,
        409,
        "session_not_open",
    );
    // Rights before status: an outsider learns nothing of the session's state.
    assert_problem(
        &app.post(&register_path(&session), &outsider.token, json!({"patient_id": p4, "requester_id": outsider.id})).await,
        403,
        "not_member",
    );
}

// Rows "agenda: which dossiers" and seed scenario (a): a participant's secretary sees only her
// physician's dossiers, and nothing of the others leaks.
#[actix_rt::test]
async fn secretary_of_a_participant_sees_only_her_physicians_dossiers() {
    let World { app, coord, chair, member, other, outsider, sec_member, sec_chair, session, .. } = world().await;
    let mine = app.dossier(&member, &session, &app.patient(&member, "Dupont", None, &[]).await, &member).await;
    let theirs = app.dossier(&other, &session, &app.patient(&other, "Zorglub", None, &[]).await, &other).await;
    let chairs = app.dossier(&chair, &session, &app.patient(&chair, "Quentin", None, &[]).await, &chair).await;

    let agenda = app.get("/api/v1/agenda", &sec_member.token).await;
    let item = &agenda.body["items"][0];
    assert_eq!(item["id"], json!(session));
    assert_eq!(ids(&item["dossiers"]), vec![mine.clone()]);
    for hidden in [&theirs, &chairs] {
        assert!(!agenda.text.contains(hidden.as_str()), "another physician's dossier leaked: {}", agenda.text);
    }
    assert!(!agenda.text.contains("Zorglub") && !agenda.text.contains("Quentin"), "{}", agenda.text);
    assert_eq!(read(&app, &sec_member, &mine).await.status, 200);
    assert_problem(&read(&app, &sec_member, &theirs).await, 404, "not_found");
    assert_problem(&app.get(&format!("/api/v1/sessions/{session}/run"), &sec_member.token).await, 403, "not_animateur");

    // A physician member sees every dossier of the session; a non-member none.
    let mut all = vec![mine.clone(), theirs.clone(), chairs.clone()];
    all.sort();
    let mut seen = agenda_dossiers(&app, &member, &session).await;
    seen.sort();
    assert_eq!(seen, all);
    assert_eq!(read(&app, &member, &theirs).await.status, 200);
    assert!(agenda_dossiers(&app, &outsider, &session).await.is_empty());
    assert_problem(&read(&app, &outsider, &mine).await, 404, "not_found");
    // The chair's secretary sees all of them in the agenda.
    let mut seen = agenda_dossiers(&app, &sec_chair, &session).await;
    seen.sort();
    assert_eq!(seen, all);
    // Coordinators and the platform administrator administer but read no medical data.
    assert_problem(&read(&app, &coord, &mine).await, 404, "not_found");
    let admin = app.admin().await;
    assert_problem(&app.get(&dossier_path(&mine), &admin.token).await, 404, "not_found");
    // Reading is audited, on behalf of the physician whose rights granted it.
    let reads = events(&app, &sec_member, "dossier.read").await;
    assert_eq!(
        reads.iter().map(|e| (e.outcome.as_str(), e.on_behalf_of.clone())).collect::<Vec<_>>(),
        vec![("allowed", vec![member.id.clone()]), ("denied", vec![])]
    );
}

// Rows "session run" and "validate a dossier", seed scenario (b): the chair's secretary sees every
// dossier in the run and validates them, on the chair's behalf.
#[actix_rt::test]
async fn secretary_of_an_animateur_runs_the_session_and_validates() {
    let World { app, center, chair, member, other, sec_chair, session, .. } = world().await;
    let d1 = app.dossier(&member, &session, &app.patient(&member, "Dupont", None, &[]).await, &member).await;
    let d2 = app.dossier(&other, &session, &app.patient(&other, "Martin", None, &[]).await, &other).await;
    let run = app.get(&format!("/api/v1/sessions/{session}/run"), &sec_chair.token).await;
    assert_eq!(run.status, 200, "{}", run.text);
    let mut expected = vec![d1.clone(), d2.clone()];
    expected.sort();
    let mut listed = ids(&run.body["dossiers"]);
    listed.sort();
    assert_eq!(listed, expected);

    start(&app, &sec_chair, &session).await;
    app.quorum_present(&center, &session, &sec_chair).await;
    propose(&app, &member, &d1, "Chimiothérapie adjuvante FOLFOX 6 mois").await;
    let v = app.post(&format!("{}/validate", dossier_path(&d1)), &sec_chair.token, json!({})).await;
    assert_eq!(v.status, 200, "{}", v.text);
    assert_eq!(v.body["status"], "validated");
    assert_eq!(v.body["validated_by"], json!(sec_chair.id));
    assert_eq!(v.header("etag").as_deref(), Some("\"3\""));
    let validated = events(&app, &sec_chair, "dossier.validate").await;
    assert_eq!(validated.len(), 1);
    assert_eq!(validated[0].outcome.as_str(), "allowed");
    assert_eq!(validated[0].on_behalf_of, vec![chair.id.clone()]);
    assert_eq!(validated[0].resource_id.as_deref(), Some(d1.as_str()));
    assert_eq!(validated[0].cancer_center_id.as_deref(), Some(center.as_str()));
    // A participant does not validate.
    propose(&app, &other, &d2, "Surveillance").await;
    assert_problem(&app.post(&format!("{}/validate", dossier_path(&d2)), &member.token, json!({})).await, 403, "not_animateur");
    // ... but the chair's secretary validates every dossier of the RCP, not only her physician's.
    assert_eq!(app.post(&format!("{}/validate", dossier_path(&d2)), &sec_chair.token, json!({})).await.status, 200);
    let run = app.get(&format!("/api/v1/sessions/{session}/run"), &sec_chair.token).await;
    let statuses: Vec<&str> = run.body["dossiers"].as_array().unwrap().iter().map(|d| d["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["validated", "validated"]);
    assert!(events(&app, &sec_chair, "dossier.validate").await.iter().all(|e| e.on_behalf_of == vec![chair.id.clone()]));
}

// Seed scenario (c): a secretary with profiles on two centers acts in each through that center's
// profile only.
#[actix_rt::test]
async fn a_secretary_acts_on_each_center_through_that_centers_profile() {
    let app = TestApp::spawn().await;
    let north = app.center("3C Nord").await;
    let south = app.center("3C Sud").await;
    let coord_n = app.coordinator(&north).await;
    let coord_s = app.coordinator(&south).await;
    let doc = app.user("Petit", "physician", &[(&north, "physician"), (&south, "physician")]).await;
    let colleague_n = app.physician("Colleague", &north).await;
    let colleague_s = app.physician("Collegue", &south).await;
    let sec = app.user("Roux", "secretary", &[(&north, "secretary"), (&south, "secretary")]).await;
    app.affiliate(&coord_n, &doc, &sec).await;
    let rcp_n = app.rcp(&coord_n, &north, "RCP Nord").await;
    let rcp_s = app.rcp(&coord_s, &south, "RCP Sud").await;
    app.member(&coord_n, &rcp_n, &doc, "participant").await;
    app.member(&coord_n, &rcp_n, &colleague_n, "participant").await;
    app.member(&coord_s, &rcp_s, &doc, "animateur").await;
    app.member(&coord_s, &rcp_s, &colleague_s, "participant").await;
    let s_n = app.session(&coord_n, &rcp_n, 2).await;
    let s_s = app.session(&coord_s, &rcp_s, 3).await;
    let n_doc = app.dossier(&doc, &s_n, &app.patient(&doc, "Alpha", None, &[]).await, &doc).await;
    let n_col = app.dossier(&colleague_n, &s_n, &app.patient(&colleague_n, "Beta", None, &[]).await, &colleague_n).await;
    let s_col = app.dossier(&colleague_s, &s_s, &app.patient(&colleague_s, "Gamma", None, &[]).await, &colleague_s).await;

    // North: her physician participates (his requests only); south: he chairs (everything).
    assert_eq!(agenda_dossiers(&app, &sec, &s_n).await, vec![n_doc.clone()]);
    assert_eq!(agenda_dossiers(&app, &sec, &s_s).await, vec![s_col.clone()]);
    assert_problem(&read(&app, &sec, &n_col).await, 404, "not_found");
    assert_eq!(read(&app, &sec, &s_col).await.status, 200);
    assert_eq!(app.get(&format!("/api/v1/sessions/{s_s}/run"), &sec.token).await.status, 200);
    assert_problem(&app.get(&format!("/api/v1/sessions/{s_n}/run"), &sec.token).await, 403, "not_animateur");

    // Without the south secretary profile, nothing of the south remains, at the next request.
    let admin = app.admin().await;
    let r = app.delete(&format!("/api/v1/professionals/{}/profiles/{south}/secretary", sec.id), &admin.token).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(agenda_dossiers(&app, &sec, &s_s).await.is_empty());
    assert_problem(&read(&app, &sec, &s_col).await, 404, "not_found");
    assert_problem(&app.get(&format!("/api/v1/sessions/{s_s}/run"), &sec.token).await, 403, "not_animateur");
    assert_problem(&app.post(&format!("{}/validate", dossier_path(&s_col)), &sec.token, json!({})).await, 404, "not_found");
    assert_eq!(read(&app, &sec, &n_doc).await.status, 200, "the north profile still works");
    assert_eq!(tab(&app, &sec, "rcp_passages").await, vec![n_doc.clone()]);
}

// Row "write the medical content", seed scenario (d): a secretary never writes it, and nothing
// changes when she tries, not even the version.
#[actix_rt::test]
async fn a_secretary_never_writes_medical_content() {
    let World { app, chair, member, sec_chair, sec_member, session, .. } = world().await;
    let d = app.dossier(&sec_member, &session, &app.patient(&sec_member, "Dupont", None, &[]).await, &member).await;
    let before = read(&app, &sec_member, &d).await;
    let etag = before.header("etag").unwrap();
    assert_eq!(etag, "\"1\"");
    for (who, field) in [(&sec_member, "clinical_summary"), (&sec_member, "question"), (&sec_chair, "proposal")] {
        let r = app.with_if_match("PATCH", &dossier_path(&d), &who.token, &etag, json!({ field: "Texte médical" })).await;
        assert_problem(&r, 403, "medical_act_forbidden");
    }
    start(&app, &chair, &session).await;
    let r = app.with_if_match("PATCH", &dossier_path(&d), &sec_chair.token, &etag, json!({"proposal": "Radiothérapie"})).await;
    assert_problem(&r, 403, "medical_act_forbidden");
    let after = read(&app, &member, &d).await;
    assert_eq!(after.header("etag"), Some(etag));
    assert_eq!(after.body["version"], 1);
    assert_eq!(after.body["proposal"], Value::Null);
    assert_eq!(after.body["status"], "registered");
    assert_eq!(after.body["updated_at"], before.body["updated_at"]);
    let refused = events(&app, &sec_chair, "dossier.update").await;
    assert!(!refused.is_empty() && refused.iter().all(|e| e.outcome.as_str() == "denied"));
}

// Row "write the medical content" for physicians, and optimistic concurrency.
#[actix_rt::test]
async fn medical_content_is_written_by_the_requester_then_the_members_with_if_match() {
    let World { app, coord, chair, member, other, outsider, sec_member, session, rcp, .. } = world().await;
    let d = app.dossier(&member, &session, &app.patient(&member, "Dupont", None, &[]).await, &member).await;
    let path = dossier_path(&d);

    assert_problem(&app.patch(&path, &member.token, json!({"question": "RCP ?"})).await, 428, "precondition_required");
    let r = app.with_if_match("PATCH", &path, &member.token, "\"1\"", json!({"question": "Chirurgie d'emblée ?"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.body["version"].clone(), r.header("etag")), (json!(2), Some("\"2\"".to_owned())));
    assert_eq!(r.body["question"], "Chirurgie d'emblée ?");
    assert_problem(&app.with_if_match("PATCH", &path, &member.token, "\"1\"", json!({"question": "x"})).await, 412, "precondition_failed");
    assert_problem(&app.with_if_match("PATCH", &path, &member.token, "\"2\"", json!({})).await, 422, "validation_failed");
    // An invalid body is invalid whatever the precondition: 422 before 412 and 428.
    let too_long = json!({"question": "x".repeat(20001)});
    assert_problem(&app.with_if_match("PATCH", &path, &member.token, "\"1\"", too_long.clone()).await, 422, "validation_failed");
    assert_problem(&app.patch(&path, &member.token, too_long).await, 422, "validation_failed");
    // An ETag that is not ours matches no version; an empty If-Match is no If-Match.
    assert_problem(
        &app.with_if_match("PATCH", &path, &member.token, "W/\"(x\"", json!({"question": "x"})).await,
        412,
        "precondition_failed",
    );
    assert_problem(&app.with_if_match("PATCH", &path, &member.token, "", json!({"question": "x"})).await, 428, "precondition_required");
    assert_problem(&app.with_if_match("PATCH", &path, &outsider.token, "W/\"(x\"", json!({"question": "x"})).await, 404, "not_found");
    assert_problem(
        &app.with_if_match("PATCH", &path, &member.token, "\"2\"", json!({"status": "validated"})).await,
        422,
        "validation_failed",
    );
    // Before the session only the requester writes it; an outsider does not even see it.
    assert_problem(&app.with_if_match("PATCH", &path, &other.token, "\"2\"", json!({"question": "x"})).await, 403, "not_requester");
    assert_problem(&app.with_if_match("PATCH", &path, &outsider.token, "\"2\"", json!({"question": "x"})).await, 404, "not_found");
    assert_problem(&app.with_if_match("PATCH", &path, &coord.token, "\"2\"", json!({"question": "x"})).await, 404, "not_found");

    // During it, the members: a proposal makes it discussed; clearing it makes it registered.
    start(&app, &chair, &session).await;
    let r = app.with_if_match("PATCH", &path, &other.token, "\"2\"", json!({"proposal": "Chirurgie"})).await;
    assert_eq!((r.status, r.body["status"].clone()), (200, json!("discussed")), "{}", r.text);
    let r = app.with_if_match("PATCH", &path, &member.token, "\"3\"", json!({"proposal": "  "})).await;
    assert_eq!((r.body["status"].clone(), r.body["proposal"].clone()), (json!("registered"), Value::Null));
    // Withdrawal: whoever may register for the requester, while the session is planned.
    assert_problem(
        &app.with_if_match("PATCH", &path, &sec_member.token, "\"4\"", json!({"status": "withdrawn"})).await,
        409,
        "session_not_open",
    );
    app.post(&format!("/api/v1/sessions/{session}/close"), &chair.token, json!({})).await;
    assert_problem(&app.with_if_match("PATCH", &path, &member.token, "\"4\"", json!({"proposal": "x"})).await, 409, "session_closed");

    let next = app.session(&coord, &rcp, 5).await;
    let d2 = app.dossier(&member, &next, &app.patient(&member, "Martin", None, &[]).await, &member).await;
    let r = app.with_if_match("PATCH", &dossier_path(&d2), &sec_member.token, "\"1\"", json!({"status": "withdrawn"})).await;
    assert_eq!((r.status, r.body["status"].clone()), (200, json!("withdrawn")), "{}", r.text);
    assert_problem(
        &app.with_if_match("PATCH", &dossier_path(&d2), &member.token, "\"2\"", json!({"question": "x"})).await,
        409,
        "dossier_withdrawn",
    );
}

// Row "validate a dossier": state rules, the report, and optimistic concurrency when sent.
#[actix_rt::test]
async fn validation_produces_the_report_once() {
    let World { app, center, chair, member, outsider, session, .. } = world().await;
    let patient = app.patient(&member, "Dupont", None, &[]).await;
    let d = app.dossier(&member, &session, &patient, &member).await;
    let validate = format!("{}/validate", dossier_path(&d));
    let report = format!("{}/report", dossier_path(&d));
    assert_problem(&app.get(&report, &member.token).await, 404, "not_found");
    assert_problem(&app.post(&validate, &chair.token, json!({})).await, 422, "proposal_missing");
    assert_problem(&app.post(&validate, &outsider.token, json!({})).await, 404, "not_found");
    start(&app, &chair, &session).await;
    propose(&app, &member, &d, "Chimiothérapie adjuvante").await;
    // Without the board present, there is no opinion to validate.
    let short = app.with_if_match("POST", &validate, &chair.token, "\"2\"", json!({})).await;
    assert_problem(&short, 409, "quorum_not_met");
    assert_eq!(short.body["missing"]["missing_physicians"], json!(3), "{}", short.text);
    let present = app.quorum_present(&center, &session, &chair).await;
    assert_problem(&app.with_if_match("POST", &validate, &chair.token, "\"1\"", json!({})).await, 412, "precondition_failed");
    let v = app.with_if_match("POST", &validate, &chair.token, "\"2\"", json!({})).await;
    assert_eq!(v.status, 200, "{}", v.text);
    assert_eq!(v.body["status"], "validated");
    assert_eq!(v.body["validated_by"], json!(chair.id));
    assert!(v.body["validated_at"].is_string());
    assert_problem(&app.post(&validate, &chair.token, json!({})).await, 409, "already_validated");
    assert_problem(
        &app.with_if_match("PATCH", &dossier_path(&d), &member.token, "\"3\"", json!({"proposal": "x"})).await,
        409,
        "already_validated",
    );

    let r = app.get(&report, &member.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["dossier_id"], json!(d));
    assert_eq!(r.body["produced_by"], json!(chair.id));
    let body = r.body["body"].as_str().unwrap();
    for part in ["RCP digestive", "DUPONT Jeanne", "12/04/1961", "Chimiothérapie adjuvante", "MEMBER", "CHAIR", "Médecins présents"] {
        assert!(body.contains(part), "{part} missing from the report: {body}");
    }
    // The report lists the attendees with their specialties, as national report models do.
    for (attendee, specialty) in present.iter().zip(["surgery", "radiotherapy", "medical_oncology"]) {
        let family = attendee.username.clone();
        let line = body.lines().find(|l| l.contains(specialty)).unwrap_or_default();
        assert!(line.starts_with("- "), "{specialty} ({family}) missing from the attendees: {body}");
    }
    assert_problem(&app.get(&report, &outsider.token).await, 404, "not_found");
    let reads = events(&app, &member, "report.read").await;
    assert_eq!(reads.iter().map(|e| e.outcome.as_str()).collect::<Vec<_>>(), vec!["denied", "allowed"]);
    assert!(reads.iter().all(|e| e.resource_type == "report" && e.patient_id.as_deref() == Some(patient.as_str())));
}

// Row "send a validated report": whoever sees the dossier, once it is validated.
#[actix_rt::test]
async fn validated_reports_are_sent_and_listed() {
    let World { app, center, chair, member, other, outsider, sec_member, session, .. } = world().await;
    let d = app.dossier(&member, &session, &app.patient(&member, "Dupont", None, &[]).await, &member).await;
    let path = format!("{}/report/transmissions", dossier_path(&d));
    let to = |users: &[&User], channel: &str| json!({"recipient_ids": users.iter().map(|u| u.id.clone()).collect::<Vec<_>>(), "channel": channel});
    assert_problem(&app.post(&path, &sec_member.token, to(&[&outsider], "mssante")).await, 409, "not_validated");
    start(&app, &chair, &session).await;
    app.quorum_present(&center, &session, &chair).await;
    propose(&app, &member, &d, "Chirurgie").await;
    assert_eq!(app.post(&format!("{}/validate", dossier_path(&d)), &chair.token, json!({})).await.status, 200);

    let sent = app.post(&path, &sec_member.token, to(&[&outsider, &other], "mssante")).await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    let mut recipients = vec![outsider.id.clone(), other.id.clone()];
    recipients.sort();
    assert_eq!(sent.body["recipient_ids"], json!(recipients));
    assert_eq!(sent.body["channel"], "mssante");
    assert_eq!(sent.body["sent_by"], json!(sec_member.id));
    assert_eq!(sent.body["dossier_id"], json!(d));
    assert!(sent.body["sent_at"].is_string());
    let by_chair = app.post(&path, &chair.token, to(&[&member], "print")).await;
    assert_eq!(by_chair.status, 201, "{}", by_chair.text);

    let listed = app.get(&path, &member.token).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(ids(&listed.body["items"]), vec![sent.id(), by_chair.id()]);
    assert_eq!(listed.body["items"][0], sent.body);
    assert_eq!(listed.body["items"][1]["recipient_ids"], json!([member.id]));

    // Validation of the request, unknown recipients, invisible dossier.
    assert_problem(&app.post(&path, &member.token, to(&[], "mail")).await, 422, "validation_failed");
    assert_problem(&app.post(&path, &member.token, to(&[&other], "fax")).await, 422, "validation_failed");
    assert_problem(&app.post(&path, &member.token, json!({"recipient_ids": ["nope"], "channel": "mail"})).await, 404, "not_found");
    assert_problem(&app.post(&path, &outsider.token, to(&[&other], "mail")).await, 404, "not_found");
    assert_problem(&app.get(&path, &outsider.token).await, 404, "not_found");
    let sends = events(&app, &sec_member, "report.send").await;
    assert_eq!(sends[1].on_behalf_of, vec![member.id.clone()]);
}

// Row "dossier tabs".
#[actix_rt::test]
async fn dossier_tabs_for_physicians_and_secretaries() {
    let World { app, center, coord, chair, member, other, sec_member, session, rcp, .. } = world().await;
    let treating = app.physician("Traitant", &center).await;
    let corresp = app.physician("Correspondant", &center).await;
    let sec_treating = app.secretary("SecTraitant", &center).await;
    app.affiliate(&coord, &treating, &sec_treating).await;
    let p1 = app.patient(&member, "Dupont", Some(&treating), &[&corresp]).await;
    let p2 = app.patient(&member, "Martin", None, &[]).await;
    let first = app.dossier(&member, &session, &p1, &member).await;
    let second = app.dossier(&sec_member, &session, &p2, &member).await;
    let others = app.dossier(&other, &session, &app.patient(&other, "Petit", None, &[]).await, &other).await;
    let later = app.session(&coord, &rcp, 9).await;
    let third = app.dossier(&chair, &later, &p1, &chair).await;

    // Newest first.
    assert_eq!(tab(&app, &member, "rcp_passages").await, vec![second.clone(), first.clone()]);
    assert_eq!(tab(&app, &sec_member, "rcp_passages").await, vec![second.clone(), first.clone()]);
    assert_eq!(tab(&app, &other, "rcp_passages").await, vec![others.clone()]);
    assert_eq!(tab(&app, &treating, "treating").await, vec![third.clone(), first.clone()]);
    assert_eq!(tab(&app, &corresp, "correspondent").await, vec![third.clone(), first.clone()]);
    assert!(tab(&app, &treating, "correspondent").await.is_empty());
    assert!(tab(&app, &member, "treating").await.is_empty());
    // The treating physician, no member of the RCP, reads the dossiers of his patient.
    assert_eq!(read(&app, &treating, &first).await.status, 200);
    assert_eq!(read(&app, &corresp, &third).await.status, 200);
    // Paging.
    let page = app.get("/api/v1/me/dossiers?tab=rcp_passages&limit=1", &member.token).await;
    assert_eq!(ids(&page.body["items"]), vec![second.clone()]);
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    let page = app.get(&format!("/api/v1/me/dossiers?tab=rcp_passages&limit=1&cursor={cursor}"), &member.token).await;
    assert_eq!((ids(&page.body["items"]), page.body["next_cursor"].clone()), (vec![first.clone()], Value::Null));

    // A secretary has only rcp_passages, and inherits no treating or correspondent link.
    for name in ["treating", "correspondent"] {
        assert_problem(&app.get(&format!("/api/v1/me/dossiers?tab={name}"), &sec_treating.token).await, 403, "tab_not_allowed");
    }
    assert!(tab(&app, &sec_treating, "rcp_passages").await.is_empty());
    assert_problem(&read(&app, &sec_treating, &first).await, 404, "not_found");
    assert_problem(&app.get("/api/v1/me/dossiers?tab=rcp_passages", &coord.token).await, 403, "tab_not_allowed");
    assert_problem(&app.get("/api/v1/me/dossiers?tab=mine", &member.token).await, 422, "invalid_query");
    let lists = events(&app, &sec_member, "dossier.list").await;
    assert_eq!(lists.len(), 1, "one event per call");
    assert_eq!(lists[0].on_behalf_of, vec![member.id.clone()]);
}

// "Rights are computed from the database on every request": removing the affiliation, the group
// membership, the RCP membership or the secretary profile hides the dossier at once.
#[actix_rt::test]
async fn rights_follow_the_data_at_once() {
    let World { app, center, coord, chair, member, other, sec_chair, sec_member, session, rcp, .. } = world().await;
    let d = app.dossier(&other, &session, &app.patient(&other, "Dupont", None, &[]).await, &other).await;
    let mine = app.dossier(&member, &session, &app.patient(&member, "Martin", None, &[]).await, &member).await;
    let run = format!("/api/v1/sessions/{session}/run");
    let sees = |body: &Resp, id: &str| body.text.contains(id);

    // The chair's secretary through her direct affiliation.
    assert_eq!(read(&app, &sec_chair, &d).await.status, 200);
    app.delete(&format!("/api/v1/professionals/{}/secretaries/{}", chair.id, sec_chair.id), &coord.token).await;
    assert_problem(&read(&app, &sec_chair, &d).await, 404, "not_found");
    assert!(!sees(&app.get("/api/v1/agenda", &sec_chair.token).await, &d));
    assert_problem(&app.get(&run, &sec_chair.token).await, 403, "not_animateur");

    // Through a group: granted, then the membership removed.
    let group = app.post("/api/v1/secretary-groups", &coord.token, json!({"cancer_center_id": center, "name": "Onco"})).await.id();
    assert_eq!(app.put(&format!("/api/v1/professionals/{}/secretary-groups/{group}", chair.id), &coord.token, None).await.status, 204);
    assert_eq!(app.put(&format!("/api/v1/secretary-groups/{group}/members/{}", sec_chair.id), &coord.token, None).await.status, 204);
    assert_eq!(read(&app, &sec_chair, &d).await.status, 200);
    assert!(sees(&app.get(&run, &sec_chair.token).await, &d));
    assert_eq!(app.delete(&format!("/api/v1/secretary-groups/{group}/members/{}", sec_chair.id), &coord.token).await.status, 204);
    assert_problem(&read(&app, &sec_chair, &d).await, 404, "not_found");
    assert_problem(&app.get(&run, &sec_chair.token).await, 403, "not_animateur");

    // The RCP membership of her physician: the participant's secretary loses the agenda share
    // but keeps her physician's passages in the tab, as he does.
    assert!(sees(&app.get("/api/v1/agenda", &sec_member.token).await, &mine));
    assert_eq!(app.delete(&format!("/api/v1/rcps/{rcp}/members/{}", member.id), &coord.token).await.status, 204);
    assert!(!sees(&app.get("/api/v1/agenda", &sec_member.token).await, &mine));
    assert!(!sees(&app.get("/api/v1/agenda", &member.token).await, &d));
    assert_problem(&read(&app, &member, &d).await, 404, "not_found");
    assert_eq!(tab(&app, &sec_member, "rcp_passages").await, vec![mine.clone()]);

    // The secretary profile: nothing is left, tab included.
    let admin = app.admin().await;
    assert_eq!(app.delete(&format!("/api/v1/professionals/{}/profiles/{center}/secretary", sec_member.id), &admin.token).await.status, 204);
    assert_problem(&read(&app, &sec_member, &mine).await, 404, "not_found");
    let r = app.get("/api/v1/me/dossiers?tab=rcp_passages", &sec_member.token).await;
    assert!(r.status == 403 || ids(&r.body["items"]).is_empty(), "{}", r.text);
    assert!(!sees(&app.get("/api/v1/agenda", &sec_member.token).await, &mine));
}

// Row "agenda: which dossiers in such a session", issue 8: Dr B, one of her physicians, leaves
// the RCP after registering a patient; she still sees the session through Dr A, and Dr B's
// dossier stays in it, in her agenda as in her tab and on reading. Once directly, once through a
// group.
#[actix_rt::test]
async fn a_requester_leaving_the_rcp_keeps_his_dossiers_in_his_secretarys_agenda() {
    for through_group in [false, true] {
        let World { app, center, coord, member, other, sec_member, rcp, session, .. } = world().await;
        let sec = if through_group {
            let sec = app.secretary("GroupSec", &center).await;
            let r = app.post("/api/v1/secretary-groups", &coord.token, json!({"cancer_center_id": center, "name": "Secrétariat"})).await;
            let group = r.id();
            assert_eq!(app.put(&format!("/api/v1/secretary-groups/{group}/members/{}", sec.id), &coord.token, None).await.status, 204);
            for physician in [&member, &other] {
                let path = format!("/api/v1/professionals/{}/secretary-groups/{group}", physician.id);
                assert_eq!(app.put(&path, &coord.token, None).await.status, 204);
            }
            sec
        } else {
            app.affiliate(&coord, &other, &sec_member).await;
            sec_member
        };
        let hers = app.dossier(&member, &session, &app.patient(&member, "Dupont", None, &[]).await, &member).await;
        let left = app.dossier(&other, &session, &app.patient(&other, "Xavier", None, &[]).await, &other).await;
        let mut both = vec![hers.clone(), left.clone()];
        both.sort();
        let mut seen = agenda_dossiers(&app, &sec, &session).await;
        seen.sort();
        assert_eq!(seen, both);

        assert_eq!(app.delete(&format!("/api/v1/rcps/{rcp}/members/{}", other.id), &coord.token).await.status, 204);
        let mut seen = agenda_dossiers(&app, &sec, &session).await;
        seen.sort();
        assert_eq!(seen, both, "the dossier of the physician who left the RCP vanished from the agenda (group: {through_group})");
        assert_eq!(read(&app, &sec, &left).await.status, 200);
        assert!(tab(&app, &sec, "rcp_passages").await.contains(&left));
        // The agenda read names the physicians whose rights showed her the dossiers.
        let reads = events(&app, &sec, "agenda.read").await;
        let mut expected = vec![member.id.clone(), other.id.clone()];
        expected.sort();
        assert_eq!(reads.last().unwrap().on_behalf_of, expected);
        // Registration keeps its own row: he is no member any more.
        let patient = app.patient(&sec, "Yves", None, &[]).await;
        let r = app.post(&register_path(&session), &sec.token, json!({"patient_id": patient, "requester_id": other.id})).await;
        assert_problem(&r, 403, "not_requester");

        // Without a member of P(S) left in the RCP, the session leaves her agenda altogether.
        assert_eq!(app.delete(&format!("/api/v1/rcps/{rcp}/members/{}", member.id), &coord.token).await.status, 204);
        let agenda = app.get("/api/v1/agenda", &sec.token).await;
        assert_eq!(agenda.body["items"], json!([]), "{}", agenda.text);
    }
}
