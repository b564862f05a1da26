//! The FHIR R4 read API under `/fhir/R4`: the CapabilityStatement against what the routes
//! answer, each resource read and searched, the delegation rules through FHIR (a secretary reads
//! exactly what she reads through `/api/v1`), Provenance's agents, `_revinclude`, paging, the
//! refusals as `OperationOutcome`, and the audit of every read.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{Resp, TestApp, User};

const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// A board (chair, two participants), a secretary acting for the first participant and the
/// chair, another for the second; two patients, one dossier each, validated; the first
/// registered and its report sent by the secretary.
struct World {
    app: TestApp,
    center: String,
    coord: User,
    chair: User,
    member: User,
    other: User,
    sec: User,
    sec_other: User,
    rcp: String,
    session: String,
    /// The member's patient (registered by the secretary), with an INS.
    mine: String,
    mine_dossier: String,
    /// The other participant's patient.
    theirs: String,
    theirs_dossier: String,
}

fn ins(nir: &str) -> String {
    let n: u64 = nir.parse().unwrap();
    format!("{nir}{:02}", 97 - n % 97)
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let center = app.center("3C Nord").await;
    let coord = app.coordinator(&center).await;
    let chair = app.physician("Chair", &center).await;
    let member = app.physician("Member", &center).await;
    let other = app.physician("Other", &center).await;
    let sec = app.secretary("Sec", &center).await;
    let sec_other = app.secretary("SecOther", &center).await;
    let rcp = app.rcp(&coord, &center, "RCP digestive").await;
    app.member(&coord, &rcp, &chair, "animateur").await;
    app.member(&coord, &rcp, &member, "participant").await;
    app.member(&coord, &rcp, &other, "participant").await;
    app.affiliate(&coord, &member, &sec).await;
    app.affiliate(&coord, &other, &sec_other).await;
    let session = app.session(&coord, &rcp, 1).await;
    let body = json!({
        "family_name": "Dupont", "given_name": "Jeanne", "birth_date": "1961-04-12", "sex": "female",
        "ins": ins("2610475056017"), "treating_physician_id": member.id,
    });
    let r = app.post("/api/v1/patients?confirm_new=true", &sec.token, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let mine = r.id();
    let mine_dossier = app.dossier(&sec, &session, &mine, &member).await;
    let theirs = app.patient(&other, "Zorglub", None, &[]).await;
    let theirs_dossier = app.dossier(&other, &session, &theirs, &other).await;
    assert_eq!(app.post(&format!("/api/v1/sessions/{session}/start"), &chair.token, json!({})).await.status, 200);
    app.quorum_present(&center, &session, &chair).await;
    for dossier in [&mine_dossier, &theirs_dossier] {
        let path = format!("/api/v1/dossiers/{dossier}");
        let etag = app.get(&path, &chair.token).await.header("etag").unwrap();
        let fiche = app.complete_fiche().await;
        let r = app.with_if_match("PATCH", &path, &chair.token, &etag, json!({"proposal": "Chirurgie puis FOLFOX", "fiche": fiche})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = app.post(&format!("{path}/validate"), &chair.token, json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // The secretary now acts for the chair too, then sends her physician's report: she sees it
    // through both.
    app.affiliate(&coord, &chair, &sec).await;
    let r = app
        .post(
            &format!("/api/v1/dossiers/{mine_dossier}/report/transmissions"),
            &sec.token,
            json!({"recipient_ids": [member.id], "channel": "mssante"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    World { app, center, coord, chair, member, other, sec, sec_other, rcp, session, mine, mine_dossier, theirs, theirs_dossier }
}

/// The audit trail of a patient, as `reader` (an administrator or coordinator) reads it.
async fn trail(app: &TestApp, reader: &User, patient: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/audit-events?patient_id={patient}&limit=200"), &reader.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

async fn fhir(app: &TestApp, path: &str, user: &User) -> Resp {
    fhir_with(app, path, Some(&user.token), &[]).await
}

async fn fhir_with(app: &TestApp, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Resp {
    let r = app.raw("GET", &format!("/fhir/R4{path}"), token, headers, Vec::new()).await;
    assert_eq!(r.header("content-type").as_deref(), Some(FHIR_JSON), "{path}: {}", r.text);
    dump(&r);
    r
}

/// With `CONCERTO_FHIR_DUMP=<dir>`, every FHIR body answered is written there, for
/// `make fhir-validate` to check against the official R4 JSON schema.
fn dump(r: &Resp) {
    if let Some(dir) = std::env::var_os("CONCERTO_FHIR_DUMP")
        && r.body["resourceType"].is_string()
    {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("{}.json", uuid::Uuid::new_v4())), &r.text).unwrap();
    }
}

/// The resource of a 200 read.
#[track_caller]
fn resource(r: &Resp, resource_type: &str) -> Value {
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["resourceType"], json!(resource_type), "{}", r.text);
    r.body.clone()
}

/// An `OperationOutcome` of `status` whose issue is of type `issue`.
#[track_caller]
fn outcome(r: &Resp, status: u16, issue: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["resourceType"], "OperationOutcome", "{}", r.text);
    assert_eq!(r.body["issue"][0]["code"], json!(issue), "{}", r.text);
    assert_eq!(r.body["issue"][0]["severity"], "error", "{}", r.text);
}

/// The matches of a searchset Bundle.
#[track_caller]
fn matches(r: &Resp, resource_type: &str) -> Vec<Value> {
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["resourceType"], "Bundle", "{}", r.text);
    assert_eq!(r.body["type"], "searchset");
    let entries = r.body["entry"].as_array().unwrap();
    entries
        .iter()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| {
            assert_eq!(e["resource"]["resourceType"], json!(resource_type));
            e["resource"].clone()
        })
        .collect()
}

fn included(r: &Resp) -> Vec<Value> {
    r.body["entry"].as_array().unwrap().iter().filter(|e| e["search"]["mode"] == "include").map(|e| e["resource"].clone()).collect()
}

fn ids(resources: &[Value]) -> BTreeSet<String> {
    resources.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

fn next_link(r: &Resp) -> Option<String> {
    r.body["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").map(|l| l["url"].as_str().unwrap().to_owned())
}

#[actix_rt::test]
async fn the_capability_statement_lists_exactly_what_the_routes_serve() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let user = app.physician("Reader", &center).await;
    // Public, as the OpenAPI document is.
    let r = fhir_with(&app, "/metadata", None, &[]).await;
    let cs = resource(&r, "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    assert_eq!(cs["kind"], "instance");
    let rest = &cs["rest"][0];
    let common: Vec<&str> = rest["searchParam"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(common, ["_count", "_cursor"]);
    let listed: Vec<&str> = rest["resource"].as_array().unwrap().iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(
        listed,
        [
            "Patient",
            "Practitioner",
            "PractitionerRole",
            "CareTeam",
            "Encounter",
            "Procedure",
            "DocumentReference",
            "Provenance",
            "AuditEvent"
        ]
    );
    for res in rest["resource"].as_array().unwrap() {
        let t = res["type"].as_str().unwrap();
        let codes: Vec<&str> = res["interaction"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
        // read: an unknown id is "not found", not "not supported".
        let r = fhir(&app, &format!("/{t}/no-such-id"), &user).await;
        outcome(&r, 404, if codes.contains(&"read") { "not-found" } else { "not-supported" });
        let search = fhir(&app, &format!("/{t}?_count=5"), &user).await;
        if !codes.contains(&"search-type") {
            outcome(&search, 404, "not-supported");
            assert!(res["searchParam"].is_null());
            continue;
        }
        // Every parameter listed is taken (whatever the search answers of a value that matches
        // nothing or is refused), and one not listed is refused as unknown.
        for p in res["searchParam"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            let r = fhir(&app, &format!("/{t}?{name}=x"), &user).await;
            assert!(
                !(r.status == 400 && r.body["issue"][0]["code"] == "not-supported"),
                "{t}: `{name}` is listed but refused as unknown: {}",
                r.text
            );
        }
        let r = fhir(&app, &format!("/{t}?unlisted=x"), &user).await;
        outcome(&r, 400, "not-supported");
        let revinclude = res["searchRevInclude"].as_array().map(|a| a.len()).unwrap_or(0);
        let r = fhir(&app, &format!("/{t}?_revinclude=Provenance:target"), &user).await;
        if revinclude == 0 {
            outcome(&r, 400, "not-supported");
        } else {
            assert_ne!(r.body["issue"][0]["code"], "not-supported", "{t}: {}", r.text);
        }
    }
    // A type not listed is not served.
    outcome(&fhir(&app, "/Observation/1", &user).await, 404, "not-supported");
    outcome(&fhir(&app, "/Observation", &user).await, 404, "not-supported");
}

#[actix_rt::test]
async fn each_resource_is_read_and_searched() {
    let w = world().await;
    let app = &w.app;
    let admin = app.admin().await;

    // Patient: read with its INS; searched by INS, or by family prefix and birth date.
    let p = resource(&fhir(app, &format!("/Patient/{}", w.mine), &w.member).await, "Patient");
    assert_eq!(p["identifier"][0]["system"], "urn:oid:1.2.250.1.213.1.4.8");
    assert_eq!(p["identifier"][0]["value"], json!(ins("2610475056017")));
    assert_eq!(p["name"][0]["family"], "Dupont");
    assert_eq!(p["birthDate"], "1961-04-12");
    assert_eq!(p["gender"], "female");
    assert_eq!(p["generalPractitioner"][0]["reference"], json!(format!("Practitioner/{}", w.member.id)));
    let by_ins = fhir(app, &format!("/Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|{}", ins("2610475056017")), &w.other).await;
    assert_eq!(ids(&matches(&by_ins, "Patient")), BTreeSet::from([w.mine.clone()]));
    let by_name = fhir(app, "/Patient?family=dup&birthdate=1961-04-12", &w.other).await;
    assert_eq!(ids(&matches(&by_name, "Patient")), BTreeSet::from([w.mine.clone()]));
    assert!(matches(&fhir(app, "/Patient?family=dup&birthdate=1961-04-13", &w.other).await, "Patient").is_empty());

    // Practitioner: RPPS and IDNPS.
    let r = app
        .post("/api/v1/professionals", &admin.token, json!({"family_name": "Martin", "given_name": "Hélène", "rpps": "10000000009"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let helene = r.id();
    let pr = resource(&fhir(app, &format!("/Practitioner/{helene}"), &w.sec).await, "Practitioner");
    let idents: Vec<(&str, &str)> =
        pr["identifier"].as_array().unwrap().iter().map(|i| (i["system"].as_str().unwrap(), i["value"].as_str().unwrap())).collect();
    assert_eq!(idents, [("urn:oid:1.2.250.1.71.4.2.1", "810000000009"), ("https://rpps.esante.gouv.fr", "10000000009")]);
    for q in ["identifier=https://rpps.esante.gouv.fr|10000000009", "identifier=urn:oid:1.2.250.1.71.4.2.1|810000000009", "name=hel"] {
        assert_eq!(
            ids(&matches(&fhir(app, &format!("/Practitioner?{q}"), &w.sec).await, "Practitioner")),
            BTreeSet::from([helene.clone()]),
            "{q}"
        );
    }
    assert!(
        matches(&fhir(app, "/Practitioner?identifier=urn:oid:1.2.250.1.71.4.2.1|10000000009", &w.sec).await, "Practitioner").is_empty()
    );

    // PractitionerRole: the secretary's profile on the center, read back by its id.
    let roles =
        matches(&fhir(app, &format!("/PractitionerRole?practitioner=Practitioner/{}", w.sec.id), &w.member).await, "PractitionerRole");
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["code"][0]["coding"][0]["code"], "secretary");
    assert_eq!(roles[0]["organization"]["identifier"]["value"], json!(w.center));
    let role_id = roles[0]["id"].as_str().unwrap();
    assert_eq!(resource(&fhir(app, &format!("/PractitionerRole/{role_id}"), &w.member).await, "PractitionerRole"), roles[0]);

    // CareTeam: the RCP with its members and their roles.
    let team = resource(&fhir(app, &format!("/CareTeam/{}", w.rcp), &w.sec).await, "CareTeam");
    assert_eq!(team["name"], "RCP digestive");
    let members: BTreeSet<(String, String)> = team["participant"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["member"]["reference"].as_str().unwrap().to_owned(), p["role"][0]["coding"][0]["code"].as_str().unwrap().to_owned()))
        .collect();
    let expected: BTreeSet<(String, String)> = [(&w.chair, "animateur"), (&w.member, "participant"), (&w.other, "participant")]
        .into_iter()
        .map(|(u, role)| (format!("Practitioner/{}", u.id), role.to_owned()))
        .collect();
    assert_eq!(members, expected);

    // Encounter: the session, in progress.
    let enc = resource(&fhir(app, &format!("/Encounter/{}", w.session), &w.sec).await, "Encounter");
    assert_eq!(enc["status"], "in-progress");
    assert_eq!(enc["class"]["code"], "VR");
    assert_eq!(enc["serviceType"]["text"], "RCP digestive");
    assert_eq!(enc["location"][0]["location"]["display"], "Salle 2");

    // Procedure: the review, its proposal in followUp.
    let proc = resource(&fhir(app, &format!("/Procedure/{}", w.mine_dossier), &w.chair).await, "Procedure");
    assert_eq!(proc["code"]["coding"][0]["code"], "C93304");
    assert_eq!(proc["code"]["coding"][0]["display"], "Tumor Board Review");
    assert_eq!(proc["status"], "completed");
    assert_eq!(proc["followUp"][0]["text"], "Chirurgie puis FOLFOX");
    assert_eq!(proc["subject"]["reference"], json!(format!("Patient/{}", w.mine)));
    assert_eq!(proc["encounter"]["reference"], json!(format!("Encounter/{}", w.session)));
    let found = matches(&fhir(app, &format!("/Procedure?subject=Patient/{}", w.mine), &w.chair).await, "Procedure");
    assert_eq!(found, vec![proc]);

    // DocumentReference: the validated report, its CDA at the JSON API.
    let doc = resource(&fhir(app, &format!("/DocumentReference/{}", w.mine_dossier), &w.member).await, "DocumentReference");
    assert_eq!(doc["type"]["coding"][0]["system"], "http://loinc.org");
    assert_eq!(doc["type"]["coding"][0]["code"], "34794-8");
    assert_eq!(doc["content"][0]["format"]["code"], "urn:asip:ci-sis:frcp:2011");
    assert_eq!(doc["content"][0]["attachment"]["contentType"], "application/hl7-cda+xml");
    assert_eq!(doc["content"][0]["attachment"]["url"], json!(format!("/api/v1/dossiers/{}/report", w.mine_dossier)));
    assert_eq!(doc["authenticator"]["reference"], json!(format!("Practitioner/{}", w.chair.id)));
    let found = matches(&fhir(app, &format!("/DocumentReference?patient={}", w.mine), &w.member).await, "DocumentReference");
    assert_eq!(found, vec![doc]);

    // Provenance: read back by the id its search gave.
    let provs = matches(&fhir(app, &format!("/Provenance?target=Procedure/{}", w.mine_dossier), &w.member).await, "Provenance");
    assert!(!provs.is_empty());
    let first = provs[0]["id"].as_str().unwrap();
    assert_eq!(resource(&fhir(app, &format!("/Provenance/{first}"), &w.member).await, "Provenance"), provs[0]);

    // AuditEvent: the coordinator's view of the trail; a physician's is refused.
    let events = matches(&fhir(app, &format!("/AuditEvent?patient=Patient/{}&_count=200", w.mine), &w.coord).await, "AuditEvent");
    let json_events = app.get(&format!("/api/v1/audit-events?patient_id={}&limit=200", w.mine), &w.coord.token).await;
    assert_eq!(events.len(), json_events.body["items"].as_array().unwrap().len(), "the same trail as the JSON API");
    assert!(events.iter().all(|e| e["entity"][0]["what"]["reference"] == json!(format!("Patient/{}", w.mine))));
    outcome(&fhir(app, "/AuditEvent", &w.member).await, 403, "forbidden");
}

#[actix_rt::test]
async fn a_secretary_reads_through_fhir_exactly_what_she_reads_through_the_json_api() {
    let w = world().await;
    let app = &w.app;
    // The other secretary acts for the other participant only: his dossier, not the member's.
    for (user, visible, hidden) in [(&w.sec_other, &w.theirs_dossier, &w.mine_dossier)] {
        for t in ["Procedure", "DocumentReference"] {
            resource(&fhir(app, &format!("/{t}/{visible}"), user).await, t);
            outcome(&fhir(app, &format!("/{t}/{hidden}"), user).await, 404, "not-found");
        }
        assert!(matches(&fhir(app, &format!("/Provenance?target=Procedure/{hidden}"), user).await, "Provenance").is_empty());
        outcome(&fhir(app, &format!("/Patient/{}", w.mine), user).await, 404, "not-found");
    }
    // What each caller finds through FHIR across both patients equals the JSON API's search.
    for user in [&w.sec, &w.sec_other, &w.member, &w.other, &w.chair, &w.coord] {
        let mut fhir_ids = BTreeSet::new();
        for patient in [&w.mine, &w.theirs] {
            let r = fhir(app, &format!("/Procedure?patient=Patient/{patient}"), user).await;
            fhir_ids.extend(ids(&matches(&r, "Procedure")));
            let docs = ids(&matches(&fhir(app, &format!("/DocumentReference?patient={patient}"), user).await, "DocumentReference"));
            assert!(docs.is_subset(&fhir_ids), "a report only of a visible dossier");
        }
        let r = app.get(&format!("/api/v1/dossiers?rcp_id={}", w.rcp), &user.token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let json_ids: BTreeSet<String> = r.body["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(fhir_ids, json_ids, "{}", user.username);
    }
    // The other secretary sees only her physician's dossier; the coordinator none.
    let seen = |user: &User| {
        let app = &w.app;
        let patient = w.theirs.clone();
        let user = user.clone();
        async move { ids(&matches(&fhir(app, &format!("/Procedure?patient={patient}"), &user).await, "Procedure")) }
    };
    assert_eq!(seen(&w.sec_other).await, BTreeSet::from([w.theirs_dossier.clone()]));
    assert!(seen(&w.coord).await.is_empty());
    let mine = ids(&matches(&fhir(app, &format!("/Procedure?patient={}", w.mine), &w.sec_other).await, "Procedure"));
    assert!(mine.is_empty(), "a dossier of a physician she does not act for is absent");
}

#[actix_rt::test]
async fn provenance_names_one_agent_per_physician_the_secretary_acted_for() {
    let w = world().await;
    let app = &w.app;
    let on_procedure = matches(&fhir(app, &format!("/Provenance?target=Procedure/{}", w.mine_dossier), &w.member).await, "Provenance");
    let activity = |p: &Value| p["activity"]["coding"][0]["code"].as_str().unwrap().to_owned();
    assert_eq!(on_procedure.iter().map(activity).collect::<Vec<_>>(), ["dossier.create", "dossier.validate"]);
    // The registration: the secretary, on behalf of the requester.
    let agents = on_procedure[0]["agent"].as_array().unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0]["who"]["reference"], json!(format!("Practitioner/{}", w.sec.id)));
    assert_eq!(agents[0]["onBehalfOf"]["reference"], json!(format!("Practitioner/{}", w.member.id)));
    // The validation: its verifier, acting as himself.
    let agents = on_procedure[1]["agent"].as_array().unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0]["who"]["reference"], json!(format!("Practitioner/{}", w.chair.id)));
    assert_eq!(agents[0]["type"]["coding"][0]["code"], "verifier");
    assert!(agents[0].get("onBehalfOf").is_none());

    // The sending: she saw the dossier through both physicians she acts for, one agent each, as
    // the audit trail records it.
    let on_report = matches(&fhir(app, &format!("/Provenance?target=DocumentReference/{}", w.mine_dossier), &w.sec).await, "Provenance");
    assert_eq!(on_report.iter().map(activity).collect::<Vec<_>>(), ["dossier.validate", "report.send"]);
    let agents = on_report[1]["agent"].as_array().unwrap();
    let behalf: BTreeSet<String> = agents
        .iter()
        .map(|a| {
            assert_eq!(a["who"]["reference"], json!(format!("Practitioner/{}", w.sec.id)));
            a["onBehalfOf"]["reference"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(behalf.len(), agents.len(), "one agent per physician");
    let trail = app.get(&format!("/api/v1/audit-events?patient_id={}&limit=200", w.mine), &w.coord.token).await;
    let send = trail.body["items"].as_array().unwrap().iter().find(|e| e["action"] == "report.send").unwrap().clone();
    let recorded: BTreeSet<String> =
        send["on_behalf_of"].as_array().unwrap().iter().map(|p| format!("Practitioner/{}", p.as_str().unwrap())).collect();
    assert_eq!(behalf, recorded);
    assert_eq!(
        behalf,
        BTreeSet::from([format!("Practitioner/{}", w.chair.id), format!("Practitioner/{}", w.member.id)]),
        "she acted for both"
    );
}

#[actix_rt::test]
async fn revinclude_brings_the_provenance_of_the_matches() {
    let w = world().await;
    let app = &w.app;
    let r = fhir(app, &format!("/DocumentReference?patient={}&_revinclude=Provenance:target", w.mine), &w.sec).await;
    assert_eq!(ids(&matches(&r, "DocumentReference")), BTreeSet::from([w.mine_dossier.clone()]));
    let inc = included(&r);
    assert_eq!(inc.len(), 2, "the validation and the sending: {}", r.text);
    let target = format!("DocumentReference/{}", w.mine_dossier);
    assert!(
        inc.iter()
            .all(|p| p["resourceType"] == "Provenance" && p["target"].as_array().unwrap().iter().any(|t| t["reference"] == json!(target)))
    );
    let r = fhir(app, &format!("/Procedure?patient={}&_revinclude=Provenance:target", w.mine), &w.sec).await;
    assert_eq!(included(&r).len(), 2, "the registration and the validation");
    let r = fhir(app, &format!("/Procedure?patient={}", w.mine), &w.sec).await;
    assert!(included(&r).is_empty());
    // A secretary's revinclude brings nothing of a dossier she may not read.
    let r = fhir(app, &format!("/Procedure?patient={}&_revinclude=Provenance:target", w.mine), &w.sec_other).await;
    assert!(r.body["entry"].as_array().unwrap().is_empty(), "{}", r.text);
}

#[actix_rt::test]
async fn searches_page_with_next_links_to_the_end() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let coord = app.coordinator(&center).await;
    let doc = app.physician("Doc", &center).await;
    let rcp = app.rcp(&coord, &center, "RCP").await;
    app.member(&coord, &rcp, &doc, "participant").await;
    let patient = app.patient(&doc, "Durand", None, &[]).await;
    let mut registered = BTreeSet::new();
    for day in 1..=5 {
        let session = app.session(&coord, &rcp, day).await;
        registered.insert(app.dossier(&doc, &session, &patient, &doc).await);
    }
    let mut seen = Vec::new();
    let mut path = format!("/Procedure?patient=Patient/{patient}&_count=2");
    let mut pages = 0;
    loop {
        let r = fhir(&app, &path, &doc).await;
        let page = matches(&r, "Procedure");
        assert!(page.len() <= 2);
        seen.extend(ids(&page));
        pages += 1;
        match next_link(&r) {
            Some(next) => {
                assert!(next.contains("_count=2") && next.contains("patient=Patient%2F"), "{next}");
                path = next.split_once("/fhir/R4").unwrap().1.to_owned();
            }
            None => break,
        }
        assert!(pages < 10, "the paging ends");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5, "no dossier twice");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), registered);
    // A cursor that is not ours, and a page size out of bounds.
    outcome(&fhir(&app, &format!("/Procedure?patient={patient}&_cursor=zz"), &doc).await, 400, "invalid");
    outcome(&fhir(&app, &format!("/Procedure?patient={patient}&_count=0"), &doc).await, 400, "invalid");
    outcome(&fhir(&app, &format!("/Procedure?patient={patient}&_count=201"), &doc).await, 400, "invalid");
}

#[actix_rt::test]
async fn refusals_are_operation_outcomes_with_the_right_status() {
    let w = world().await;
    let app = &w.app;
    // Too broad.
    outcome(&fhir(app, "/Patient", &w.member).await, 400, "too-costly");
    outcome(&fhir(app, "/Patient?family=du", &w.member).await, 400, "too-costly");
    outcome(&fhir(app, "/Procedure", &w.member).await, 400, "too-costly");
    outcome(&fhir(app, "/DocumentReference", &w.member).await, 400, "too-costly");
    outcome(&fhir(app, "/Provenance", &w.member).await, 400, "too-costly");
    // Unknown parameters: refused, or ignored when the caller asks for lenient handling.
    let strict = format!("/Procedure?patient={}&colour=blue", w.mine);
    outcome(&fhir(app, &strict, &w.member).await, 400, "not-supported");
    let lenient = fhir_with(app, &strict, Some(&w.member.token), &[("prefer", "handling=lenient")]).await;
    assert_eq!(ids(&matches(&lenient, "Procedure")), BTreeSet::from([w.mine_dossier.clone()]));
    outcome(&fhir(app, &format!("/Procedure?patient={}&patient={}", w.mine, w.mine), &w.member).await, 400, "invalid");
    // No format it writes.
    let xml = fhir_with(app, &format!("/Patient/{}", w.mine), Some(&w.member.token), &[("accept", "application/fhir+xml")]).await;
    assert_eq!(xml.status, 406, "{}", xml.text);
    assert_eq!(xml.body["resourceType"], "OperationOutcome");
    assert_eq!(fhir(app, &format!("/Patient/{}?_format=xml", w.mine), &w.member).await.status, 406);
    let json_too = fhir_with(app, &format!("/Patient/{}", w.mine), Some(&w.member.token), &[("accept", "application/json")]).await;
    resource(&json_too, "Patient");
    // No token, a bad one, a disabled account: 401 with the challenge.
    for token in [None, Some("not-a-token")] {
        let r = fhir_with(app, &format!("/Patient/{}", w.mine), token, &[]).await;
        outcome(&r, 401, "login");
        assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    }
    let admin = app.admin().await;
    assert_eq!(app.patch(&format!("/api/v1/accounts/{}", w.member.account_id), &admin.token, json!({"active": false})).await.status, 200);
    outcome(&fhir(app, &format!("/Patient/{}", w.mine), &w.member).await, 401, "login");
    outcome(&fhir(app, &format!("/Procedure?patient={}", w.mine), &w.member).await, 401, "login");
    outcome(&fhir(app, "/Procedure?colour=blue", &w.member).await, 401, "login");
    // Read only: another method is 405 with Allow; an unknown path 404.
    let r = app.raw("POST", "/fhir/R4/Patient", Some(&w.chair.token), &[("content-type", "application/fhir+json")], b"{}".to_vec()).await;
    assert_eq!(r.status, 405, "{}", r.text);
    assert_eq!(r.header("allow").as_deref(), Some("GET"));
    assert_eq!(r.body["resourceType"], "OperationOutcome");
    outcome(&fhir(app, &format!("/Patient/{}/_history", w.mine), &w.chair).await, 404, "not-supported");
}

#[actix_rt::test]
async fn every_fhir_read_of_patient_data_is_audited_as_the_json_api_does() {
    let w = world().await;
    let app = &w.app;
    // The administrator sees every event (a patient's read names no center for its coordinators).
    let admin = app.admin().await;
    let before = trail(app, &admin, &w.mine).await.len();
    resource(&fhir(app, &format!("/Procedure/{}", w.mine_dossier), &w.sec).await, "Procedure");
    resource(&fhir(app, &format!("/DocumentReference/{}", w.mine_dossier), &w.sec).await, "DocumentReference");
    resource(&fhir(app, &format!("/Patient/{}", w.mine), &w.sec).await, "Patient");
    matches(&fhir(app, &format!("/Provenance?target=Procedure/{}", w.mine_dossier), &w.sec).await, "Provenance");
    // A refused read is recorded too.
    outcome(&fhir(app, &format!("/Procedure/{}", w.mine_dossier), &w.sec_other).await, 404, "not-found");
    let after = trail(app, &admin, &w.mine).await;
    let new: Vec<(String, String, String, Vec<String>)> = after[before..]
        .iter()
        .map(|e| {
            (
                e["actor_id"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
                e["on_behalf_of"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect(),
            )
        })
        .collect();
    let mut both = vec![w.chair.id.clone(), w.member.id.clone()];
    both.sort();
    assert_eq!(
        new,
        vec![
            (w.sec.id.clone(), "dossier.read".to_owned(), "allowed".to_owned(), both.clone()),
            (w.sec.id.clone(), "report.read".to_owned(), "allowed".to_owned(), both.clone()),
            // She added the patient herself: her own right, nobody's behalf.
            (w.sec.id.clone(), "patient.read".to_owned(), "allowed".to_owned(), vec![]),
            (w.sec.id.clone(), "provenance.read".to_owned(), "allowed".to_owned(), both),
            (w.sec_other.id.clone(), "dossier.read".to_owned(), "denied".to_owned(), vec![]),
        ],
        "one event per read, with on whose behalf"
    );
}

/// Statements (besides transaction control), checkouts and blocking calls of one FHIR GET.
async fn cost_of(app: &TestApp, path: &str, user: &User) -> (u64, u64, u64) {
    let (before, checkouts, blocking_calls) = (app.statements.get(), app.checkouts.get(), app.blocking_calls.get());
    let r = fhir(app, path, user).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    (app.statements.get().since(before).besides_transactions(), app.checkouts.get() - checkouts, app.blocking_calls.get() - blocking_calls)
}

#[actix_rt::test]
async fn a_fhir_search_costs_one_checkout_and_as_many_statements_whatever_its_page() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let coord = app.coordinator(&center).await;
    let doc = app.physician("Doc", &center).await;
    let sec = app.secretary("Sec", &center).await;
    app.affiliate(&coord, &doc, &sec).await;
    let rcp = app.rcp(&coord, &center, "RCP").await;
    app.member(&coord, &rcp, &doc, "participant").await;
    let patient = app.patient(&doc, "Durand", None, &[]).await;
    let searches = [
        format!("/Procedure?patient={patient}&_revinclude=Provenance:target&_count=200"),
        format!("/DocumentReference?patient={patient}&_revinclude=Provenance:target&_count=200"),
        format!("/Provenance?target=Procedure/{}", "none"),
    ];
    let costs = |user: User| {
        let (app, searches) = (&app, searches.clone());
        async move {
            let mut out = Vec::new();
            for s in &searches {
                out.push(cost_of(app, s, &user).await);
            }
            out
        }
    };
    let first = app.session(&coord, &rcp, 1).await;
    let dossier = app.dossier(&sec, &first, &patient, &doc).await;
    let small = costs(sec.clone()).await;
    for day in 2..=6 {
        let session = app.session(&coord, &rcp, day).await;
        app.dossier(&sec, &session, &patient, &doc).await;
    }
    let r = fhir(&app, &format!("/Procedure?patient={patient}&_revinclude=Provenance:target"), &sec).await;
    assert_eq!((matches(&r, "Procedure").len(), included(&r).len()), (6, 6), "{}", r.text);
    let large = costs(sec.clone()).await;
    eprintln!("FHIR search costs (statements, checkouts, blocking calls): {large:?}");
    assert_eq!(small, large, "a search's statements must not grow with its page");
    for (statements, checkouts, blocking_calls) in large {
        assert!(statements <= 8, "{statements} statements");
        assert_eq!((checkouts, blocking_calls), (1, 1));
    }
    let (_, checkouts, blocking_calls) = cost_of(&app, &format!("/Procedure/{dossier}"), &sec).await;
    assert_eq!((checkouts, blocking_calls), (1, 1));
}
