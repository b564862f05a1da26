//! The FRCP 2025.01 CDA document of a validated dossier (`GET /dossiers/{id}/report` with an XML
//! `Accept`): the volet's templateIds, codes and roles (`shared/FRCP.md`) on fiches covering
//! every section, hostile text escaped, 406 and 409, the JSON report's delegation rules, one
//! audit event per read. With `CONCERTO_CDA_OUT=<dir>` each document is also written there, for
//! `make cda-check` to validate against the CDA R2 schema with xmllint.

use concerto_persistence::PageRequest;
use concerto_persistence::audit::{self, AuditFilter};
use serde_json::{Value, json};

use crate::support::{Board, Resp, TestApp, User, assert_problem};

/// A family name and a summary no XML writer may copy as they are.
const HOSTILE_FAMILY: &str = "O'Hara <b>&amp; \"Fils\"";
const HOSTILE_SUMMARY: &str = "T < 5 cm & N > 0 </paragraph><injected/> \"quoted\" 'single'";

fn path(dossier: &str) -> String {
    format!("/api/v1/dossiers/{dossier}")
}

/// `GET /dossiers/{id}/report` with `accept`.
async fn report(app: &TestApp, user: &User, dossier: &str, accept: &str) -> Resp {
    app.raw("GET", &format!("{}/report", path(dossier)), Some(&user.token), &[("accept", accept)], Vec::new()).await
}

/// Writes `xml` under `CONCERTO_CDA_OUT`, when set, as `<name>-<store>.xml`.
fn keep(name: &str, xml: &str) {
    if let Ok(dir) = std::env::var("CONCERTO_CDA_OUT") {
        let store = if crate::support::on_postgres() { "postgres" } else { "sqlite" };
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}-{store}.xml")), xml).unwrap();
    }
}

/// The report-read events of `actor`, of `action`.
async fn events(app: &TestApp, actor: &User, action: &str) -> Vec<audit::AuditEvent> {
    let pool = app.pool.clone();
    let filter = AuditFilter { actor_id: Some(actor.id.clone()), ..AuditFilter::default() };
    let all = actix_web::web::block(move || audit::list(&mut pool.get().unwrap(), &filter, None, &PageRequest::first(200)))
        .await
        .unwrap()
        .unwrap();
    all.items.into_iter().filter(|e| e.action == action).collect()
}

/// What a validated dossier's world holds, for the assertions.
struct Validated {
    b: Board,
    dossier: String,
    patient: String,
    treating: User,
    correspondent: User,
    guest: User,
    quorum: Vec<User>,
}

/// A board whose RCP and center carry their national identifiers, a patient with an INS, a
/// treating physician and a correspondent, registered by the participant's secretary for him,
/// discussed with `fiche` before the quorum and a guest physician, validated by the chair; the
/// guest then leaves the physicians (he is present but no longer counts).
async fn validated(fiche: Value, family: &str, summary: &str) -> Validated {
    let b = Board::new().await;
    let app = &b.app;
    let admin = app.admin().await;
    let fiche = {
        app.complete_fiche().await;
        fiche
    };
    let r = app
        .patch(
            &format!("/api/v1/rcps/{}", b.rcp),
            &b.coord.token,
            json!({"nature": "ORG-117", "organ": "DIG-COLON", "network_id": "RRC-NORD", "manager_id": "810000001", "national_id": "RCP-42"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.patch(&format!("/api/v1/cancer-centers/{}", b.center), &admin.token, json!({"finess": "590000001"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let treating = app.physician("Traitant", &b.center).await;
    let correspondent = app.physician("Correspondant", &b.center).await;
    let body = json!({
        "family_name": family, "given_name": "Jeanne", "birth_date": "1961-04-12", "sex": "female",
        "birth_place_code": "75056", "ins": "261047512345619",
        "treating_physician_id": treating.id, "correspondent_ids": [correspondent.id],
    });
    let r = app.post("/api/v1/patients?confirm_new=true", &b.member.token, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let patient = r.id();
    let session = app.session(&b.coord, &b.rcp, 2).await;
    let r = app
        .post(
            &format!("/api/v1/sessions/{session}/dossiers"),
            &b.secretary.token,
            json!({"patient_id": patient, "requester_id": b.member.id}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let dossier = r.id();
    assert_eq!(app.post(&format!("/api/v1/sessions/{session}/start"), &b.chair.token, json!({})).await.status, 200);
    let quorum = app.quorum_present(&b.center, &session, &b.chair).await;
    let guest = app.physician("Invite", &b.center).await;
    let mut present: Vec<String> = quorum.iter().map(|u| u.id.clone()).collect();
    present.push(guest.id.clone());
    let r = app.put(&format!("/api/v1/sessions/{session}/attendance"), &b.chair.token, Some(json!({"present_ids": present}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let etag = app.get(&path(&dossier), &b.member.token).await.header("etag").unwrap();
    let body =
        json!({"clinical_summary": summary, "question": "Chirurgie d'emblée ?", "proposal": "Colectomie puis FOLFOX", "fiche": fiche});
    let r = app.with_if_match("PATCH", &path(&dossier), &b.member.token, &etag, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = app.post(&format!("{}/validate", path(&dossier)), &b.chair.token, json!({})).await;
    assert_eq!(v.status, 200, "{}", v.text);
    let r = app.put(&format!("/api/v1/professionals/{}/category", guest.id), &admin.token, Some(json!({"category": "nurse"}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    Validated { b, dossier, patient, treating, correspondent, guest, quorum }
}

/// The number of times `needle` occurs in `xml`.
fn count(xml: &str, needle: &str) -> usize {
    xml.matches(needle).count()
}

/// The `<participant typeCode="…">` element naming `id` (Concerto's id, none having an RPPS
/// here): its text from the opening tag to the id.
fn participant_of<'a>(xml: &'a str, id: &str) -> Vec<&'a str> {
    xml.split("<participant ").skip(1).filter(|p| p.split("</participant>").next().unwrap_or_default().contains(id)).collect()
}

#[actix_rt::test]
async fn a_validated_fiche_is_the_frcp_cda_document_with_the_volets_codes_and_roles() {
    let w = validated(crate::support::complete_fiche(), HOSTILE_FAMILY, HOSTILE_SUMMARY).await;
    let app = &w.b.app;
    let r = report(app, &w.b.member, &w.dossier, "application/hl7-cda+xml").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type").as_deref(), Some("application/hl7-cda+xml"));
    let xml = r.text.clone();
    keep("complete", &xml);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"), "{xml}");

    // Header: templateIds, the document's code, a stable set and its version.
    for needle in [
        r#"<templateId root="2.16.840.1.113883.2.8.2.1"/>"#,
        r#"<templateId root="1.2.250.1.213.1.1.1.1"/>"#,
        r#"<templateId root="1.2.250.1.213.1.1.1.8" extension="2025.01"/>"#,
        r#"<code code="34794-8" codeSystem="2.16.840.1.113883.6.1""#,
        r#"<versionNumber value="1"/>"#,
        "<title>RRC-NORD / 3C Nord / RCP digestive</title>",
        // The patient: INS, birth name, birthplace.
        r#"<id root="1.2.250.1.213.1.4.8" extension="261047512345619"/>"#,
        r#"<family qualifier="BR">"#,
        "<county>75056</county>",
        r#"<administrativeGenderCode code="F""#,
        // The registration, the act, the tumour site, the meeting's identifiers.
        "<order>",
        r#"<code code="39" codeSystem="1.2.250.1.213.3.3.13""#,
        r#"<code code="C18.7" codeSystem="2.16.840.1.113883.6.3""#,
        r#"<id root="1.2.250.1.161.1.20.1.1" extension="RRC-NORD"/>"#,
        r#"<id root="1.2.250.1.161.1.20.2.1" extension="810000001"/>"#,
        r#"<id root="1.2.250.1.161.1.20.3.1" extension="RCP-42"/>"#,
        r#"<code code="VR" codeSystem="2.16.840.1.113883.5.4""#,
        r#"<id root="1.2.250.1.71.4.2.2" extension="1590000001"/>"#,
        r#"<signatureCode code="S"/>"#,
    ] {
        assert!(xml.contains(needle), "{needle} missing: {xml}");
    }
    assert!(xml.contains(&format!("<order>\n      <id root=\"{}\"/>", w.dossier)), "{xml}");
    let set_id = xml.split("<setId root=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    assert!(set_id.starts_with("2.25."), "{set_id}");
    assert!(xml.contains(&format!(r#"<id root="{set_id}" extension="1"/>"#)), "{xml}");

    // Roles: the animateur, the requester, the quorum's physicians, the guest who no longer
    // counts, the treating physician, the correspondent; the secretary entered it, the chair
    // authenticated it.
    let role = |id: &str| participant_of(&xml, id).iter().map(|p| p.split('>').next().unwrap_or_default().to_owned()).collect::<Vec<_>>();
    assert_eq!(role(&w.b.chair.id), vec![r#"typeCode="RESP""#], "{xml}");
    assert_eq!(role(&w.b.member.id), vec![r#"typeCode="REFB""#], "{xml}");
    for q in &w.quorum {
        let p = participant_of(&xml, &q.id);
        assert_eq!(p.len(), 1, "{xml}");
        assert!(
            p[0].starts_with(r#"typeCode="PRF""#) && p[0].contains(r#"<functionCode code="353" codeSystem="1.2.250.1.213.1.6.1.107""#),
            "{}",
            p[0]
        );
    }
    let guest = participant_of(&xml, &w.guest.id);
    assert!(guest.len() == 1 && guest[0].contains(r#"<functionCode code="CORRE" codeSystem="1.2.250.1.213.1.1.4.2.280""#), "{xml}");
    let treating = participant_of(&xml, &w.treating.id);
    assert!(treating.len() == 1 && treating[0].starts_with(r#"typeCode="INF""#) && treating[0].contains(r#"code="PCP""#), "{xml}");
    let correspondent = participant_of(&xml, &w.correspondent.id);
    assert!(correspondent.len() == 1 && correspondent[0].starts_with(r#"typeCode="CON""#), "{xml}");
    let entered = xml.split("<dataEnterer>").nth(1).and_then(|s| s.split("</dataEnterer>").next()).unwrap_or_default();
    assert!(entered.contains(&w.b.secretary.id), "{xml}");
    let authenticated = xml.split("<legalAuthenticator>").nth(1).and_then(|s| s.split("</legalAuthenticator>").next()).unwrap_or_default();
    assert!(authenticated.contains(&w.b.chair.id), "{xml}");

    // The nine required sections, in the volet's templateIds and LOINC codes.
    for (template, loinc) in [
        ("1.2.250.1.213.1.1.2.128", "42349-1"),
        ("1.2.250.1.213.1.1.2.163", "42545-4"),
        ("1.2.250.1.213.1.1.2.27", "72135-7"),
        ("1.2.250.1.213.1.1.2.25", "18733-6"),
        ("1.3.6.1.4.1.19376.1.5.3.1.3.4", "10164-2"),
        ("1.2.250.1.213.1.1.2.33", "21874-3"),
        ("1.2.250.1.213.1.1.2.158", "18776-5"),
        ("1.2.250.1.213.1.1.2.175", "35510-7"),
        ("1.2.250.1.213.1.1.2.35", "33557-0"),
    ] {
        let section = xml.split("<section>").find(|s| s.contains(&format!(r#"<templateId root="{template}"/>"#))).unwrap_or_default();
        assert!(section.contains(&format!(r#"<code code="{loinc}""#)), "section {template} without {loinc}: {xml}");
    }
    assert_eq!(count(&xml, "<section>"), 10, "nine required sections and the functional status: {xml}");
    // Their entries, coded as the volet says (the complete fiche's values).
    for needle in [
        r#"<code code="GEN-098""#,
        r#"<value xsi:type="CD" code="ORG-117""#,
        r#"<value xsi:type="CD" code="DIG-COLON" codeSystem="1.2.250.1.213.1.1.5.598""#,
        r#"<code code="ORG-114" codeSystem="1.2.250.1.213.1.1.4.322" displayName="Proposition de traitement"/>"#,
        r#"<value xsi:type="CD" code="ORG-134""#,
        r#"<code code="63921-1""#,
        r#"<code code="282291009" codeSystem="2.16.840.1.113883.6.96""#,
        r#"<value xsi:type="CD" code="8140/3" codeSystem="2.16.840.1.113883.6.43.1""#,
        r#"<targetSiteCode code="C18.7" codeSystem="2.16.840.1.113883.6.3""#,
        r#"<low value="202609"/>"#,
        r#"<code code="75620-5""#,
        r#"<code code="21905-5""#,
        r#"<value xsi:type="CD" code="cT3""#,
        r#"<name code="21917-0""#,
        r#"<code code="21918-8""#,
        r#"<value xsi:type="CD" code="MED-264""#,
        r#"<value xsi:type="CD" code="MED-268""#,
        r#"<code code="MED-247""#,
        r#"<code code="GEN-099""#,
        r#"<value xsi:type="CD" code="ORG-126""#,
        r#"<code code="387713003" codeSystem="2.16.840.1.113883.6.96""#,
        r#"<code code="C15632" codeSystem="2.16.840.1.113883.3.26.1.1""#,
        "<originalText>2</originalText>",
        r#"<code code="ORG-120""#,
        r#"<code code="ORG-064""#,
        r#"<low value="20270301"/>"#,
        r#"<code code="48767-8""#,
        r#"<code code="MED-249""#,
        "<originalText>TNCD — cancer du côlon 2025</originalText>",
        r#"<effectiveTime value="20250601"/>"#,
        r#"<code code="MED-250""#,
        "PRODIGE 99",
        r#"<code code="GEN-065""#,
    ] {
        assert!(xml.contains(needle), "{needle} missing: {xml}");
    }
    assert_eq!(count(&xml, r#"<procedure classCode="PROC" moodCode="INT">"#), 2, "{xml}");

    // Hostile text is escaped by the writer, never copied as markup.
    assert!(xml.contains("O&apos;Hara &lt;b&gt;&amp;amp; &quot;Fils&quot;"), "{xml}");
    assert!(xml.contains("T &lt; 5 cm &amp; N &gt; 0 &lt;/paragraph&gt;&lt;injected/&gt; &quot;quoted&quot; &apos;single&apos;"), "{xml}");
    assert!(!xml.contains("<injected/>") && !xml.contains("<b>"), "{xml}");

    // `application/xml` answers the same document as such; the JSON stays the default.
    let r = report(app, &w.b.member, &w.dossier, "application/xml").await;
    assert_eq!((r.status, r.header("content-type")), (200, Some("application/xml".to_owned())));
    assert_eq!(r.text, xml, "the document is stable from one read to the next");
    for accept in ["application/json", "*/*"] {
        let r = report(app, &w.b.member, &w.dossier, accept).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("content-type").as_deref(), Some("application/json"), "{accept}");
        assert_eq!(r.body["dossier_id"], json!(w.dossier));
    }
    assert_eq!(app.get(&format!("{}/report", path(&w.dossier)), &w.b.member.token).await.body["dossier_id"], json!(w.dossier));
    // One audit event per read, the format told by the action.
    let reads = events(app, &w.b.member, "report.read_cda").await;
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert!(reads.iter().all(|e| e.outcome.as_str() == "allowed" && e.patient_id.as_deref() == Some(w.patient.as_str())), "{reads:?}");
    assert_eq!(events(app, &w.b.member, "report.read").await.len(), 3);
}

#[actix_rt::test]
async fn a_minimal_fiche_still_has_the_nine_sections_with_null_flavours_where_nothing_is_known() {
    // A registered case without the quorum's facts beyond the required: no TNM, no case, no
    // framework but its guideline, surveillance only; no treating physician.
    let fiche = json!({
        "referral": {"reasons": ["diagnostic_opinion", "paediatrics"], "case_status": "registered"},
        "diagnosis": {"tumour_site": "C18.7", "date_precision": "unknown"},
        "proposal": {"treatments": [{"code": "MED-226", "order": 1}], "referral_rcp_requested": true},
        "framework": {"guideline": {"name": "Référentiel <régional> & \"local\""}, "conform": false, "nonconformity_reason": "Âge > 90 & comorbidités"}
    });
    let w = validated(fiche, "Martin", "Bilan d'extension négatif").await;
    let app = &w.b.app;
    let xml = report(app, &w.b.member, &w.dossier, "application/hl7-cda+xml").await.text;
    keep("minimal", &xml);
    assert_eq!(count(&xml, "<section>"), 9, "{xml}");
    for needle in [
        r#"<value xsi:type="CD" code="ORG-128""#,
        r#"<code code="MED-226" codeSystem="1.2.250.1.213.1.1.4.322""#,
        r#"<low nullFlavor="UNK"/>"#,
        r#"<value xsi:type="CD" nullFlavor="UNK"/>"#,
        r#"<value xsi:type="BL" nullFlavor="UNK"/>"#,
        r#"<value xsi:type="BL" value="false"/>"#,
        "Passage en RCP de recours demandé",
        "<originalText>Référentiel &lt;régional&gt; &amp; &quot;local&quot;</originalText>",
        "Proposition non conforme au référentiel : Âge &gt; 90 &amp; comorbidités",
    ] {
        assert!(xml.contains(needle), "{needle} missing: {xml}");
    }
}

#[actix_rt::test]
async fn before_validation_the_document_is_409_the_json_404_and_an_unserved_type_406() {
    let b = Board::new().await;
    let app = &b.app;
    let session = app.session(&b.coord, &b.rcp, 2).await;
    let patient = app.patient(&b.member, "Avant", None, &[]).await;
    let d = app.dossier(&b.member, &session, &patient, &b.member).await;
    assert_problem(&report(app, &b.member, &d, "application/xml").await, 409, "not_validated");
    assert_problem(&report(app, &b.member, &d, "application/hl7-cda+xml").await, 409, "not_validated");
    assert_problem(&report(app, &b.member, &d, "application/json").await, 404, "not_found");
    for accept in ["text/csv", "text/html", "application/xml;q=0", "application/pdf, image/*"] {
        assert_problem(&report(app, &b.member, &d, accept).await, 406, "not_acceptable");
    }
    // Someone who may not see the dossier learns nothing more from the XML form.
    let outsider = app.physician("Dehors", &b.center).await;
    assert_problem(&report(app, &outsider, &d, "application/xml").await, 404, "not_found");
    // The 409 is a refused read of patient data: audited.
    let reads = events(app, &b.member, "report.read_cda").await;
    assert_eq!(reads.iter().map(|e| e.outcome.as_str()).collect::<Vec<_>>(), vec!["denied", "denied"]);
}

#[actix_rt::test]
async fn a_secretary_reads_the_document_exactly_when_she_reads_the_json_report() {
    let w = validated(crate::support::complete_fiche(), "Durand", "Résumé").await;
    let app = &w.b.app;
    // Her physician requested it: she reads both forms, on his behalf.
    let other_secretary = app.secretary("Autre", &w.b.center).await;
    let chair_secretary = app.secretary("DuChair", &w.b.center).await;
    app.affiliate(&w.b.coord, &w.b.chair, &chair_secretary).await;
    let outsider = app.physician("Dehors", &w.b.center).await;
    for (who, status) in
        [(&w.b.secretary, 200), (&chair_secretary, 200), (&other_secretary, 404), (&w.b.coord, 404), (&outsider, 404), (&w.treating, 200)]
    {
        let json = report(app, who, &w.dossier, "application/json").await;
        let xml = report(app, who, &w.dossier, "application/xml").await;
        assert_eq!((json.status, xml.status), (status, status), "{}: {} / {}", who.username, json.text, xml.text);
    }
    let reads = events(app, &w.b.secretary, "report.read_cda").await;
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0].on_behalf_of, vec![w.b.member.id.clone()], "{reads:?}");
    let refused = events(app, &other_secretary, "report.read_cda").await;
    assert_eq!(refused.iter().map(|e| e.outcome.as_str()).collect::<Vec<_>>(), vec!["denied"]);
}
