//! Patients and documents: creation, duplicates, identity search, who reads a record, PATCH
//! with If-Match, document upload and download, and the audit trail they leave.

use concerto_persistence::PageRequest;
use concerto_persistence::audit::{self, AuditEvent, AuditFilter};
use serde_json::{Value, json};

use crate::support::{BOUNDARY, Resp, TestApp, User, assert_problem, multipart};

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];
const TEXT: &str = "Compte rendu opératoire\n";
/// `sha256sum` of [`TEXT`], computed apart from the code under test.
const TEXT_SHA256: &str = "834df7f61ae27ee14634c6263d94f610b9cb447f1ba6e8da1b714c3f6371c26f";

/// A valid INS for a 13-digit NIR: the key is 97 - NIR mod 97.
fn ins(nir: &str) -> String {
    let n: u64 = nir.parse().unwrap();
    format!("{nir}{:02}", 97 - n % 97)
}

fn patient_body(family: &str, given: &str, birth: &str) -> Value {
    json!({"family_name": family, "given_name": given, "birth_date": birth, "sex": "female"})
}

async fn add_patient(app: &TestApp, user: &User, body: Value) -> String {
    let r = app.post("/api/v1/patients", &user.token, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.id()
}

/// Registers the patient in the session, by the requester himself (a member of the RCP).
async fn register_dossier(app: &TestApp, session: &str, patient: &str, requester: &User) -> String {
    app.dossier(requester, session, patient, requester).await
}

fn events(app: &TestApp, patient: &str) -> Vec<AuditEvent> {
    let mut conn = app.pool.get().unwrap();
    let filter = AuditFilter { patient_id: Some(patient.to_owned()), ..AuditFilter::default() };
    audit::list(&mut conn, &filter, None, &PageRequest::first(200)).unwrap().items
}

fn count(events: &[AuditEvent], action: &str, actor: &User, outcome: &str) -> usize {
    events.iter().filter(|e| e.action == action && e.actor_id == actor.id && e.outcome.as_str() == outcome).count()
}

fn metadata(title: &str) -> Vec<u8> {
    json!({"title": title, "kind": "report", "document_date": "2026-11-02"}).to_string().into_bytes()
}

async fn upload(app: &TestApp, user: &User, patient: &str, content_type: &str, bytes: &[u8]) -> Resp {
    let body = multipart(&[("metadata", Some("application/json"), &metadata("Compte rendu")), ("file", Some(content_type), bytes)]);
    upload_raw(app, user, patient, body).await
}

async fn upload_raw(app: &TestApp, user: &User, patient: &str, body: Vec<u8>) -> Resp {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    app.raw("POST", &format!("/api/v1/patients/{patient}/documents"), Some(&user.token), &[("content-type", &ct)], body).await
}

async fn patch(app: &TestApp, user: &User, patient: &str, if_match: Option<&str>, body: Value) -> Resp {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(tag) = if_match {
        headers.push(("if-match", tag));
    }
    app.raw("PATCH", &format!("/api/v1/patients/{patient}"), Some(&user.token), &headers, body.to_string().into_bytes()).await
}

#[actix_rt::test]
async fn creation_checks_every_field() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let sec = app.secretary("Durand", &center).await;
    let coord = app.coordinator(&center).await;
    let admin = app.admin().await;
    let good = patient_body("Dupont", "Jeanne", "1950-03-01");

    let mut bad_ins = good.clone();
    bad_ins["ins"] = json!("185057800608492");
    let r = app.post("/api/v1/patients", &doc.token, bad_ins).await;
    assert_problem(&r, 422, "invalid_ins");
    assert_eq!(r.body["errors"][0]["field"], json!("ins"));

    let mut future = good.clone();
    future["birth_date"] = json!((chrono::Utc::now().date_naive() + chrono::Duration::days(2)).to_string());
    assert_problem(&app.post("/api/v1/patients", &doc.token, future).await, 422, "birth_date_in_future");

    let mut sex = good.clone();
    sex["sex"] = json!("F");
    let r = app.post("/api/v1/patients", &doc.token, sex).await;
    assert_problem(&r, 422, "invalid_sex");
    assert_eq!(r.body["errors"][0]["field"], json!("sex"));

    let mut place = good.clone();
    place["birth_place_code"] = json!("2C004");
    assert_problem(&app.post("/api/v1/patients", &doc.token, place).await, 422, "invalid_birth_place_code");

    let mut several = good.clone();
    several["sex"] = json!("x");
    several["family_name"] = json!(" ");
    let r = app.post("/api/v1/patients", &doc.token, several).await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 2);

    let mut treating = good.clone();
    treating["treating_physician_id"] = json!(sec.id);
    let r = app.post("/api/v1/patients", &doc.token, treating).await;
    assert_problem(&r, 422, "not_a_physician");
    assert_eq!(r.body["errors"][0]["field"], json!("treating_physician_id"));
    let mut correspondent = good.clone();
    correspondent["correspondent_ids"] = json!([doc.id, sec.id]);
    assert_problem(&app.post("/api/v1/patients", &doc.token, correspondent).await, 422, "not_a_physician");
    let mut unknown = good.clone();
    unknown["treating_physician_id"] = json!("no-such-professional");
    assert_problem(&app.post("/api/v1/patients", &doc.token, unknown).await, 404, "not_found");

    // Administrators add no patients.
    assert_problem(&app.post("/api/v1/patients", &coord.token, good.clone()).await, 403, "forbidden");
    assert_problem(&app.post("/api/v1/patients", &admin.token, good.clone()).await, 403, "forbidden");

    let mut full = good.clone();
    full["ins"] = json!(format!(" {} ", ins("2500375056017")));
    full["birth_place_code"] = json!("2a004");
    full["treating_physician_id"] = json!(doc.id);
    full["correspondent_ids"] = json!([doc.id]);
    let r = app.post("/api/v1/patients", &sec.token, full).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(r.body["version"], json!(1));
    assert_eq!(r.body["created_by"], json!(sec.id));
    assert_eq!(r.body["ins"], json!(ins("2500375056017")));
    assert_eq!(r.body["birth_place_code"], json!("2A004"));
    assert_eq!(r.body["sex"], json!("female"));
    assert_eq!(r.body["correspondent_ids"], json!([doc.id]));
}

#[actix_rt::test]
async fn duplicates_are_refused_unless_confirmed_and_an_ins_is_never_shared() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let sec = app.secretary("Durand", &center).await;
    let first = add_patient(&app, &doc, patient_body("Lévêque", "Hélène", "1962-07-14")).await;

    // Same identity up to case and accents: a possible duplicate, named with identity traits only.
    let same = patient_body("LEVEQUE", "helene", "1962-07-14");
    let r = app.post("/api/v1/patients", &sec.token, same.clone()).await;
    assert_problem(&r, 409, "possible_duplicate");
    let candidates = r.body["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 1);
    assert_eq!(candidates[0]["id"], json!(first));
    let mut keys: Vec<&String> = candidates[0].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, vec!["birth_date", "family_name", "given_name", "id", "sex"]);
    // Another birth date is another person.
    add_patient(&app, &sec, patient_body("Leveque", "Helene", "1962-07-15")).await;
    // Confirmed: a homonym is added.
    let r = app.post("/api/v1/patients?confirm_new=true", &sec.token, same).await;
    assert_eq!(r.status, 201, "{}", r.text);

    let number = ins("1620375056017");
    let mut with_ins = patient_body("Bernard", "Paul", "1962-03-01");
    with_ins["ins"] = json!(number);
    let holder = add_patient(&app, &doc, with_ins).await;
    let mut again = patient_body("Autre", "Nom", "1970-01-01");
    again["ins"] = json!(number);
    let r = app.post("/api/v1/patients?confirm_new=true", &doc.token, again.clone()).await;
    assert_problem(&r, 409, "ins_taken");
    assert_eq!(r.body["candidates"][0]["id"], json!(holder));
    assert_problem(&app.post("/api/v1/patients", &sec.token, again).await, 409, "ins_taken");
}

#[actix_rt::test]
async fn identity_search_finds_without_browsing() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let sec = app.secretary("Durand", &center).await;
    let coord = app.coordinator(&center).await;
    let number = ins("2811275056012");
    let mut body = patient_body("Dégas", "Émilie", "1981-12-01");
    body["ins"] = json!(number);
    body["treating_physician_id"] = json!(doc.id);
    let degas = add_patient(&app, &doc, body).await;
    let desmarais = add_patient(&app, &doc, patient_body("Desmarais", "Anne", "1981-12-01")).await;
    add_patient(&app, &doc, patient_body("Dégas", "Other", "1981-12-02")).await;
    add_patient(&app, &doc, patient_body("Martin", "Claire", "1981-12-01")).await;

    for query in [
        "",
        "?family_name=D&birth_date=1981-12-01",
        "?family_name=De",
        "?birth_date=1981-12-01",
        "?family_name=%C3%89-&birth_date=1981-12-01",
    ] {
        assert_problem(&app.get(&format!("/api/v1/patients{query}"), &sec.token).await, 422, "search_too_broad");
    }
    assert_problem(&app.get("/api/v1/patients?ins=185057800608492", &sec.token).await, 422, "invalid_ins");
    assert_problem(&app.get("/api/v1/patients?family_name=De&birth_date=1981-12-01", &coord.token).await, 403, "forbidden");

    // Case and accents are ignored; the results are in family-name order, identity traits only.
    let r = app.get("/api/v1/patients?family_name=D%C3%89&birth_date=1981-12-01", &sec.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ids: Vec<&str> = r.body["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![degas.as_str(), desmarais.as_str()]);
    assert_eq!(r.body["items"][0]["ins"], json!(number));
    assert!(r.body["items"][0].get("treating_physician_id").is_none());
    assert!(r.body["items"][0].get("created_by").is_none());
    let r = app.get("/api/v1/patients?family_name=degas&birth_date=1981-12-01", &doc.token).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    // Paginated.
    let r = app.get("/api/v1/patients?family_name=de&birth_date=1981-12-01&limit=1", &sec.token).await;
    assert_eq!(r.body["items"][0]["id"], json!(degas));
    let cursor = r.body["next_cursor"].as_str().unwrap().to_owned();
    let r = app.get(&format!("/api/v1/patients?family_name=de&birth_date=1981-12-01&limit=1&cursor={cursor}"), &sec.token).await;
    assert_eq!(r.body["items"][0]["id"], json!(desmarais));
    assert_eq!(r.body["next_cursor"], Value::Null);

    let r = app.get(&format!("/api/v1/patients?ins={number}"), &sec.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["items"][0]["id"], json!(degas));
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
}

#[actix_rt::test]
async fn who_reads_a_patient_record() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let other_center = app.center("3C bis").await;
    let coord = app.coordinator(&center).await;
    let admin = app.admin().await;
    let creator = app.physician("Creator", &center).await;
    let treating = app.physician("Treating", &center).await;
    let correspondent = app.physician("Correspondent", &center).await;
    let requester = app.physician("Requester", &center).await;
    let member = app.physician("Member", &center).await;
    let other_participant = app.physician("OtherParticipant", &center).await;
    let stranger = app.physician("Stranger", &center).await;
    let treating_sec = app.secretary("TreatingSec", &center).await;
    let requester_sec = app.secretary("RequesterSec", &center).await;
    let other_sec = app.secretary("OtherSec", &center).await;
    let far_sec = app.secretary("FarSec", &other_center).await;
    app.affiliate(&coord, &treating, &treating_sec).await;
    app.affiliate(&coord, &requester, &requester_sec).await;
    app.affiliate(&coord, &other_participant, &other_sec).await;
    // The platform administrator affiliates across centers; her profile is on another center only.
    app.affiliate(&admin, &requester, &far_sec).await;

    let rcp = app.rcp(&coord, &center, "RCP digestive").await;
    app.member(&coord, &rcp, &requester, "participant").await;
    app.member(&coord, &rcp, &member, "participant").await;
    app.member(&coord, &rcp, &other_participant, "participant").await;
    let session = app.session(&coord, &rcp, 7).await;

    let mut body = patient_body("Petit", "Louise", "1948-05-20");
    body["treating_physician_id"] = json!(treating.id);
    body["correspondent_ids"] = json!([correspondent.id]);
    let patient = add_patient(&app, &creator, body).await;
    let path = format!("/api/v1/patients/{patient}");

    // Before any dossier: the creator, the treating physician and the correspondent only.
    for user in [&creator, &treating, &correspondent] {
        let r = app.get(&path, &user.token).await;
        assert_eq!(r.status, 200, "{}: {}", user.username, r.text);
        assert_eq!(r.header("etag").as_deref(), Some("\"1\""));
        assert_eq!(r.body["treating_physician_id"], json!(treating.id));
    }
    for user in [&requester, &member, &requester_sec, &treating_sec] {
        assert_problem(&app.get(&path, &user.token).await, 404, "not_found");
    }

    register_dossier(&app, &session, &patient, &requester).await;
    for user in [&creator, &treating, &correspondent, &requester, &member, &requester_sec] {
        let r = app.get(&path, &user.token).await;
        assert_eq!(r.status, 200, "{} should read: {}", user.username, r.text);
    }
    // A secretary does not inherit her physician's treating link; a participant's secretary sees
    // only her physician's dossiers; a secretary acts only on the centers of her profiles.
    for user in [&treating_sec, &other_sec, &far_sec, &stranger, &coord, &admin] {
        assert_problem(&app.get(&path, &user.token).await, 404, "not_found");
    }
    assert_problem(&app.get("/api/v1/patients/no-such-patient", &creator.token).await, 404, "not_found");

    let trail = events(&app, &patient);
    let by_requester_sec: Vec<&AuditEvent> =
        trail.iter().filter(|e| e.actor_id == requester_sec.id && e.outcome.as_str() == "allowed").collect();
    assert_eq!(by_requester_sec.len(), 1);
    assert_eq!(by_requester_sec[0].action, "patient.read");
    assert_eq!(by_requester_sec[0].on_behalf_of, vec![requester.id.clone()]);
    assert_eq!(by_requester_sec[0].resource_type, "patient");
    assert_eq!(by_requester_sec[0].resource_id.as_deref(), Some(patient.as_str()));
    assert_eq!(count(&trail, "patient.read", &other_sec, "denied"), 1);
    assert_eq!(count(&trail, "patient.read", &admin, "denied"), 1);
    assert_eq!(count(&trail, "patient.read", &creator, "allowed"), 2);
    let own: Vec<&AuditEvent> = trail.iter().filter(|e| e.actor_id == member.id && e.outcome.as_str() == "allowed").collect();
    assert_eq!(own.len(), 1);
    assert!(own[0].on_behalf_of.is_empty());
}

#[actix_rt::test]
async fn patch_needs_the_current_version() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let other = app.physician("Other", &center).await;
    let sec = app.secretary("Durand", &center).await;
    let stranger = app.physician("Stranger", &center).await;
    let patient = add_patient(&app, &doc, patient_body("Roux", "Marie", "1970-01-01")).await;
    let mut taken = patient_body("Blanc", "Jean", "1971-01-01");
    taken["ins"] = json!(ins("1710175056017"));
    add_patient(&app, &doc, taken).await;

    let change = json!({"given_name": "Marie-Anne", "correspondent_ids": [other.id], "birth_place_code": "75056"});
    assert_problem(&patch(&app, &doc, &patient, None, change.clone()).await, 428, "precondition_required");
    // Rights come first: without If-Match, someone who may not see the patient still gets 404.
    assert_problem(&patch(&app, &stranger, &patient, None, change.clone()).await, 404, "not_found");
    assert_problem(&patch(&app, &doc, &patient, Some("\"7\""), change.clone()).await, 412, "precondition_failed");
    // An invalid body is invalid whatever the precondition.
    let invalid = json!({"birth_date": "2999-01-01"});
    assert_problem(&patch(&app, &doc, &patient, Some("\"7\""), invalid.clone()).await, 422, "birth_date_in_future");
    assert_problem(&patch(&app, &doc, &patient, None, invalid).await, 422, "birth_date_in_future");
    assert_problem(&patch(&app, &stranger, &patient, Some("\"1\""), change.clone()).await, 404, "not_found");
    let r = patch(&app, &doc, &patient, Some("\"1\""), change.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(r.body["given_name"], json!("Marie-Anne"));
    assert_eq!(r.body["family_name"], json!("Roux"));
    assert_eq!(r.body["correspondent_ids"], json!([other.id]));
    // The old version is stale now.
    assert_problem(&patch(&app, &doc, &patient, Some("\"1\""), change).await, 412, "precondition_failed");
    // The new correspondent reads the record.
    let r = app.get(&format!("/api/v1/patients/{patient}"), &other.token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(r.body["birth_place_code"], json!("75056"));

    assert_problem(&patch(&app, &doc, &patient, Some("\"2\""), json!({"ins": ins("1710175056017")})).await, 409, "ins_taken");
    assert_problem(&patch(&app, &doc, &patient, Some("\"2\""), json!({"treating_physician_id": sec.id})).await, 422, "not_a_physician");
    assert_problem(&patch(&app, &doc, &patient, Some("\"2\""), json!({"sex": "X"})).await, 422, "invalid_sex");
    let r = patch(&app, &doc, &patient, Some("W/\"2\""), json!({"birth_place_code": null, "sex": "unknown"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["birth_place_code"], Value::Null);
    assert_eq!(r.body["version"], json!(3));

    let trail = events(&app, &patient);
    assert_eq!(count(&trail, "patient.update", &doc, "allowed"), 2);
    // Refused by the store (no version, stale twice, INS taken, not a physician); a body refused
    // before any patient data is touched (an invalid field) leaves no event.
    assert_eq!(count(&trail, "patient.update", &doc, "denied"), 5);
    assert_eq!(count(&trail, "patient.update", &stranger, "denied"), 2);
}

#[actix_rt::test]
async fn documents_are_checked_stored_and_read_under_the_patient_rights() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let treating = app.physician("Treating", &center).await;
    let stranger = app.physician("Stranger", &center).await;
    let sec = app.secretary("Durand", &center).await;
    let mut body = patient_body("Moreau", "Lucie", "1955-09-09");
    body["treating_physician_id"] = json!(treating.id);
    let patient = add_patient(&app, &doc, body).await;

    let r = upload(&app, &doc, &patient, "application/pdf", PDF).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let pdf = r.id();
    assert_eq!(r.body["size_bytes"], json!(PDF.len()));
    assert_eq!(r.body["content_type"], json!("application/pdf"));
    assert_eq!(r.body["title"], json!("Compte rendu"));
    assert_eq!(r.body["document_date"], json!("2026-11-02"));
    let png = upload(&app, &doc, &patient, "image/png", PNG).await;
    assert_eq!(png.status, 201, "{}", png.text);
    let text = upload(&app, &doc, &patient, "text/plain; charset=utf-8", TEXT.as_bytes()).await;
    assert_eq!(text.status, 201, "{}", text.text);
    assert_eq!(text.body["sha256"], json!(TEXT_SHA256));

    let r = app.get(&format!("/api/v1/documents/{}/content", text.id()), &doc.token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text, TEXT);
    assert_eq!(r.header("etag"), Some(format!("\"{TEXT_SHA256}\"")));
    assert_eq!(r.header("content-type").as_deref(), Some("text/plain; charset=utf-8"));
    let r = app.get(&format!("/api/v1/documents/{pdf}/content"), &treating.token).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text.as_bytes(), PDF);
    assert_eq!(r.header("content-type").as_deref(), Some("application/pdf"));
    let r = app.get(&format!("/api/v1/documents/{}/content", png.id()), &doc.token).await;
    assert_eq!(r.header("etag"), Some(format!("\"{}\"", png.body["sha256"].as_str().unwrap())));
    assert_eq!(r.header("x-content-type-options").as_deref(), Some("nosniff"));

    // Refused files.
    assert_problem(&upload(&app, &doc, &patient, "application/pdf", b"MZ\x90\x00\x03 not a pdf").await, 415, "unsupported_document_type");
    assert_problem(&upload(&app, &doc, &patient, "image/png", PDF).await, 415, "unsupported_document_type");
    assert_problem(&upload(&app, &doc, &patient, "text/plain", &[0xFF, 0xFE, 0x00, 0x41]).await, 415, "unsupported_document_type");
    assert_problem(&upload(&app, &doc, &patient, "application/x-msdownload", b"MZ\x90\x00").await, 415, "unsupported_document_type");
    assert_problem(&upload(&app, &doc, &patient, "application/zip", b"PK\x03\x04").await, 415, "unsupported_document_type");
    let mut huge = PDF.to_vec();
    huge.resize(11 * 1024 * 1024, b' ');
    assert_problem(&upload(&app, &doc, &patient, "application/pdf", &huge).await, 413, "document_too_large");
    let r = upload_raw(&app, &doc, &patient, multipart(&[("file", Some("application/pdf"), PDF)])).await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], json!("metadata"));
    let r = upload_raw(&app, &doc, &patient, multipart(&[("metadata", None, &metadata("x"))])).await;
    assert_eq!(r.body["errors"][0]["field"], json!("file"));
    let r =
        upload_raw(&app, &doc, &patient, multipart(&[("metadata", None, b"{\"title\": 1}"), ("file", Some("application/pdf"), PDF)])).await;
    assert_problem(&r, 422, "validation_failed");
    let r =
        upload_raw(&app, &doc, &patient, multipart(&[("metadata", None, &metadata(" ")), ("file", Some("application/pdf"), PDF)])).await;
    assert_eq!(r.body["errors"][0]["field"], json!("metadata.title"));
    assert_problem(&app.post(&format!("/api/v1/patients/{patient}/documents"), &doc.token, json!({})).await, 415, "unsupported_media_type");
    // A part without a Content-Type is plain text (RFC 7578), and is checked as such.
    let r = upload_raw(&app, &doc, &patient, multipart(&[("metadata", None, &metadata("Note")), ("file", None, PDF)])).await;
    assert_problem(&r, 415, "unsupported_document_type");
    let r = upload_raw(&app, &doc, &patient, multipart(&[("metadata", None, &metadata("Note")), ("file", None, TEXT.as_bytes())])).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["content_type"], json!("text/plain"));

    // The record's readers read its documents; the treating physician may not add to it
    // (he sees no dossier of the patient and did not add her); strangers see nothing.
    let list = app.get(&format!("/api/v1/patients/{patient}/documents"), &treating.token).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let ids: Vec<&str> = list.body["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 4);
    assert!(ids.contains(&pdf.as_str()));
    assert!(list.body["items"][0].get("content").is_none());
    assert_eq!(app.get(&format!("/api/v1/documents/{pdf}"), &treating.token).await.body["sha256"].as_str().map(str::len), Some(64));
    assert_problem(&upload(&app, &treating, &patient, "application/pdf", PDF).await, 403, "forbidden");
    for path in
        [format!("/api/v1/patients/{patient}/documents"), format!("/api/v1/documents/{pdf}"), format!("/api/v1/documents/{pdf}/content")]
    {
        assert_problem(&app.get(&path, &stranger.token).await, 404, "not_found");
        assert_problem(&app.get(&path, &sec.token).await, 404, "not_found");
    }
    assert_problem(&upload(&app, &stranger, &patient, "application/pdf", PDF).await, 404, "not_found");
    assert_problem(&app.get("/api/v1/documents/no-such-document", &doc.token).await, 404, "not_found");

    // A secretary who added a patient completes the record.
    let hers = add_patient(&app, &sec, patient_body("Fabre", "Inès", "1990-02-02")).await;
    let r = upload(&app, &sec, &hers, "image/png", PNG).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(app.get(&format!("/api/v1/patients/{hers}/documents"), &sec.token).await.body["items"].as_array().unwrap().len(), 1);

    let trail = events(&app, &patient);
    assert_eq!(count(&trail, "document.create", &doc, "allowed"), 4);
    assert_eq!(count(&trail, "document.create", &treating, "denied"), 1);
    assert_eq!(count(&trail, "document.create", &stranger, "denied"), 1);
    assert_eq!(count(&trail, "document.list", &treating, "allowed"), 1);
    assert_eq!(count(&trail, "document.read", &treating, "allowed"), 1);
    assert_eq!(count(&trail, "document.download", &doc, "allowed"), 2);
    assert_eq!(count(&trail, "document.download", &stranger, "denied"), 1);
    assert!(trail.iter().filter(|e| e.action.starts_with("document.")).all(|e| e.resource_type == "document"));
}

#[actix_rt::test]
async fn each_call_leaves_exactly_one_audit_event() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let coord = app.coordinator(&center).await;
    let requester = app.physician("Requester", &center).await;
    let sec = app.secretary("Durand", &center).await;
    let stranger = app.physician("Stranger", &center).await;
    app.affiliate(&coord, &requester, &sec).await;
    let rcp = app.rcp(&coord, &center, "RCP").await;
    app.member(&coord, &rcp, &requester, "participant").await;
    let session = app.session(&coord, &rcp, 3).await;

    let patient = add_patient(&app, &sec, patient_body("Garnier", "Rose", "1944-04-04")).await;
    register_dossier(&app, &session, &patient, &requester).await;
    assert_eq!(app.get(&format!("/api/v1/patients/{patient}"), &sec.token).await.status, 200);
    assert_eq!(app.get(&format!("/api/v1/patients/{patient}"), &requester.token).await.status, 200);
    assert_eq!(app.get(&format!("/api/v1/patients/{patient}"), &stranger.token).await.status, 404);
    let doc = upload(&app, &requester, &patient, "application/pdf", PDF).await.id();
    assert_eq!(app.get(&format!("/api/v1/documents/{doc}/content"), &sec.token).await.status, 200);

    let trail = events(&app, &patient);
    let summary: Vec<(String, String, String, Vec<String>)> =
        trail.iter().map(|e| (e.action.clone(), e.actor_id.clone(), e.outcome.as_str().to_owned(), e.on_behalf_of.clone())).collect();
    let own = Vec::<String>::new;
    assert_eq!(
        summary,
        vec![
            ("patient.create".to_owned(), sec.id.clone(), "allowed".to_owned(), own()),
            ("dossier.create".to_owned(), requester.id.clone(), "allowed".to_owned(), own()),
            // She added the patient herself: no delegation was needed.
            ("patient.read".to_owned(), sec.id.clone(), "allowed".to_owned(), own()),
            ("patient.read".to_owned(), requester.id.clone(), "allowed".to_owned(), own()),
            ("patient.read".to_owned(), stranger.id.clone(), "denied".to_owned(), own()),
            ("document.create".to_owned(), requester.id.clone(), "allowed".to_owned(), own()),
            ("document.download".to_owned(), sec.id.clone(), "allowed".to_owned(), own()),
        ]
    );
    // Patients and documents belong to no center; the dossier belongs to its RCP's.
    assert!(trail.iter().all(|e| e.cancer_center_id.is_some() == (e.resource_type == "dossier")));
}

/// What the schema states is what the server refuses: `{}`, a `null` that means nothing, a
/// blank name (`minProperties`, non-nullable fields, `pattern: \S`).
#[actix_rt::test]
async fn a_patch_that_changes_nothing_or_blanks_a_name_is_422() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let patient = add_patient(&app, &doc, patient_body("Roux", "Marie", "1970-01-01")).await;
    for (body, field) in [
        (json!({}), "body"),
        (json!({"family_name": null}), "family_name"),
        (json!({"given_name": "  "}), "given_name"),
        (json!({"correspondent_ids": null}), "correspondent_ids"),
    ] {
        let r = patch(&app, &doc, &patient, Some("\"1\""), body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["errors"][0]["field"], field, "{body}: {}", r.text);
    }
    let doc_json = serde_json::to_value(concerto_api::openapi::document().unwrap()).unwrap();
    let schema = &doc_json["components"]["schemas"]["PatchPatient"];
    assert_eq!((schema["minProperties"].as_i64(), schema["properties"]["family_name"]["pattern"].as_str()), (Some(1), Some("\\S")));
    // The record is unchanged: version 1 still matches.
    let r = patch(&app, &doc, &patient, Some("\"1\""), json!({"given_name": "Marie-Anne"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// An upload holds `metadata` and `file` only, as its schema says (`additionalProperties: false`).
#[actix_rt::test]
async fn an_upload_with_another_part_is_422_as_its_schema_says() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let patient = app.patient(&doc, "Dupont", Some(&doc), &[]).await;
    let body = multipart(&[
        ("metadata", Some("application/json"), br#"{"title": "CR", "kind": "report", "document_date": "2026-11-02"}"#),
        ("file", Some("text/plain"), b"compte rendu"),
        ("note", Some("text/plain"), b"extra"),
    ]);
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let path = format!("/api/v1/patients/{patient}/documents");
    let r = app.raw("POST", &path, Some(&doc.token), &[("content-type", &content_type)], body).await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(app.get(&path, &doc.token).await.body["items"], json!([]));
    let doc_json = serde_json::to_value(concerto_api::openapi::document().unwrap()).unwrap();
    assert_eq!(doc_json["components"]["schemas"]["DocumentUpload"]["additionalProperties"], json!(false));
    let validate = &doc_json["paths"]["/api/v1/dossiers/{id}/validate"]["post"]["responses"]["409"]["description"];
    assert!(validate.as_str().unwrap().contains("`quorum_not_met`"), "{validate}");
}

/// A dossier's `PATCH`: `{}` and a `null` text change nothing, 422 (a blank text clears one).
#[actix_rt::test]
async fn a_dossier_patch_names_what_it_changes() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let coord = app.coordinator(&center).await;
    let doc = app.physician("Martin", &center).await;
    let rcp = app.rcp(&coord, &center, "RCP").await;
    app.member(&coord, &rcp, &doc, "animateur").await;
    let session = app.session(&coord, &rcp, 3).await;
    let patient = app.patient(&doc, "Dupont", None, &[]).await;
    let dossier = app.dossier(&doc, &session, &patient, &doc).await;
    let path = format!("/api/v1/dossiers/{dossier}");
    for (body, field) in [(json!({}), "body"), (json!({"question": null}), "question"), (json!({"status": null}), "status")] {
        let r = app.with_if_match("PATCH", &path, &doc.token, "\"1\"", body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.text);
        assert_eq!(r.body["errors"][0]["field"], field, "{body}: {}", r.text);
    }
    let r = app.with_if_match("PATCH", &path, &doc.token, "\"1\"", json!({"question": "?"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}
