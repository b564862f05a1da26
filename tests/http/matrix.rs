//! The authorization matrix: every operation of the OpenAPI document × every kind of caller,
//! with the outcome the rules of API.md give. An operation without a row fails the test, so a
//! new endpoint cannot ship without its rights being stated here.
//!
//! Outcomes are about authorization: `Pass` means the call got past the rights (a 2xx, or a
//! business refusal such as 409/422 that only a permitted caller can reach); `Deny` is 403,
//! `Hide` 404 (the resource stays invisible), `Unauth` 401. Each (operation, caller) call gets
//! fresh throwaway targets where the operation changes state, so calls do not interfere.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{BOUNDARY, PASSWORD, TestApp, User, multipart};

/// The kinds of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Who {
    Anonymous,
    Disabled,
    Admin,
    CoordHere,
    CoordOther,
    Manager,
    Requester,
    Participant,
    Animateur,
    Unrelated,
    SecOfRequester,
    SecOfRequesterViaGroup,
    SecOfAnimateur,
    SecOnOtherCenter,
}

const EVERYONE: [Who; 14] = [
    Who::Anonymous,
    Who::Disabled,
    Who::Admin,
    Who::CoordHere,
    Who::CoordOther,
    Who::Manager,
    Who::Requester,
    Who::Participant,
    Who::Animateur,
    Who::Unrelated,
    Who::SecOfRequester,
    Who::SecOfRequesterViaGroup,
    Who::SecOfAnimateur,
    Who::SecOnOtherCenter,
];

/// What a call must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Pass,
    Deny,
    Hide,
    Unauth,
}

/// The world every call is made in.
pub struct World {
    pub here: String,
    pub users: Vec<(Who, User)>,
    pub group: String,
    pub rcp: String,
    pub session: String,
    /// A patient added by the requester, with a dossier he registered in `session` and a document.
    pub patient: String,
    pub dossier: String,
    pub document: String,
    /// Another dossier of the requester's, validated by the animateur: it has a report.
    pub validated: String,
}

impl World {
    pub fn user(&self, who: Who) -> &User {
        &self.users.iter().find(|(w, _)| *w == who).expect("caller in world").1
    }
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let here = app.center("3C Here").await;
    let other = app.center("3C Other").await;
    let coord_here = app.coordinator(&here).await;
    let coord_other = app.coordinator(&other).await;
    let manager = app.physician("Manager", &here).await;
    let requester = app.physician("Requester", &here).await;
    let participant = app.physician("Participant", &here).await;
    let animateur = app.physician("Animateur", &here).await;
    let unrelated = app.physician("Unrelated", &here).await;
    let sec_req = app.secretary("SecReq", &here).await;
    let sec_group = app.secretary("SecGroup", &here).await;
    let sec_anim = app.secretary("SecAnim", &here).await;
    let sec_other = app.secretary("SecOther", &other).await;
    let disabled = app.physician("Disabled", &here).await;
    app.affiliate(&coord_here, &requester, &sec_req).await;
    app.affiliate(&coord_here, &animateur, &sec_anim).await;
    let admin_user = app.admin().await;
    assert_eq!(
        app.put(&format!("/api/v1/professionals/{}/secretaries/{}", requester.id, sec_other.id), &admin_user.token, None).await.status,
        204
    );
    let group = app.post("/api/v1/secretary-groups", &coord_here.token, json!({"cancer_center_id": here, "name": "Group"})).await.id();
    assert_eq!(app.put(&format!("/api/v1/secretary-groups/{group}/members/{}", sec_group.id), &coord_here.token, None).await.status, 204);
    assert_eq!(
        app.put(&format!("/api/v1/professionals/{}/secretary-groups/{group}", requester.id), &coord_here.token, None).await.status,
        204
    );
    let rcp = app.rcp(&coord_here, &here, "RCP").await;
    app.member(&coord_here, &rcp, &requester, "participant").await;
    app.member(&coord_here, &rcp, &participant, "participant").await;
    app.member(&coord_here, &rcp, &animateur, "animateur").await;
    assert_eq!(app.put(&format!("/api/v1/rcps/{rcp}/managers/{}", manager.id), &coord_here.token, None).await.status, 204);
    let session = app.session(&coord_here, &rcp, 5).await;
    assert_eq!(app.patch(&format!("/api/v1/accounts/{}", disabled.account_id), &admin.token, json!({"active": false})).await.status, 200);
    let users = vec![
        (Who::Admin, admin),
        (Who::CoordHere, coord_here),
        (Who::CoordOther, coord_other),
        (Who::Manager, manager),
        (Who::Requester, requester),
        (Who::Participant, participant),
        (Who::Animateur, animateur),
        (Who::Unrelated, unrelated),
        (Who::SecOfRequester, sec_req),
        (Who::SecOfRequesterViaGroup, sec_group),
        (Who::SecOfAnimateur, sec_anim),
        (Who::SecOnOtherCenter, sec_other),
        (Who::Disabled, disabled),
    ];
    let mut w = World {
        here,
        users,
        group,
        rcp,
        session,
        patient: String::new(),
        dossier: String::new(),
        document: String::new(),
        validated: String::new(),
    };
    let (requester, animateur) = (w.user(Who::Requester).clone(), w.user(Who::Animateur).clone());
    w.patient = app.patient(&requester, "Garnier", None, &[]).await;
    w.dossier = app.dossier(&requester, &w.session, &w.patient, &requester).await;
    w.document = upload(app, &requester, &w.patient).await;
    // Validated during its session, with the board's quorum present.
    let second = app.patient(&requester, "Lefebvre", None, &[]).await;
    let coord = w.user(Who::CoordHere).clone();
    let running = app.session(&coord, &w.rcp, 4).await;
    w.validated = app.dossier(&requester, &running, &second, &requester).await;
    assert_eq!(app.post(&format!("/api/v1/sessions/{running}/start"), &coord.token, json!({})).await.status, 200);
    app.quorum_present(&w.here, &running, &animateur).await;
    let r = app
        .with_if_match(
            "PATCH",
            &format!("/api/v1/dossiers/{}", w.validated),
            &requester.token,
            "\"1\"",
            json!({"proposal": "chimiothérapie", "fiche": app.complete_fiche().await}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(app.post(&format!("/api/v1/dossiers/{}/validate", w.validated), &animateur.token, json!({})).await.status, 200);
    w
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

/// A request's body (multipart or JSON, or none), its content type pushed onto `headers`.
fn body_of<'a>(multipart: Option<Vec<u8>>, json: Option<Value>, multipart_type: &'a str, headers: &mut Vec<(&str, &'a str)>) -> Vec<u8> {
    match (multipart, json) {
        (Some(bytes), _) => {
            headers.push(("content-type", multipart_type));
            bytes
        }
        (None, Some(json)) => {
            headers.push(("content-type", "application/json"));
            json.to_string().into_bytes()
        }
        (None, None) => Vec::new(),
    }
}

fn document_body() -> Vec<u8> {
    let metadata = json!({"title": "Compte rendu", "kind": "report", "document_date": "2026-11-02"}).to_string();
    multipart(&[("metadata", Some("application/json"), metadata.as_bytes()), ("file", Some("application/pdf"), PDF)])
}

async fn upload(app: &TestApp, by: &User, patient: &str) -> String {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let r =
        app.raw("POST", &format!("/api/v1/patients/{patient}/documents"), Some(&by.token), &[("content-type", &ct)], document_body()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.id()
}

/// Who passes a row: the rest of the authenticated callers get the row's refusal.
type Rule = Box<dyn Fn(Who) -> Expect>;

/// Only these callers pass; every other authenticated caller gets `otherwise`.
fn only(allowed: &[Who], otherwise: Expect) -> Rule {
    let allowed = allowed.to_vec();
    Box::new(move |w| if allowed.contains(&w) { Expect::Pass } else { otherwise })
}

/// Every authenticated caller passes.
fn anyone() -> Rule {
    Box::new(|_| Expect::Pass)
}

fn n() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

/// A fresh professional (created by the administrator) with the given profile on `center`.
async fn fresh(app: &TestApp, category: &str, center: &str, kind: &str) -> String {
    let admin = app.admin().await;
    let id = app
        .post("/api/v1/professionals", &admin.token, json!({"family_name": format!("T{}", n()), "given_name": "T", "category": category}))
        .await
        .id();
    assert_eq!(app.put(&format!("/api/v1/professionals/{id}/profiles/{center}/{kind}"), &admin.token, None).await.status, 204);
    id
}

/// One call of an operation: its request and who passes.
struct Req {
    path: String,
    json: Option<Value>,
    /// A multipart body instead of JSON.
    multipart: Option<Vec<u8>>,
    /// Sends `If-Match: "1"`, so writes of medical data reach their rights check.
    if_match: bool,
    rule: Rule,
}

impl From<(String, Option<Value>, Rule)> for Req {
    fn from((path, json, rule): (String, Option<Value>, Rule)) -> Self {
        Req { path, json, multipart: None, if_match: false, rule }
    }
}

/// The request of an operation, with fresh targets where it changes state, and who passes.
async fn request(app: &TestApp, w: &World, op: &str) -> Req {
    use Who::*;
    let admin = app.admin().await;
    let coord = w.user(CoordHere).clone();
    match op {
        "GET /api/v1/account-requests" => ("/api/v1/account-requests".into(), None, only(&[Admin, CoordHere, CoordOther], Expect::Deny)),
        "POST /api/v1/account-requests" => (
            "/api/v1/account-requests".into(),
            Some(
                json!({"cancer_center_id": w.here, "family_name": "New", "given_name": "Person", "email": "n@example.org", "expected_profile": "secretary"}),
            ),
            only(&[CoordHere], Expect::Deny),
        ),
        "POST /api/v1/account-requests/{id}/fulfil" | "POST /api/v1/account-requests/{id}/reject" => {
            let body = json!({"cancer_center_id": w.here, "family_name": "New", "given_name": "Person", "email": "n@example.org", "expected_profile": "secretary"});
            let id = app.post("/api/v1/account-requests", &coord.token, body).await.id();
            let (path, body) = if op.ends_with("fulfil") {
                (format!("/api/v1/account-requests/{id}/fulfil"), json!({"username": format!("u{}", n()), "initial_password": PASSWORD}))
            } else {
                (format!("/api/v1/account-requests/{id}/reject"), json!({"reason": "no"}))
            };
            (path, Some(body), only(&[Admin], Expect::Deny))
        }
        "POST /api/v1/accounts" => {
            let id = fresh(app, "physician", &w.here, "physician").await;
            (
                "/api/v1/accounts".into(),
                Some(json!({"professional_id": id, "username": format!("u{}", n()), "password": PASSWORD})),
                only(&[Admin], Expect::Deny),
            )
        }
        "PATCH /api/v1/accounts/{id}" => {
            let id = fresh(app, "physician", &w.here, "physician").await;
            let account = app
                .post(
                    "/api/v1/accounts",
                    &admin.token,
                    json!({"professional_id": id, "username": format!("u{}", n()), "password": PASSWORD}),
                )
                .await
                .id();
            (format!("/api/v1/accounts/{account}"), Some(json!({"active": true})), only(&[Admin], Expect::Deny))
        }
        "DELETE /api/v1/accounts/{id}/sessions" => {
            let id = fresh(app, "physician", &w.here, "physician").await;
            let body = json!({"professional_id": id, "username": format!("u{}", n()), "password": PASSWORD});
            let account = app.post("/api/v1/accounts", &admin.token, body).await.id();
            (format!("/api/v1/accounts/{account}/sessions"), None, only(&[Admin], Expect::Deny))
        }
        // A second session of the requester's: he ends it; anyone else's call finds no session
        // of hers with that id.
        "DELETE /api/v1/me/sessions/{id}" => {
            let requester = w.user(Requester);
            let r = app.call("POST", "/api/v1/auth/login", None, Some(json!({"username": requester.username, "password": PASSWORD}))).await;
            let session = r.body["session_id"].as_str().unwrap_or_default().to_owned();
            (format!("/api/v1/me/sessions/{session}"), None, only(&[Requester], Expect::Hide))
        }
        "GET /api/v1/agenda"
        | "GET /api/v1/me/sessions"
        | "GET /api/v1/cancer-centers"
        | "GET /api/v1/me"
        | "GET /api/v1/professionals"
        | "GET /api/v1/rcps"
        | "GET /api/v1/secretary-groups" => (op.split(' ').nth(1).unwrap_or_default().to_owned(), None, anyone()),
        // No list is loaded in this world: every caller past the rights gets 422.
        "GET /api/v1/terminology/{system}" => ("/api/v1/terminology/cim10?q=sein".into(), None, anyone()),
        // Every authenticated caller changes her own password. The row sends a new password that
        // is too short (422, past the rights) so that the world's tokens survive; the change
        // itself is tested in `hardening.rs`.
        "POST /api/v1/me/password" => {
            ("/api/v1/me/password".into(), Some(json!({"current_password": PASSWORD, "new_password": "short"})), anyone())
        }
        "GET /api/v1/audit-events" => ("/api/v1/audit-events".into(), None, only(&[Admin, CoordHere, CoordOther], Expect::Deny)),
        "POST /api/v1/cancer-centers" => {
            ("/api/v1/cancer-centers".into(), Some(json!({"name": "X", "code": format!("X{}", n())})), only(&[Admin], Expect::Deny))
        }
        "POST /api/v1/professionals" => {
            ("/api/v1/professionals".into(), Some(json!({"family_name": "X", "given_name": "Y"})), only(&[Admin], Expect::Deny))
        }
        "GET /api/v1/professionals/{id}" => (format!("/api/v1/professionals/{}", w.user(Requester).id), None, anyone()),
        "PUT /api/v1/professionals/{id}/category" => {
            let id = fresh(app, "physician", &w.here, "secretary").await;
            (
                format!("/api/v1/professionals/{id}/category"),
                Some(json!({"category": "secretary"})),
                only(&[Admin, CoordHere], Expect::Deny),
            )
        }
        "PUT /api/v1/professionals/{id}/profiles/{cancer_center_id}/{kind}"
        | "DELETE /api/v1/professionals/{id}/profiles/{cancer_center_id}/{kind}" => {
            let id = fresh(app, "physician", &w.here, "physician").await;
            (format!("/api/v1/professionals/{id}/profiles/{}/physician", w.here), None, only(&[Admin], Expect::Deny))
        }
        "GET /api/v1/me/reports-to-send" | "GET /api/v1/me/reports-to-send/count" => {
            (op.split(' ').nth(1).unwrap_or_default().to_owned(), None, anyone())
        }
        "GET /api/v1/dossiers" => (
            format!("/api/v1/dossiers?rcp_id={}", w.rcp),
            None,
            anyone(),
        ),
        "GET /api/v1/professionals/{id}/delegation-history" => (
            format!("/api/v1/professionals/{}/delegation-history", w.user(Requester).id),
            None,
            only(&[Admin, CoordHere, Requester], Expect::Deny),
        ),
        "GET /api/v1/professionals/{id}/secretaries" => (
            format!("/api/v1/professionals/{}/secretaries", w.user(Requester).id),
            None,
            only(&[Admin, CoordHere, Requester], Expect::Deny),
        ),
        "PUT /api/v1/professionals/{id}/secretaries/{secretary_id}" | "DELETE /api/v1/professionals/{id}/secretaries/{secretary_id}" => {
            let physician = fresh(app, "physician", &w.here, "physician").await;
            let secretary = fresh(app, "secretary", &w.here, "secretary").await;
            (format!("/api/v1/professionals/{physician}/secretaries/{secretary}"), None, only(&[Admin, CoordHere], Expect::Deny))
        }
        "PUT /api/v1/professionals/{id}/secretary-groups/{group_id}" | "DELETE /api/v1/professionals/{id}/secretary-groups/{group_id}" => {
            let physician = fresh(app, "physician", &w.here, "physician").await;
            (format!("/api/v1/professionals/{physician}/secretary-groups/{}", w.group), None, only(&[Admin, CoordHere], Expect::Deny))
        }
        "POST /api/v1/rcps" => (
            "/api/v1/rcps".into(),
            Some(json!({"cancer_center_id": w.here, "name": "New RCP", "specialty": "x"})),
            only(&[Admin, CoordHere], Expect::Deny),
        ),
        "GET /api/v1/rcps/{id}" | "GET /api/v1/rcps/{id}/sessions" => {
            (op.split(' ').nth(1).unwrap_or_default().replace("{id}", &w.rcp), None, anyone())
        }
        "PUT /api/v1/rcps/{id}/managers/{professional_id}" | "DELETE /api/v1/rcps/{id}/managers/{professional_id}" => {
            let id = fresh(app, "physician", &w.here, "physician").await;
            (format!("/api/v1/rcps/{}/managers/{id}", w.rcp), None, only(&[Admin, CoordHere, Manager], Expect::Deny))
        }
        "PUT /api/v1/rcps/{id}/members/{professional_id}" | "DELETE /api/v1/rcps/{id}/members/{professional_id}" => {
            let id = fresh(app, "physician", &w.here, "physician").await;
            let body = op.starts_with("PUT").then(|| json!({"role": "participant"}));
            (format!("/api/v1/rcps/{}/members/{id}", w.rcp), body, only(&[Admin, CoordHere, Manager], Expect::Deny))
        }
        "POST /api/v1/rcps/{id}/sessions" => {
            let starts_at = (chrono::Utc::now() + chrono::Duration::days(9)).to_rfc3339();
            (
                format!("/api/v1/rcps/{}/sessions", w.rcp),
                Some(json!({"starts_at": starts_at})),
                only(&[Admin, CoordHere, Manager, Animateur], Expect::Deny),
            )
        }
        "GET /api/v1/reports/physician-secretaries" => (
            format!("/api/v1/reports/physician-secretaries?cancer_center_id={}", w.here),
            None,
            only(&[Admin, CoordHere, Manager], Expect::Deny),
        ),
        "POST /api/v1/secretary-groups" => (
            "/api/v1/secretary-groups".into(),
            Some(json!({"cancer_center_id": w.here, "name": format!("G{}", n())})),
            only(&[Admin, CoordHere], Expect::Deny),
        ),
        "GET /api/v1/secretary-groups/{id}" => (format!("/api/v1/secretary-groups/{}", w.group), None, anyone()),
        "PUT /api/v1/secretary-groups/{id}/members/{professional_id}"
        | "DELETE /api/v1/secretary-groups/{id}/members/{professional_id}" => {
            let id = fresh(app, "secretary", &w.here, "secretary").await;
            (format!("/api/v1/secretary-groups/{}/members/{id}", w.group), None, only(&[Admin, CoordHere], Expect::Deny))
        }
        "POST /api/v1/sessions/{id}/start" | "POST /api/v1/sessions/{id}/close" => {
            let session = app.session(&coord, &w.rcp, 8).await;
            if op.ends_with("close") {
                assert_eq!(app.post(&format!("/api/v1/sessions/{session}/start"), &coord.token, json!({})).await.status, 200);
            }
            let path = op.split(' ').nth(1).unwrap_or_default().replace("{id}", &session);
            (path, Some(json!({})), only(&[Admin, CoordHere, Animateur, SecOfAnimateur], Expect::Deny))
        }
        "PUT /api/v1/sessions/{id}/attendance" => {
            let session = app.session(&coord, &w.rcp, 8).await;
            assert_eq!(app.post(&format!("/api/v1/sessions/{session}/start"), &coord.token, json!({})).await.status, 200);
            let body = json!({"present_ids": [w.user(Participant).id]});
            (format!("/api/v1/sessions/{session}/attendance"), Some(body), only(&[Animateur, SecOfAnimateur], Expect::Deny))
        }
        "GET /api/v1/sessions/{id}/attendance" => {
            (format!("/api/v1/sessions/{}/attendance", w.session), None, only(&[Animateur, SecOfAnimateur], Expect::Deny))
        }
        // National settings: the administrator and the coordinators of the center; an RCP's
        // managers keep its members and sessions, not its national identity.
        "PATCH /api/v1/rcps/{id}" => {
            (format!("/api/v1/rcps/{}", w.rcp), Some(json!({"network_id": "RRC-X"})), only(&[Admin, CoordHere], Expect::Deny))
        }
        "PATCH /api/v1/cancer-centers/{id}" => {
            (format!("/api/v1/cancer-centers/{}", w.here), Some(json!({"finess": "750000001"})), only(&[Admin, CoordHere], Expect::Deny))
        }
        "GET /api/v1/rcps/{id}/quorum" => (format!("/api/v1/rcps/{}/quorum", w.rcp), None, anyone()),
        "PUT /api/v1/rcps/{id}/quorum" => (
            format!("/api/v1/rcps/{}/quorum", w.rcp),
            Some(json!({"min_physicians": 3, "min_specialties": 3, "required_specialties": []})),
            only(&[Admin, CoordHere, Manager], Expect::Deny),
        ),
        "PUT /api/v1/professionals/{id}/specialty" => {
            let id = fresh(app, "physician", &w.here, "physician").await;
            (format!("/api/v1/professionals/{id}/specialty"), Some(json!({"specialty": "pathology"})), only(&[Admin, CoordHere], Expect::Deny))
        }
        "GET /api/v1/reports/activity" => {
            (format!("/api/v1/reports/activity?cancer_center_id={}", w.here), None, only(&[Admin, CoordHere], Expect::Deny))
        }
        "GET /api/v1/sessions/{id}/run" => {
            (format!("/api/v1/sessions/{}/run", w.session), None, only(&[Animateur, SecOfAnimateur], Expect::Deny))
        }

        // Patients and documents: identity search and creation for physicians and secretaries;
        // the record and its documents for whoever sees one of its dossiers (and its creator).
        "GET /api/v1/patients" => ("/api/v1/patients?family_name=ga&birth_date=1961-04-12".into(), None, only(CLINICAL, Expect::Deny)),
        "POST /api/v1/patients" => (
            "/api/v1/patients?confirm_new=true".into(),
            Some(json!({"family_name": "Nouveau", "given_name": "N", "birth_date": "1970-01-01", "sex": "male"})),
            only(CLINICAL, Expect::Deny),
        ),
        "GET /api/v1/patients/{id}" | "GET /api/v1/patients/{id}/documents" => {
            (op.split(' ').nth(1).unwrap_or_default().replace("{id}", &w.patient), None, only(SEES_DOSSIER, Expect::Hide))
        }
        "PATCH /api/v1/patients/{id}" => {
            let req: Req = (format!("/api/v1/patients/{}", w.patient), Some(json!({"given_name": "Jeanne"})), only(SEES_DOSSIER, Expect::Hide)).into();
            return Req { if_match: true, ..req };
        }
        "POST /api/v1/patients/{id}/documents" => {
            let req: Req = (format!("/api/v1/patients/{}/documents", w.patient), None, only(SEES_DOSSIER, Expect::Hide)).into();
            return Req { multipart: Some(document_body()), ..req };
        }
        "GET /api/v1/documents/{id}" | "GET /api/v1/documents/{id}/content" => {
            (op.split(' ').nth(1).unwrap_or_default().replace("{id}", &w.document), None, only(SEES_DOSSIER, Expect::Hide))
        }

        // Dossiers: registration by the requester, his secretaries and the animateur; the rest
        // for whoever sees the dossier, medical writing for the requester before the session,
        // validation for the animateur and his secretary.
        "POST /api/v1/sessions/{id}/dossiers" => {
            let patient = app.patient(w.user(Requester), &format!("P{}", n()), None, &[]).await;
            (
                format!("/api/v1/sessions/{}/dossiers", w.session),
                Some(json!({"patient_id": patient, "requester_id": w.user(Requester).id})),
                only(&[Requester, Animateur, SecOfRequester, SecOfRequesterViaGroup], Expect::Deny),
            )
        }
        "GET /api/v1/dossiers/{id}" => (format!("/api/v1/dossiers/{}", w.dossier), None, only(SEES_DOSSIER, Expect::Hide)),
        "PATCH /api/v1/dossiers/{id}" => {
            let rule: Rule = Box::new(|who| match who {
                Requester => Expect::Pass,
                who if SEES_DOSSIER.contains(&who) => Expect::Deny,
                _ => Expect::Hide,
            });
            return Req { path: format!("/api/v1/dossiers/{}", w.dossier), json: Some(json!({"question": "?"})), multipart: None, if_match: true, rule };
        }
        "POST /api/v1/dossiers/{id}/validate" => {
            let rule: Rule = Box::new(|who| match who {
                Animateur | SecOfAnimateur => Expect::Pass,
                who if SEES_DOSSIER.contains(&who) => Expect::Deny,
                _ => Expect::Hide,
            });
            (format!("/api/v1/dossiers/{}/validate", w.dossier), Some(json!({})), rule)
        }
        "GET /api/v1/dossiers/{id}/report" | "GET /api/v1/dossiers/{id}/report/transmissions" => {
            (op.split(' ').nth(1).unwrap_or_default().replace("{id}", &w.validated), None, only(SEES_DOSSIER, Expect::Hide))
        }
        "POST /api/v1/dossiers/{id}/report/transmissions" => (
            format!("/api/v1/dossiers/{}/report/transmissions", w.validated),
            Some(json!({"recipient_ids": [w.user(Requester).id], "channel": "mail"})),
            only(SEES_DOSSIER, Expect::Hide),
        ),
        "GET /api/v1/me/dossiers" => ("/api/v1/me/dossiers?tab=rcp_passages".into(), None, only(CLINICAL, Expect::Deny)),
        other => panic!("the authorization matrix has no row for `{other}`: state who may call it in tests/http/matrix.rs"),
    }
    .into()
}

/// Physicians and secretaries: whoever holds a clinical profile.
const CLINICAL: &[Who] = &[
    Who::Manager,
    Who::Requester,
    Who::Participant,
    Who::Animateur,
    Who::Unrelated,
    Who::SecOfRequester,
    Who::SecOfRequesterViaGroup,
    Who::SecOfAnimateur,
    Who::SecOnOtherCenter,
];

/// Who sees the requester's dossier: the RCP's members (agenda), the requester (tab), his
/// secretaries on the RCP's center, and the animateur's secretary. Not the manager, who is no
/// member; not the secretary whose profile is on another center; no administrator.
const SEES_DOSSIER: &[Who] =
    &[Who::Requester, Who::Participant, Who::Animateur, Who::SecOfRequester, Who::SecOfRequesterViaGroup, Who::SecOfAnimateur];

/// Operations that answer without a token (the Pro Santé Connect login's: `tests/http/oidc.rs`).
const PUBLIC: [&str; 7] = [
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/refresh",
    "POST /api/v1/auth/logout",
    "GET /api/v1/auth/oidc/start",
    "GET /api/v1/auth/oidc/callback",
    "GET /healthz",
    "GET /readyz",
];

fn outcome(status: u16) -> Expect {
    match status {
        401 => Expect::Unauth,
        403 => Expect::Deny,
        404 => Expect::Hide,
        _ => Expect::Pass,
    }
}

#[actix_rt::test]
async fn every_operation_answers_every_caller_as_the_rules_say() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let doc = serde_json::to_value(concerto_api::openapi::document().unwrap()).unwrap();
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let mut failures = Vec::new();
    let (mut calls, mut audited) = (0, 0);
    for op in &operations {
        if PUBLIC.contains(&op.as_str()) {
            continue;
        }
        let method = op.split(' ').next().unwrap_or_default();
        for who in EVERYONE {
            let req = request(&app, &w, op).await;
            let expected = match who {
                Who::Anonymous | Who::Disabled => Expect::Unauth,
                other => (req.rule)(other),
            };
            let token = (who != Who::Anonymous).then(|| w.user(who).token.clone());
            let multipart_type = format!("multipart/form-data; boundary={BOUNDARY}");
            let mut headers: Vec<(&str, &str)> = Vec::new();
            if req.if_match {
                headers.push(("if-match", "\"1\""));
            }
            // A request with a body gives the caller's connection back while the body comes.
            let most_checkouts = if req.multipart.is_some() || req.json.is_some() { 2 } else { 1 };
            let body = body_of(req.multipart, req.json, &multipart_type, &mut headers);
            let before = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let checkouts = app.checkouts.get();
            let r = app.raw(method, &req.path, token.as_deref(), &headers, body).await;
            calls += 1;
            let got = outcome(r.status);
            if got != expected {
                failures.push(format!("{op} as {who:?}: expected {expected:?}, got {} {}", r.status, r.text));
            }
            // The caller's rights and the handler's work share one connection; a request with a
            // body gives it back while the body streams in, and takes another for its work.
            let checked_out = app.checkouts.get() - checkouts;
            if checked_out > most_checkouts {
                failures.push(format!("{op} as {who:?}: {checked_out} pool checkouts, at most {most_checkouts} expected"));
            }
            if is_patient_data(op) && !matches!(who, Who::Anonymous | Who::Disabled) {
                audited += 1;
                if let Err(e) = check_audit(&app, &w, op, &req.path, who, r.status, &before).await {
                    failures.push(format!("{op} as {who:?}: {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {calls} calls disagree with the matrix:\n{}", failures.len(), failures.join("\n"));
    let rows = operations.len() - PUBLIC.len();
    assert_eq!(calls, rows * EVERYONE.len());
    eprintln!("authorization matrix: {rows} operations x {} callers = {calls} calls, {audited} of them audited", EVERYONE.len());
}

/// Operations that read or write patient data: each call leaves exactly one audit event.
fn is_patient_data(op: &str) -> bool {
    let path = op.split(' ').nth(1).unwrap_or_default();
    ["/api/v1/patients", "/api/v1/documents", "/api/v1/dossiers", "/api/v1/agenda", "/api/v1/me/dossiers"]
        .iter()
        .any(|p| path.starts_with(p))
        || path.ends_with("/dossiers")
        || path.ends_with("/run")
        || path == "/api/v1/me/reports-to-send"
}

/// Exactly one event for the call, allowed when it succeeded; a secretary's access to the
/// world's patient or dossiers names the physician whose rights she used.
async fn check_audit(app: &TestApp, w: &World, op: &str, path: &str, who: Who, status: u16, since: &str) -> Result<(), String> {
    let admin = app.admin().await;
    let caller = &w.user(who).id;
    let r = app.get(&format!("/api/v1/audit-events?actor_id={caller}&from={since}"), &admin.token).await;
    let events = r.body["items"].as_array().cloned().unwrap_or_default();
    let [event] = events.as_slice() else {
        return Err(format!("expected one audit event, found {}: {}", events.len(), r.text));
    };
    let outcome = if status < 400 { "allowed" } else { "denied" };
    if event["outcome"] != outcome {
        return Err(format!("audit outcome {} for status {status}", event["outcome"]));
    }
    let on_world = [&w.patient, &w.dossier, &w.document, &w.validated].iter().any(|id| path.contains(id.as_str()));
    let physician = match who {
        Who::SecOfRequester | Who::SecOfRequesterViaGroup => Some(&w.user(Who::Requester).id),
        Who::SecOfAnimateur => Some(&w.user(Who::Animateur).id),
        _ => None,
    };
    if let (true, "allowed", Some(physician)) = (on_world, outcome, physician)
        && event["on_behalf_of"] != serde_json::json!([physician])
    {
        return Err(format!("{op}: on_behalf_of {} instead of [{physician}]", event["on_behalf_of"]));
    }
    if physician.is_none() && outcome == "allowed" && event["on_behalf_of"] != serde_json::json!([]) {
        return Err(format!("{op}: a caller acting as herself has on_behalf_of {}", event["on_behalf_of"]));
    }
    Ok(())
}

/// Every write honours `If-Match` when it is sent (API.md): an ETag the resource does not have
/// answers 412 `precondition_failed`, as a caller who may write it and with a body that would
/// pass; `*` is no obstacle where the resource has no ETag of its own. Patients and dossiers
/// compare it with their version (their own tests cover them).
#[actix_rt::test]
async fn every_write_answers_a_foreign_if_match_with_412() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let doc = serde_json::to_value(concerto_api::openapi::document().unwrap()).unwrap();
    let mut failures = Vec::new();
    let mut writes = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let op = format!("{} {path}", method.to_uppercase());
            let method = method.to_uppercase();
            if method == "GET" || PUBLIC.contains(&op.as_str()) {
                continue;
            }
            writes += 1;
            let versioned = !concerto_api::precondition::judged_here(&method, path);
            let documented = doc["paths"][path][method.to_lowercase()]["responses"]["412"].is_object();
            if !documented {
                failures.push(format!("{op}: no 412 documented"));
            }
            for if_match in ["\"not-one-of-ours\"", "*"] {
                if versioned && if_match == "*" {
                    continue;
                }
                let req = request(&app, &w, &op).await;
                let Some(who) = EVERYONE[2..].iter().copied().find(|who| (req.rule)(*who) == Expect::Pass) else {
                    failures.push(format!("{op}: nobody passes its row"));
                    continue;
                };
                let multipart_type = format!("multipart/form-data; boundary={BOUNDARY}");
                let mut headers: Vec<(&str, &str)> = vec![("if-match", if_match)];
                let body = body_of(req.multipart, req.json, &multipart_type, &mut headers);
                let r = app.raw(&method, &req.path, Some(&w.user(who).token), &headers, body).await;
                // The password row sends a password too short to keep the world's tokens: its
                // body is judged first (422), before If-Match.
                let expected_foreign = if op == "POST /api/v1/me/password" { 422 } else { 412 };
                match if_match {
                    "*" if r.status == 412 || outcome(r.status) != Expect::Pass => {
                        failures.push(format!("{op} as {who:?} with If-Match *: {} {}", r.status, r.text))
                    }
                    "*" => {}
                    _ if r.status != expected_foreign => {
                        failures.push(format!("{op} as {who:?} with a foreign If-Match: {} {}", r.status, r.text))
                    }
                    _ if r.status == 412 && r.body["code"] != "precondition_failed" => failures.push(format!("{op}: {}", r.text)),
                    _ => {}
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} writes disagree:\n{}", failures.len(), failures.join("\n"));
    assert!(writes > 30, "{writes} writes");
}
