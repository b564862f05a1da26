//! Concerto's records as FHIR R4 resources (JSON built with `serde_json`): pure mapping, no
//! database, no rule. The identifier systems are those of `../shared/FRCP.md` and of the French
//! FHIR profiles.

use chrono::NaiveDateTime;
use concerto_domain::dossier::DossierStatus;
use concerto_domain::patient::Sex;
use concerto_domain::professional::Professional;
use concerto_domain::profile::{Profile, ProfileKind};
use concerto_domain::rcp::{MemberRole, SessionStatus};
use concerto_persistence::audit::{AuditEvent, Outcome};
use concerto_persistence::dossiers::{Dossier, Report};
use concerto_persistence::patients::{Patient, PatientIdentity};
use concerto_persistence::rcps::{Rcp, RcpDetail};
use concerto_persistence::sessions::Session;
use serde_json::{Value, json};

/// INS (NIR) of a patient.
pub const INS_SYSTEM: &str = "urn:oid:1.2.250.1.213.1.4.8";
/// RPPS number, the 11 digits.
pub const RPPS_SYSTEM: &str = "https://rpps.esante.gouv.fr";
/// IDNPS: `8` followed by the RPPS number.
pub const IDNPS_SYSTEM: &str = "urn:oid:1.2.250.1.71.4.2.1";
/// NCI Thesaurus, for the tumour-board review C93304.
pub const NCIT_SYSTEM: &str = "http://ncithesaurus-stage.nci.nih.gov";
/// The FRCP document's LOINC code.
pub const FRCP_LOINC: &str = "34794-8";
/// The FRCP format code in the DMP (document sharing).
pub const FRCP_FORMAT_CODE: &str = "urn:asip:ci-sis:frcp:2011";
/// The code system of the ASIP/ANS format codes.
pub const FORMAT_CODE_SYSTEM: &str = "urn:oid:1.2.250.1.213.1.1.4.2.282";
/// The media type of the CDA document served by `GET /api/v1/dossiers/{id}/report`.
pub const CDA_MEDIA_TYPE: &str = "application/hl7-cda+xml";
/// Concerto's own codes: audit actions, profile kinds, RCP roles, problem codes.
pub const CONCERTO_SYSTEM: &str = "urn:concerto";

/// An instant as FHIR writes it (UTC, seconds at least).
pub fn instant(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A reference to `Type/id`.
pub fn reference(resource_type: &str, id: &str) -> Value {
    json!({ "reference": format!("{resource_type}/{id}") })
}

fn gender(sex: Sex) -> &'static str {
    match sex {
        Sex::Female => "female",
        Sex::Male => "male",
        Sex::Other => "other",
        Sex::Unknown => "unknown",
    }
}

/// A `HumanName`: FHIR strings are never empty, so an empty part is left out.
fn human_name(family: &str, given: &str) -> Value {
    let mut name = json!({ "use": "official" });
    if !family.trim().is_empty() {
        name["family"] = Value::String(family.to_owned());
    }
    if !given.trim().is_empty() {
        name["given"] = json!([given]);
    }
    name
}

/// A patient's identity traits (what the identity search answers).
pub fn patient_identity(p: &PatientIdentity) -> Value {
    let mut r = json!({
        "resourceType": "Patient",
        "id": p.id,
        "name": [human_name(&p.family_name, &p.given_name)],
        "gender": gender(p.sex),
        "birthDate": p.birth_date.format("%Y-%m-%d").to_string(),
    });
    if let Some(ins) = &p.ins {
        r["identifier"] = json!([{ "use": "official", "system": INS_SYSTEM, "value": ins }]);
    }
    r
}

/// A patient's record: identity and treating physician (R4's `Patient` has no place for the
/// correspondent physicians: `contact` is for persons and organizations, not practitioners).
pub fn patient(p: &Patient) -> Value {
    let mut r = patient_identity(&p.identity);
    r["meta"] = json!({ "versionId": p.version.to_string() });
    if let Some(treating) = &p.treating_physician_id {
        r["generalPractitioner"] = json!([reference("Practitioner", treating)]);
    }
    r
}

/// A professional of the directory, with RPPS and IDNPS when he has an RPPS number.
pub fn practitioner(p: &Professional) -> Value {
    let mut r = json!({
        "resourceType": "Practitioner",
        "id": p.id,
        "active": true,
        "name": [human_name(&p.family_name, &p.given_name)],
    });
    if let Some(rpps) = &p.rpps {
        r["identifier"] = json!([
            {
                "use": "official",
                "type": { "coding": [{ "system": "http://interopsante.org/fhir/CodeSystem/fr-v2-0203", "code": "IDNPS" }] },
                "system": IDNPS_SYSTEM,
                "value": format!("8{rpps}")
            },
            {
                "type": { "coding": [{ "system": "http://interopsante.org/fhir/CodeSystem/fr-v2-0203", "code": "RPPS" }] },
                "system": RPPS_SYSTEM,
                "value": rpps
            }
        ]);
    }
    if let Some(email) = &p.email {
        r["telecom"] = json!([{ "system": "email", "value": email }]);
    }
    r
}

/// The id of a profile as a `PractitionerRole`: the professional's and the center's UUIDs in
/// base 32 (26 characters each) and the kind's letter, within FHIR's 64 characters.
pub fn practitioner_role_id(professional_id: &str, profile: &Profile) -> Option<String> {
    let kind = match profile.kind {
        ProfileKind::Physician => 'p',
        ProfileKind::Secretary => 's',
        ProfileKind::CenterCoordinator => 'c',
    };
    Some(format!("{}{}-{kind}", base32(professional_id)?, base32(&profile.cancer_center_id)?))
}

/// The professional id, center id and kind a `PractitionerRole` id names; `None` for an id
/// this server did not make.
pub fn parse_practitioner_role_id(id: &str) -> Option<(String, String, ProfileKind)> {
    let (ids, kind) = id.split_once('-')?;
    let kind = match kind {
        "p" => ProfileKind::Physician,
        "s" => ProfileKind::Secretary,
        "c" => ProfileKind::CenterCoordinator,
        _ => return None,
    };
    if ids.len() != 52 || !ids.is_ascii() {
        return None;
    }
    let (professional, center) = ids.split_at(26);
    Some((unbase32(professional)?, unbase32(center)?, kind))
}

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

fn base32(uuid: &str) -> Option<String> {
    let mut n = uuid::Uuid::parse_str(uuid).ok()?.as_u128();
    let mut out = [b'0'; 26];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n & 31) as usize];
        n >>= 5;
    }
    String::from_utf8(out.to_vec()).ok()
}

fn unbase32(s: &str) -> Option<String> {
    let mut n: u128 = 0;
    for (i, c) in s.bytes().enumerate() {
        let digit = ALPHABET.iter().position(|a| *a == c)? as u128;
        // 26 digits of 5 bits hold 130: the first may carry only 3.
        if i == 0 && digit > 7 {
            return None;
        }
        n = (n << 5) | digit;
    }
    Some(uuid::Uuid::from_u128(n).hyphenated().to_string())
}

/// A profile of a professional on a cancer center.
pub fn practitioner_role(professional_id: &str, profile: &Profile) -> Value {
    let mut r = json!({
        "resourceType": "PractitionerRole",
        "active": true,
        "practitioner": reference("Practitioner", professional_id),
        "organization": { "identifier": { "system": format!("{CONCERTO_SYSTEM}:cancer-center"), "value": profile.cancer_center_id } },
        "code": [{ "coding": [{ "system": format!("{CONCERTO_SYSTEM}:profile-kind"), "code": profile.kind.as_str() }] }],
    });
    if let Some(id) = practitioner_role_id(professional_id, profile) {
        r["id"] = Value::String(id);
    }
    r
}

fn national_identifiers(rcp: &Rcp) -> Vec<Value> {
    let n = &rcp.national;
    [("urn:oid:1.2.250.1.161.1.20.3.1", &n.national_id), ("urn:oid:1.2.250.1.161.1.20.2.1", &n.manager_id)]
        .into_iter()
        .filter_map(|(system, value)| value.as_ref().map(|v| json!({ "system": system, "value": v })))
        .collect()
}

/// An RCP (tumour board) with its members (animateurs and participants) and managers.
pub fn care_team(d: &RcpDetail) -> Value {
    let participants: Vec<Value> = d
        .members
        .iter()
        .map(|m| {
            let (code, display) = match m.role {
                Some(MemberRole::Animateur) => ("animateur", "Animateur (chair) of the board"),
                _ => ("participant", "Participant of the board"),
            };
            (code, display, m)
        })
        .chain(d.managers.iter().map(|m| ("manager", "Manager of the RCP", m)))
        .map(|(code, display, m)| {
            json!({
                "role": [{ "coding": [{ "system": format!("{CONCERTO_SYSTEM}:rcp-role"), "code": code, "display": display }] }],
                "member": { "reference": format!("Practitioner/{}", m.professional_id), "display": m.display_name }
            })
        })
        .collect();
    let mut r = json!({
        "resourceType": "CareTeam",
        "id": d.rcp.id,
        "status": "active",
        "name": d.rcp.name,
        "category": [{ "text": format!("Tumour board (RCP), {}", d.rcp.specialty) }],
        "managingOrganization": [{ "identifier": { "system": format!("{CONCERTO_SYSTEM}:cancer-center"), "value": d.rcp.cancer_center_id } }],
        "participant": participants,
    });
    let ids = national_identifiers(&d.rcp);
    if !ids.is_empty() {
        r["identifier"] = Value::Array(ids);
    }
    r
}

/// A session of an RCP as the meeting it is: an `Encounter` of class `VR` (the FRCP's
/// encompassing encounter), planned, in progress or finished.
pub fn encounter(s: &Session, rcp: &Rcp) -> Value {
    let status = match s.status {
        SessionStatus::Planned => "planned",
        SessionStatus::InProgress => "in-progress",
        SessionStatus::Closed => "finished",
    };
    let mut period = json!({ "start": instant(s.starts_at) });
    if let Some(end) = s.ends_at {
        period["end"] = Value::String(instant(end));
    }
    let mut identifiers = vec![json!({ "system": "urn:oid:1.2.250.1.213.1.1.9", "value": s.id })];
    identifiers.extend(national_identifiers(rcp));
    let mut r = json!({
        "resourceType": "Encounter",
        "id": s.id,
        "identifier": identifiers,
        "status": status,
        "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR", "display": "virtual" },
        "type": [{ "coding": [{ "system": "urn:oid:1.2.250.1.213.3.3.13", "code": "39", "display": "RCP" }] }],
        "serviceType": { "text": rcp.name },
        "period": period,
        "serviceProvider": { "identifier": { "system": format!("{CONCERTO_SYSTEM}:cancer-center"), "value": rcp.cancer_center_id } },
    });
    if let Some(location) = &s.location {
        r["location"] = json!([{ "location": { "display": location } }]);
    }
    r
}

/// A dossier as the tumour-board review of its patient (`Procedure` NCIt C93304): the session
/// as its encounter, the requester and the validating physician as performers, the case and the
/// question as notes, the board's proposal as its follow-up.
pub fn procedure(d: &Dossier) -> Value {
    let status = match d.status {
        DossierStatus::Registered => "preparation",
        DossierStatus::Discussed => "in-progress",
        DossierStatus::Validated => "completed",
        DossierStatus::Withdrawn => "stopped",
    };
    let mut performers = vec![json!({
        "function": { "text": "requester" },
        "actor": reference("Practitioner", &d.requester_id)
    })];
    if let Some(v) = &d.validated_by {
        performers.push(json!({ "function": { "text": "validating physician" }, "actor": reference("Practitioner", v) }));
    }
    let mut r = json!({
        "resourceType": "Procedure",
        "id": d.id,
        "meta": { "versionId": d.version.to_string() },
        "status": status,
        "category": { "text": "Tumour board (RCP)" },
        "code": { "coding": [{ "system": NCIT_SYSTEM, "code": "C93304", "display": "Tumor Board Review" }] },
        "subject": reference("Patient", &d.patient_id),
        "encounter": reference("Encounter", &d.session_id),
        "recorder": reference("Practitioner", &d.registered_by),
        "asserter": reference("Practitioner", &d.requester_id),
        "performer": performers,
    });
    if let Some(at) = d.validated_at {
        r["performedDateTime"] = Value::String(instant(at));
    }
    let notes: Vec<Value> = [("Clinical summary", &d.clinical_summary), ("Question to the board", &d.question)]
        .into_iter()
        .filter_map(|(label, text)| text.as_ref().map(|t| json!({ "text": format!("{label}: {t}") })))
        .collect();
    if !notes.is_empty() {
        r["note"] = Value::Array(notes);
    }
    if let Some(proposal) = &d.proposal {
        r["followUp"] = json!([{ "text": proposal }]);
    }
    r
}

/// The validated report of a dossier: the FRCP CDA document, served by the JSON API.
pub fn document_reference(d: &Dossier, report: &Report) -> Value {
    json!({
        "resourceType": "DocumentReference",
        "id": d.id,
        "status": "current",
        "docStatus": "final",
        "type": { "coding": [{ "system": "http://loinc.org", "code": FRCP_LOINC, "display": "CR de réunion de concertation pluridisciplinaire" }] },
        "subject": reference("Patient", &d.patient_id),
        "date": instant(report.produced_at),
        "author": [reference("Practitioner", &report.produced_by)],
        "authenticator": reference("Practitioner", &report.produced_by),
        "content": [{
            "attachment": {
                "contentType": CDA_MEDIA_TYPE,
                "url": format!("/api/v1/dossiers/{}/report", d.id),
                "title": "Fiche RCP (CDA R2 FRCP)",
                "creation": instant(report.produced_at)
            },
            "format": { "system": FORMAT_CODE_SYSTEM, "code": FRCP_FORMAT_CODE }
        }],
        "context": {
            "encounter": [reference("Encounter", &d.session_id)],
            "related": [reference("Procedure", &d.id)]
        }
    })
}

/// What a provenance event's action did, its participant type and the resources it targets.
fn provenance_kind(action: &str) -> (&'static str, &'static str, &'static [&'static str]) {
    match action {
        "dossier.validate" => ("validation of the dossier and production of its report", "verifier", &["Procedure", "DocumentReference"]),
        "report.send" => ("sending of the validated report", "performer", &["DocumentReference"]),
        _ => ("registration of the dossier", "author", &["Procedure"]),
    }
}

/// The types of resource an event of `action` targets.
pub fn provenance_targets(action: &str) -> &'static [&'static str] {
    provenance_kind(action).2
}

/// Who registered, validated or sent, and for whom: one agent per physician a secretary acted
/// for (`who` the secretary, `onBehalfOf` the physician), or one agent who acted as himself.
pub fn provenance(e: &AuditEvent) -> Value {
    let dossier = e.resource_id.clone().unwrap_or_default();
    let (text, participant, targets) = provenance_kind(&e.action);
    let kind =
        json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": participant }] });
    let agents: Vec<Value> = if e.on_behalf_of.is_empty() {
        vec![json!({ "type": kind, "who": reference("Practitioner", &e.actor_id) })]
    } else {
        e.on_behalf_of
            .iter()
            .map(|physician| {
                json!({ "type": kind, "who": reference("Practitioner", &e.actor_id), "onBehalfOf": reference("Practitioner", physician) })
            })
            .collect()
    };
    json!({
        "resourceType": "Provenance",
        "id": e.id,
        "target": targets.iter().map(|t| reference(t, &dossier)).collect::<Vec<_>>(),
        "recorded": instant(e.at),
        "activity": { "coding": [{ "system": format!("{CONCERTO_SYSTEM}:audit-action"), "code": e.action }], "text": text },
        "agent": agents,
    })
}

/// An event of the audit trail. R4's `AuditEvent` has no `onBehalfOf`: each physician a
/// secretary acted for is a further agent, not the requestor, typed `RESP` (responsible party).
pub fn audit_event(e: &AuditEvent) -> Value {
    let action = if e.action.ends_with(".read") || e.action.ends_with(".search") || e.action.ends_with(".list") {
        "R"
    } else if e.action.ends_with(".create") {
        "C"
    } else if e.action.ends_with(".update") {
        "U"
    } else {
        "E"
    };
    let mut agents = vec![json!({ "who": reference("Practitioner", &e.actor_id), "requestor": true })];
    agents.extend(e.on_behalf_of.iter().map(|physician| {
        json!({
            "type": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "RESP", "display": "responsible party" }] },
            "who": reference("Practitioner", physician),
            "requestor": false
        })
    }));
    let mut entities = Vec::new();
    if let Some(patient) = &e.patient_id {
        entities.push(json!({ "what": reference("Patient", patient), "role": { "system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient" } }));
    }
    if let Some(resource) = &e.resource_id {
        entities
            .push(json!({ "what": { "identifier": { "system": format!("{CONCERTO_SYSTEM}:{}", e.resource_type), "value": resource } } }));
    }
    let mut r = json!({
        "resourceType": "AuditEvent",
        "id": e.id,
        "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation" },
        "subtype": [{ "system": format!("{CONCERTO_SYSTEM}:audit-action"), "code": e.action }],
        "action": action,
        "recorded": instant(e.at),
        "outcome": match e.outcome { Outcome::Allowed => "0", Outcome::Denied => "4" },
        "agent": agents,
        "source": { "observer": { "display": "Concerto" } },
    });
    if !entities.is_empty() {
        r["entity"] = Value::Array(entities);
    }
    r
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_practitioner_role_id_names_its_profile_back_and_fits_fhir() {
        let profile = Profile { cancer_center_id: "ffffffff-ffff-4fff-bfff-ffffffffffff".into(), kind: ProfileKind::Secretary };
        let id = practitioner_role_id("0192f0e4-7b1a-7c3d-8e4f-0123456789ab", &profile).unwrap();
        assert!(id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{id}");
        let (p, c, k) = parse_practitioner_role_id(&id).unwrap();
        assert_eq!(
            (p.as_str(), c.as_str(), k),
            ("0192f0e4-7b1a-7c3d-8e4f-0123456789ab", profile.cancer_center_id.as_str(), ProfileKind::Secretary)
        );
        assert!(parse_practitioner_role_id("zzzzzzzzzzzzzzzzzzzzzzzzzz00000000000000000000000000-p").is_none());
        assert!(parse_practitioner_role_id("abc-p").is_none());
    }

    #[test]
    fn a_secretary_acting_for_two_physicians_gives_two_agents() {
        let e = AuditEvent {
            id: "e".into(),
            at: chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap().and_hms_opt(3, 4, 5).unwrap(),
            actor_id: "sec".into(),
            on_behalf_of: vec!["dr1".into(), "dr2".into()],
            action: "report.send".into(),
            resource_type: "report".into(),
            resource_id: Some("d".into()),
            patient_id: Some("p".into()),
            cancer_center_id: None,
            outcome: Outcome::Allowed,
            detail: None,
        };
        let r = provenance(&e);
        let agents = r["agent"].as_array().unwrap();
        assert_eq!(agents.len(), 2);
        assert!(agents.iter().all(|a| a["who"]["reference"] == "Practitioner/sec"));
        assert_eq!(agents[1]["onBehalfOf"]["reference"], "Practitioner/dr2");
        assert_eq!(r["target"][0]["reference"], "DocumentReference/d");
        assert_eq!(r["recorded"], "2026-01-02T03:04:05.000Z");
    }
}
