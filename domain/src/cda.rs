//! The fiche RCP of a validated dossier as the national CDA R2 document (CI-SIS volet FRCP
//! 2025.01, `shared/FRCP.md`): a pure function from plain data ([`Document`]) to the XML text.
//!
//! Written with `quick-xml`'s writer into a buffer: every element and attribute goes through the
//! writer, which escapes text and attribute values (`<`, `&`, quotes), so no value a user typed
//! can change the document's structure. Nothing here reads a store or a clock: the persistence
//! gathers the data, the api serves the bytes.
//!
//! Choices where the volet leaves room (each said in `docs/CONTRACT.md`):
//! - identifiers: the document's `setId` is `2.25.<the dossier's UUID as an integer>` (the ISO
//!   way to name a UUID as an OID), its `id` the same root with the version as extension, and
//!   the registration (`inFulfillmentOf/order/id`) the dossier's UUID itself;
//! - the version is 1: a validated dossier is frozen (its fiche, proposal and validation never
//!   change), so there is no second version of its report;
//! - Concerto's own organ codes (`frcp-organ`) are written under the organ value set's OID.

use std::io;

use chrono::{NaiveDate, NaiveDateTime};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::fiche::{CaseStatus, DatePrecision, Fiche, Laterality, Phase, QuorumStatus, Reason, RequestKind};

/// LOINC.
pub const LOINC: &str = "2.16.840.1.113883.6.1";
/// SNOMED CT.
pub const SNOMED: &str = "2.16.840.1.113883.6.96";
/// The NCI Thesaurus.
pub const NCIT: &str = "2.16.840.1.113883.3.26.1.1";
/// The ANS's own terminology (TA_ASIP): `GEN-…`, `ORG-…`, `MED-…` codes.
pub const TA_ASIP: &str = "1.2.250.1.213.1.1.4.322";
/// CIM-10 (tumour sites).
pub const CIM10: &str = "2.16.840.1.113883.6.3";
/// CIM-O-3 (morphologies).
pub const CIM_O_3: &str = "2.16.840.1.113883.6.43.1";
/// TNM of the UICC.
pub const TNM_UICC: &str = "2.16.840.1.113883.15.6";
/// The INS (NIR) of a patient.
pub const INS_OID: &str = "1.2.250.1.213.1.4.8";
/// A professional's national identifier (IDNPS: `8` + RPPS).
pub const IDNPS_OID: &str = "1.2.250.1.71.4.2.1";
/// An organisation's national identifier (`1` + FINESS).
pub const ORGANISATION_OID: &str = "1.2.250.1.71.4.2.2";
/// The organ value set of the volet, under which Concerto's `frcp-organ` codes are written.
pub const ORGAN_VALUE_SET: &str = "1.2.250.1.213.1.1.5.598";
/// The document's three templateIds (the last with the volet's version).
pub const DOCUMENT_TEMPLATES: [&str; 3] = ["2.16.840.1.113883.2.8.2.1", "1.2.250.1.213.1.1.1.1", "1.2.250.1.213.1.1.1.8"];
/// The volet's version.
pub const FRCP_VERSION: &str = "2025.01";

/// The simple observation templates (IHE, then ANS).
const SIMPLE_OBSERVATION: [&str; 2] = ["1.3.6.1.4.1.19376.1.5.3.1.4.13", "1.2.250.1.213.1.1.3.48"];
/// The comment entry templates.
const COMMENT: [&str; 3] = ["2.16.840.1.113883.10.20.1.40", "1.3.6.1.4.1.19376.1.5.3.1.4.2", "1.2.250.1.213.1.1.3.32"];

/// An organisation: a cancer center.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Its FINESS number, when known.
    pub finess: Option<String>,
    /// Its name.
    pub name: String,
}

/// A professional named in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Professional {
    /// Concerto's id (written as the identifier when the RPPS is unknown).
    pub id: String,
    /// The 11-digit RPPS number, when known.
    pub rpps: Option<String>,
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
}

/// The patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    /// Concerto's id.
    pub id: String,
    /// The INS (15 characters), when the identity is qualified.
    pub ins: Option<String>,
    /// Birth name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// `female`, `male`, `other`, `unknown`.
    pub sex: String,
    /// INSEE code of the birthplace.
    pub birth_place_code: Option<String>,
}

/// A physician recorded present at the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    /// Who.
    pub professional: Professional,
    /// Counted in the quorum (a physician), or present without counting.
    pub counted: bool,
}

/// The RCP and its national identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    /// The RCP's name.
    pub name: String,
    /// `ORG-117` organ RCP, `ORG-132` cross-cutting.
    pub nature: Option<String>,
    /// Its organ (`frcp-organ`).
    pub organ: Option<String>,
    /// The regional cancer network (OID `1.2.250.1.161.1.20.1.1`).
    pub network_id: Option<String>,
    /// The RCP manager (OID `1.2.250.1.161.1.20.2.1`).
    pub manager_id: Option<String>,
    /// The RCP (OID `1.2.250.1.161.1.20.3.1`).
    pub national_id: Option<String>,
}

/// The session the case was discussed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    /// Concerto's session id.
    pub session_id: String,
    /// When it started (UTC).
    pub starts_at: NaiveDateTime,
    /// Where (free text).
    pub location: Option<String>,
}

/// Everything the document says, gathered from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The dossier (a UUID).
    pub dossier_id: String,
    /// The document's version (1: a validated dossier is frozen).
    pub version: u32,
    /// When the dossier was registered.
    pub registered_at: NaiveDateTime,
    /// When it was validated (the document's date).
    pub validated_at: NaiveDateTime,
    /// The RCP's cancer center (custodian, organisations).
    pub center: Organization,
    /// The RCP.
    pub board: Board,
    /// The session.
    pub meeting: Meeting,
    /// The patient.
    pub patient: Patient,
    /// The requesting physician.
    pub requester: Professional,
    /// The physician who validated (author and legal authenticator).
    pub validator: Professional,
    /// The secretary who registered the dossier, when a secretary did.
    pub data_enterer: Option<Professional>,
    /// The RCP's animateurs.
    pub animateurs: Vec<Professional>,
    /// Who was recorded present.
    pub attendees: Vec<Attendee>,
    /// The patient's treating physician, when known.
    pub treating: Option<Professional>,
    /// The patient's correspondents.
    pub correspondents: Vec<Professional>,
    /// The clinical summary (free text).
    pub clinical_summary: Option<String>,
    /// The question asked of the board.
    pub question: Option<String>,
    /// The proposal in free text.
    pub proposal: Option<String>,
    /// The structured fiche.
    pub fiche: Fiche,
    /// The board's quorum at validation.
    pub quorum: QuorumStatus,
}

/// `2.25.<the UUID as a decimal integer>`, or `None` when `id` is no UUID.
pub fn uuid_oid(id: &str) -> Option<String> {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok().map(|n| format!("2.25.{n}"))
}

/// A CDA timestamp of a UTC instant.
fn ts(at: NaiveDateTime) -> String {
    at.format("%Y%m%d%H%M%S+0000").to_string()
}

/// A CDA date.
fn day(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// The code system of a treatment type: SNOMED CT for digits, NCIt for `C…`, the ANS's
/// terminology for `MED-…`/`GEN-…`.
pub fn treatment_system(code: &str) -> &'static str {
    if code.chars().all(|c| c.is_ascii_digit()) {
        SNOMED
    } else if code.starts_with('C') && code[1..].chars().all(|c| c.is_ascii_digit()) {
        NCIT
    } else {
        TA_ASIP
    }
}

/// A coded value: code, system, display name.
type Coded<'a> = (&'a str, &'a str, &'a str);

/// What an observation's `value` holds.
enum Value<'a> {
    Bool(Option<bool>),
    Code(Option<Coded<'a>>),
    Text(&'a str),
}

/// The writer with the few shapes the document is made of.
struct Xml {
    w: Writer<Vec<u8>>,
}

impl Xml {
    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        self.w.write_event(Event::Start(BytesStart::new(name).with_attributes(attrs.iter().copied())))
    }

    fn close(&mut self, name: &str) -> io::Result<()> {
        self.w.write_event(Event::End(BytesEnd::new(name)))
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        self.w.write_event(Event::Empty(BytesStart::new(name).with_attributes(attrs.iter().copied())))
    }

    /// `<name attrs>text</name>`, the text escaped by the writer.
    fn text(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> io::Result<()> {
        self.open(name, attrs)?;
        self.w.write_event(Event::Text(BytesText::new(text)))?;
        self.close(name)
    }

    fn templates(&mut self, roots: &[&str]) -> io::Result<()> {
        for root in roots {
            self.empty("templateId", &[("root", root)])?;
        }
        Ok(())
    }

    fn code(&mut self, name: &str, (code, system, display): Coded) -> io::Result<()> {
        self.empty(name, &[("code", code), ("codeSystem", system), ("displayName", display)])
    }

    fn loinc(&mut self, code: &str, display: &str) -> io::Result<()> {
        self.code("code", (code, LOINC, display))
    }

    /// A section's `<text>`: one paragraph per line given.
    fn narrative(&mut self, lines: &[String]) -> io::Result<()> {
        self.open("text", &[])?;
        if lines.is_empty() {
            self.text("paragraph", &[], "—")?;
        }
        for line in lines {
            self.text("paragraph", &[], line)?;
        }
        self.close("text")
    }

    fn value(&mut self, value: &Value) -> io::Result<()> {
        match value {
            Value::Bool(Some(b)) => self.empty("value", &[("xsi:type", "BL"), ("value", if *b { "true" } else { "false" })]),
            Value::Bool(None) => self.empty("value", &[("xsi:type", "BL"), ("nullFlavor", "UNK")]),
            Value::Code(Some((code, system, display))) => {
                self.empty("value", &[("xsi:type", "CD"), ("code", code), ("codeSystem", system), ("displayName", display)])
            }
            Value::Code(None) => self.empty("value", &[("xsi:type", "CD"), ("nullFlavor", "NA")]),
            Value::Text(t) => self.text("value", &[("xsi:type", "ST")], t),
        }
    }

    /// A simple observation (`moodCode` EVN) with its value, and `inner` written after it
    /// (entry relationships).
    fn observation(
        &mut self,
        code: Coded,
        effective: Option<&str>,
        value: &Value,
        inner: impl FnOnce(&mut Self) -> io::Result<()>,
    ) -> io::Result<()> {
        self.open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")])?;
        self.templates(&SIMPLE_OBSERVATION)?;
        self.code("code", code)?;
        self.empty("statusCode", &[("code", "completed")])?;
        match effective {
            Some(v) => self.empty("effectiveTime", &[("value", v)])?,
            None => self.empty("effectiveTime", &[("nullFlavor", "NAV")])?,
        }
        self.value(value)?;
        inner(self)?;
        self.close("observation")
    }

    /// An observation in an `entryRelationship` of `type_code`.
    fn related(&mut self, type_code: &str, code: Coded, value: &Value) -> io::Result<()> {
        self.open("entryRelationship", &[("typeCode", type_code)])?;
        self.observation(code, None, value, |_| Ok(()))?;
        self.close("entryRelationship")
    }

    /// A comment entry (LOINC 48767-8) holding `text`, inside the element `wrapper`.
    fn comment(&mut self, wrapper: &str, attrs: &[(&str, &str)], text: &str) -> io::Result<()> {
        self.open(wrapper, attrs)?;
        self.open("act", &[("classCode", "ACT"), ("moodCode", "EVN")])?;
        self.templates(&COMMENT)?;
        self.loinc("48767-8", "Commentaire")?;
        self.text("text", &[], text)?;
        self.empty("statusCode", &[("code", "completed")])?;
        self.close("act")?;
        self.close(wrapper)
    }

    /// Opens `<component><section>` with its templates, code, title and narrative.
    fn section(&mut self, templates: &[&str], code: Coded, title: &str, lines: &[String]) -> io::Result<()> {
        self.open("component", &[])?;
        self.open("section", &[])?;
        self.templates(templates)?;
        self.code("code", code)?;
        self.text("title", &[], title)?;
        self.narrative(lines)
    }

    fn end_section(&mut self) -> io::Result<()> {
        self.close("section")?;
        self.close("component")
    }

    /// A professional's identifier: IDNPS when the RPPS is known, Concerto's id otherwise.
    fn professional_id(&mut self, p: &Professional) -> io::Result<()> {
        match &p.rpps {
            Some(rpps) => self.empty("id", &[("root", IDNPS_OID), ("extension", &format!("8{rpps}"))]),
            None => self.empty("id", &[("root", &p.id)]),
        }
    }

    fn person_name(&mut self, p: &Professional) -> io::Result<()> {
        self.open("name", &[])?;
        self.text("given", &[], &p.given_name)?;
        self.text("family", &[], &p.family_name)?;
        self.close("name")
    }

    fn organization(&mut self, name: &str, org: &Organization) -> io::Result<()> {
        self.open(name, &[])?;
        if let Some(finess) = &org.finess {
            self.empty("id", &[("root", ORGANISATION_OID), ("extension", &format!("1{finess}"))])?;
        }
        self.text("name", &[], &org.name)?;
        self.close(name)
    }

    /// An `assignedEntity` (legal authenticator, data enterer, performer).
    fn assigned_entity(&mut self, p: &Professional, org: Option<&Organization>) -> io::Result<()> {
        self.open("assignedEntity", &[])?;
        self.professional_id(p)?;
        self.open("assignedPerson", &[])?;
        self.person_name(p)?;
        self.close("assignedPerson")?;
        if let Some(org) = org {
            self.organization("representedOrganization", org)?;
        }
        self.close("assignedEntity")
    }

    /// A header `participant` of `type_code` with its function.
    fn participant(&mut self, type_code: &str, function: Function, who: Option<&Professional>, org: &Organization) -> io::Result<()> {
        self.open("participant", &[("typeCode", type_code)])?;
        match function {
            Function::Coded(code, system, display, text) => {
                self.open("functionCode", &[("code", code), ("codeSystem", system), ("displayName", display)])?;
                self.text("originalText", &[], text)?;
                self.close("functionCode")?;
            }
            Function::Text(text) => {
                self.open("functionCode", &[("nullFlavor", "NA")])?;
                self.text("originalText", &[], text)?;
                self.close("functionCode")?;
            }
        }
        self.empty("time", &[("nullFlavor", "UNK")])?;
        self.open("associatedEntity", &[("classCode", "PROV")])?;
        match who {
            Some(p) => {
                self.professional_id(p)?;
                self.open("associatedPerson", &[])?;
                self.person_name(p)?;
                self.close("associatedPerson")?;
                self.organization("scopingOrganization", org)?;
            }
            None => {
                self.empty("id", &[("nullFlavor", "UNK")])?;
                self.open("associatedPerson", &[])?;
                self.empty("name", &[("nullFlavor", "UNK")])?;
                self.close("associatedPerson")?;
            }
        }
        self.close("associatedEntity")?;
        self.close("participant")
    }
}

/// A participant's function: coded (code, system, display, text) or only told.
enum Function<'a> {
    Coded(&'a str, &'a str, &'a str, &'a str),
    Text(&'a str),
}

/// The document's title: network / manager / RCP, whichever are known.
pub fn title(doc: &Document) -> String {
    let parts: Vec<&str> =
        [doc.board.network_id.as_deref(), Some(doc.center.name.as_str()), Some(doc.board.name.as_str())].into_iter().flatten().collect();
    parts.join(" / ")
}

/// The FRCP 2025.01 document of `doc`, as UTF-8 XML.
pub fn render(doc: &Document) -> io::Result<String> {
    let mut x = Xml { w: Writer::new_with_indent(Vec::with_capacity(32 * 1024), b' ', 2) };
    x.w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    x.open(
        "ClinicalDocument",
        &[
            ("xmlns", "urn:hl7-org:v3"),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            ("classCode", "DOCCLIN"),
            ("moodCode", "EVN"),
        ],
    )?;
    header(&mut x, doc)?;
    x.open("component", &[])?;
    x.open("structuredBody", &[])?;
    body(&mut x, doc)?;
    x.close("structuredBody")?;
    x.close("component")?;
    x.close("ClinicalDocument")?;
    String::from_utf8(x.w.into_inner()).map_err(io::Error::other)
}

fn header(x: &mut Xml, doc: &Document) -> io::Result<()> {
    let set_root = uuid_oid(&doc.dossier_id).unwrap_or_else(|| doc.dossier_id.clone());
    let version = doc.version.to_string();
    let center = &doc.center;
    x.empty("realmCode", &[("code", "FR")])?;
    x.empty("typeId", &[("root", "2.16.840.1.113883.1.3"), ("extension", "POCD_HD000040")])?;
    x.empty("templateId", &[("root", DOCUMENT_TEMPLATES[0])])?;
    x.empty("templateId", &[("root", DOCUMENT_TEMPLATES[1])])?;
    x.empty("templateId", &[("root", DOCUMENT_TEMPLATES[2]), ("extension", FRCP_VERSION)])?;
    x.empty("id", &[("root", &set_root), ("extension", &version)])?;
    x.loinc("34794-8", "CR de réunion de concertation pluridisciplinaire")?;
    x.text("title", &[], &title(doc))?;
    x.empty("effectiveTime", &[("value", &ts(doc.validated_at))])?;
    x.empty("confidentialityCode", &[("code", "N"), ("codeSystem", "2.16.840.1.113883.5.25"), ("displayName", "Normal")])?;
    x.empty("languageCode", &[("code", "fr-FR")])?;
    x.empty("setId", &[("root", &set_root)])?;
    x.empty("versionNumber", &[("value", &version)])?;
    record_target(x, &doc.patient)?;
    // The author: the physician who validated the fiche, for the board.
    x.open("author", &[])?;
    x.empty("time", &[("value", &ts(doc.validated_at))])?;
    x.open("assignedAuthor", &[])?;
    x.professional_id(&doc.validator)?;
    x.open("assignedPerson", &[])?;
    x.person_name(&doc.validator)?;
    x.close("assignedPerson")?;
    x.organization("representedOrganization", center)?;
    x.close("assignedAuthor")?;
    x.close("author")?;
    if let Some(secretary) = &doc.data_enterer {
        x.open("dataEnterer", &[])?;
        x.empty("time", &[("value", &ts(doc.registered_at))])?;
        x.assigned_entity(secretary, Some(center))?;
        x.close("dataEnterer")?;
    }
    x.open("custodian", &[])?;
    x.open("assignedCustodian", &[])?;
    x.open("representedCustodianOrganization", &[])?;
    match &center.finess {
        Some(finess) => x.empty("id", &[("root", ORGANISATION_OID), ("extension", &format!("1{finess}"))])?,
        None => x.empty("id", &[("nullFlavor", "UNK")])?,
    }
    x.text("name", &[], &center.name)?;
    x.close("representedCustodianOrganization")?;
    x.close("assignedCustodian")?;
    x.close("custodian")?;
    x.open("legalAuthenticator", &[])?;
    x.empty("time", &[("value", &ts(doc.validated_at))])?;
    x.empty("signatureCode", &[("code", "S")])?;
    x.assigned_entity(&doc.validator, Some(center))?;
    x.close("legalAuthenticator")?;
    for a in &doc.animateurs {
        x.participant("RESP", Function::Text("Coordonnateur de la RCP"), Some(a), center)?;
    }
    x.participant("REFB", Function::Text("Médecin demandeur"), Some(&doc.requester), center)?;
    for a in &doc.attendees {
        let function = if a.counted {
            Function::Coded("353", "1.2.250.1.213.1.6.1.107", "Membre de l'équipe de soins", "Participant du quorum")
        } else {
            Function::Coded("CORRE", "1.2.250.1.213.1.1.4.2.280", "Correspondant", "Participant hors quorum")
        };
        x.participant("PRF", function, Some(&a.professional), center)?;
    }
    x.participant(
        "INF",
        Function::Coded("PCP", "2.16.840.1.113883.5.88", "Médecin traitant", "Médecin traitant"),
        doc.treating.as_ref(),
        center,
    )?;
    for c in &doc.correspondents {
        x.participant(
            "CON",
            Function::Coded("CORRE", "1.2.250.1.213.1.1.4.2.280", "Médecin correspondant", "Correspondant"),
            Some(c),
            center,
        )?;
    }
    x.open("inFulfillmentOf", &[])?;
    x.open("order", &[])?;
    x.empty("id", &[("root", &doc.dossier_id)])?;
    x.close("order")?;
    x.close("inFulfillmentOf")?;
    x.open("documentationOf", &[])?;
    x.open("serviceEvent", &[("classCode", "ACT")])?;
    x.open(
        "code",
        &[("code", "39"), ("codeSystem", "1.2.250.1.213.3.3.13"), ("displayName", "Réunion de Concertation Pluridisciplinaire (RCP)")],
    )?;
    x.text("originalText", &[], &title(doc))?;
    x.close("code")?;
    x.open("effectiveTime", &[])?;
    x.empty("low", &[("value", &ts(doc.meeting.starts_at))])?;
    x.close("effectiveTime")?;
    x.close("serviceEvent")?;
    x.close("documentationOf")?;
    if let Some(site) = doc.fiche.diagnosis.as_ref().and_then(|d| d.tumour_site.as_deref()) {
        x.open("documentationOf", &[])?;
        x.open("serviceEvent", &[("classCode", "ACT")])?;
        x.code("code", (site, CIM10, "Topographie"))?;
        x.close("serviceEvent")?;
        x.close("documentationOf")?;
    }
    x.open("componentOf", &[])?;
    x.open("encompassingEncounter", &[])?;
    for (root, value) in [
        ("1.2.250.1.161.1.20.1.1", &doc.board.network_id),
        ("1.2.250.1.161.1.20.2.1", &doc.board.manager_id),
        ("1.2.250.1.161.1.20.3.1", &doc.board.national_id),
    ] {
        match value {
            Some(v) => x.empty("id", &[("root", root), ("extension", v)])?,
            None => x.empty("id", &[("root", root), ("nullFlavor", "UNK")])?,
        }
    }
    x.empty("id", &[("root", "1.2.250.1.213.1.1.9"), ("extension", &doc.meeting.session_id)])?;
    x.empty("code", &[("code", "VR"), ("codeSystem", "2.16.840.1.113883.5.4"), ("displayName", "Virtuelle")])?;
    x.open("effectiveTime", &[])?;
    x.empty("low", &[("value", &ts(doc.meeting.starts_at))])?;
    x.close("effectiveTime")?;
    x.open("location", &[])?;
    x.open("healthCareFacility", &[])?;
    if let Some(finess) = &center.finess {
        x.empty("id", &[("root", ORGANISATION_OID), ("extension", &format!("1{finess}"))])?;
    }
    x.open("location", &[])?;
    x.text("name", &[], doc.meeting.location.as_deref().unwrap_or(&center.name))?;
    x.open("addr", &[])?;
    x.text("streetAddressLine", &[], &center.name)?;
    x.close("addr")?;
    x.close("location")?;
    x.close("healthCareFacility")?;
    x.close("location")?;
    x.close("encompassingEncounter")?;
    x.close("componentOf")
}

fn record_target(x: &mut Xml, p: &Patient) -> io::Result<()> {
    x.open("recordTarget", &[])?;
    x.open("patientRole", &[])?;
    if let Some(ins) = &p.ins {
        x.empty("id", &[("root", INS_OID), ("extension", ins)])?;
    }
    x.empty("id", &[("root", &p.id)])?;
    x.open("patient", &[("classCode", "PSN")])?;
    x.open("name", &[])?;
    x.text("given", &[], &p.given_name)?;
    x.text("family", &[("qualifier", "BR")], &p.family_name)?;
    x.close("name")?;
    let (code, display) = match p.sex.as_str() {
        "female" => ("F", "Féminin"),
        "male" => ("M", "Masculin"),
        _ => ("UN", "Inconnu"),
    };
    x.code("administrativeGenderCode", (code, "2.16.840.1.113883.5.1", display))?;
    x.empty("birthTime", &[("value", &day(p.birth_date))])?;
    if let Some(insee) = &p.birth_place_code {
        x.open("birthplace", &[])?;
        x.open("place", &[])?;
        x.open("addr", &[])?;
        x.text("county", &[], insee)?;
        x.close("addr")?;
        x.close("place")?;
        x.close("birthplace")?;
    }
    x.close("patient")?;
    x.close("patientRole")?;
    x.close("recordTarget")
}

fn ta(code: &'static str, display: &'static str) -> Coded<'static> {
    (code, TA_ASIP, display)
}

fn body(x: &mut Xml, doc: &Document) -> io::Result<()> {
    let f = &doc.fiche;
    reason(x, doc)?;
    discovery(x, f)?;
    diagnosis(x, f)?;
    if let Some(ps) = f.case.as_ref().and_then(|c| c.performance_status) {
        functional_status(x, ps)?;
    }
    progress(x, f)?;
    // The case summary and the question.
    let mut lines = Vec::new();
    if let Some(s) = &doc.clinical_summary {
        lines.push(format!("Résumé : {s}"));
    }
    if let Some(q) = &doc.question {
        lines.push(format!("Question posée : {q}"));
    }
    x.section(
        &["1.3.6.1.4.1.19376.1.5.3.1.3.4"],
        ("10164-2", LOINC, "Histoire de la maladie"),
        "Résumé du dossier et question posée",
        &lines,
    )?;
    x.end_section()?;
    dossier_status(x, doc.quorum)?;
    care_plan(x, doc)?;
    framework(x, f)?;
    // The document's status: validated by the board.
    x.section(&["1.2.250.1.213.1.1.2.35"], ("33557-0", LOINC, "Etat d'achèvement"), "Statut du document", &["Fiche validée".to_owned()])?;
    x.open("entry", &[])?;
    x.observation(ta("GEN-065", "Statut du document"), None, &Value::Code(Some(("9571008", SNOMED, "approuvé"))), |_| Ok(()))?;
    x.close("entry")?;
    x.end_section()
}

fn reason(x: &mut Xml, doc: &Document) -> io::Result<()> {
    let referral = doc.fiche.referral.clone().unwrap_or_default();
    let reasons = [
        (Reason::DiagnosticOpinion, ta("MED-235", "Avis diagnostique")),
        (Reason::TreatmentProposal, ta("ORG-114", "Proposition de traitement")),
        (Reason::Referral, ta("ORG-115", "Recours")),
        (Reason::Paediatrics, ta("ORG-116", "Pédiatrie")),
    ];
    let nature = match doc.board.nature.as_deref() {
        Some("ORG-117") => Some(ta("ORG-117", "RCP d'organe")),
        Some("ORG-132") => Some(ta("ORG-132", "RCP transversale")),
        _ => None,
    };
    let status = referral.case_status.map(|s| match s {
        CaseStatus::Registered => ta("ORG-128", "Cas enregistré"),
        CaseStatus::Discussed => ta("ORG-134", "Cas discuté"),
    });
    let mut lines = vec![format!("RCP : {}", doc.board.name)];
    let named: Vec<&str> = reasons.iter().filter(|(r, _)| referral.reasons.contains(r)).map(|(_, (_, _, d))| *d).collect();
    lines.push(format!("Motif : {}", if named.is_empty() { "non précisé".to_owned() } else { named.join(", ") }));
    if let Some((_, _, d)) = status {
        lines.push(format!("Statut du cas : {d}"));
    }
    x.section(
        &["1.3.6.1.4.1.19376.1.5.3.1.3.1", "1.3.6.1.4.1.19376.1.5.3.1.3.2", "1.2.250.1.213.1.1.2.128"],
        ("42349-1", LOINC, "Raison de la recommandation"),
        "Type de RCP et motif",
        &lines,
    )?;
    x.open("entry", &[])?;
    x.observation(ta("GEN-098", "Nature de la discussion"), None, &Value::Code(nature), |x| {
        if let Some(organ) = &doc.board.organ {
            x.related("SUBJ", ta("ORG-119", "Organe"), &Value::Code(Some((organ, ORGAN_VALUE_SET, organ))))?;
        }
        x.open("entryRelationship", &[("typeCode", "SUBJ")])?;
        x.observation(ta("ORG-186", "Motif de la RCP"), None, &Value::Code(None), |x| {
            for (r, code) in reasons {
                x.related("REFR", code, &Value::Bool(Some(referral.reasons.contains(&r))))?;
            }
            if status.is_some() {
                x.related("REFR", ta("ORG-127", "Statut du cas présenté"), &Value::Code(status))?;
            }
            Ok(())
        })?;
        x.close("entryRelationship")
    })?;
    x.close("entry")?;
    // The problem the board is asked about.
    x.open("entry", &[])?;
    x.open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")])?;
    x.templates(&["2.16.840.1.113883.10.20.1.28", "1.3.6.1.4.1.19376.1.5.3.1.4.5", "1.2.250.1.213.1.1.3.37"])?;
    x.code("code", ("55607006", SNOMED, "problème"))?;
    x.empty("statusCode", &[("code", "completed")])?;
    x.empty("effectiveTime", &[("nullFlavor", "NAV")])?;
    let site = doc.fiche.diagnosis.as_ref().and_then(|d| d.tumour_site.as_deref());
    x.value(&Value::Code(site.map(|s| (s, CIM10, "Topographie"))))?;
    x.close("observation")?;
    x.close("entry")?;
    x.end_section()
}

fn discovery(x: &mut Xml, f: &Fiche) -> io::Result<()> {
    let screening = f.case.as_ref().and_then(|c| c.found_by_screening);
    let line = match screening {
        Some(true) => "Découvert par un dépistage organisé",
        Some(false) => "Découvert hors dépistage organisé",
        None => "Mode de découverte non précisé",
    };
    x.section(
        &["1.3.6.1.4.1.19376.1.5.3.1.1.21.2.9", "1.2.250.1.213.1.1.2.163"],
        ("42545-4", LOINC, "Evènements observés"),
        "Mode de découverte du cancer",
        &[line.to_owned()],
    )?;
    x.open("entry", &[])?;
    x.observation(("63921-1", LOINC, "Dépistage du cancer"), None, &Value::Bool(screening), |_| Ok(()))?;
    x.close("entry")?;
    x.end_section()
}

fn diagnosis(x: &mut Xml, f: &Fiche) -> io::Result<()> {
    let d = f.diagnosis.clone().unwrap_or_default();
    let date = match (d.date_precision, d.date) {
        (Some(DatePrecision::Month), Some(date)) => Some(date.format("%Y%m").to_string()),
        (Some(DatePrecision::Unknown), _) | (_, None) => None,
        (_, Some(date)) => Some(day(date)),
    };
    let mut lines = Vec::new();
    if let Some(site) = &d.tumour_site {
        lines.push(format!("Topographie (CIM-10) : {site}"));
    }
    if let Some(m) = &d.morphology {
        lines.push(format!("Morphologie (CIM-O-3) : {m}"));
    }
    if let Some(t) = &d.tnm {
        let parts: Vec<&str> = [&t.t, &t.n, &t.m].into_iter().flatten().map(String::as_str).collect();
        lines.push(format!("TNM clinique : {}", parts.join(" ")));
    }
    x.section(
        &["2.16.840.1.113883.10.20.1.11", "1.3.6.1.4.1.19376.1.5.3.1.3.6", "1.3.6.1.4.1.19376.1.7.3.1.3.14.1", "1.2.250.1.213.1.1.2.27"],
        ("72135-7", LOINC, "Diagnostic du cancer"),
        "Diagnostic du cancer",
        &lines,
    )?;
    x.open("entry", &[])?;
    x.open("act", &[("classCode", "ACT"), ("moodCode", "EVN")])?;
    x.templates(&[
        "2.16.840.1.113883.10.20.1.27",
        "1.3.6.1.4.1.19376.1.5.3.1.4.5.1",
        "1.3.6.1.4.1.19376.1.5.3.1.4.5.2",
        "1.2.250.1.213.1.1.3.39",
        "1.2.250.1.213.1.1.3.39.1",
    ])?;
    x.empty("code", &[("nullFlavor", "NA")])?;
    x.empty("statusCode", &[("code", "active")])?;
    let low = |x: &mut Xml| -> io::Result<()> {
        x.open("effectiveTime", &[])?;
        match &date {
            Some(v) => x.empty("low", &[("value", v)])?,
            None => x.empty("low", &[("nullFlavor", "UNK")])?,
        }
        x.close("effectiveTime")
    };
    low(x)?;
    x.open("entryRelationship", &[("typeCode", "SUBJ")])?;
    x.open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")])?;
    x.templates(&[
        "2.16.840.1.113883.10.20.1.28",
        "1.3.6.1.4.1.19376.1.5.3.1.4.5",
        "1.2.250.1.213.1.1.3.37",
        "1.3.6.1.4.1.19376.1.7.3.1.4.14.1",
        "1.2.250.1.213.1.1.3.113",
    ])?;
    x.code("code", ("282291009", SNOMED, "interprétation diagnostique"))?;
    x.empty("statusCode", &[("code", "completed")])?;
    low(x)?;
    match &d.morphology {
        Some(m) => x.empty("value", &[("xsi:type", "CD"), ("code", m), ("codeSystem", CIM_O_3), ("displayName", m)])?,
        None => x.empty("value", &[("xsi:type", "CD"), ("nullFlavor", "UNK")])?,
    }
    if let Some(site) = &d.tumour_site {
        let side = match d.laterality {
            Some(Laterality::Right) => Some(("24028007", "droit")),
            Some(Laterality::Left) => Some(("7771000", "gauche")),
            Some(Laterality::Bilateral) => Some(("51440002", "bilatéral")),
            _ => None,
        };
        x.open("targetSiteCode", &[("code", site), ("codeSystem", CIM10), ("displayName", site)])?;
        if let Some((code, display)) = side {
            x.open("qualifier", &[])?;
            x.code("name", ("20228-3", LOINC, "Latéralité"))?;
            x.code("value", (code, SNOMED, display))?;
            x.close("qualifier")?;
        }
        x.close("targetSiteCode")?;
    }
    if let Some(t) = &d.tnm {
        x.open("entryRelationship", &[("typeCode", "SUBJ")])?;
        x.open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")])?;
        x.templates(&["1.3.6.1.4.1.19376.1.7.3.1.4.14.2"])?;
        x.loinc("75620-5", "Stade TNM clinique")?;
        x.empty("statusCode", &[("code", "completed")])?;
        match &t.stage {
            Some(stage) => x.open("value", &[("xsi:type", "CD"), ("code", stage), ("codeSystem", TNM_UICC), ("displayName", stage)])?,
            None => x.open("value", &[("xsi:type", "CD"), ("nullFlavor", "UNK")])?,
        }
        if let Some(edition) = &t.edition {
            x.open("qualifier", &[])?;
            x.code("name", ("21917-0", LOINC, "Version de la classification TNM"))?;
            x.code("value", (edition, TNM_UICC, edition))?;
            x.close("qualifier")?;
        }
        x.close("value")?;
        for (code, display, v) in
            [("21905-5", "TNM clinique T", &t.t), ("21906-3", "TNM clinique N", &t.n), ("21907-1", "TNM clinique M", &t.m)]
        {
            if let Some(v) = v {
                x.related("COMP", (code, LOINC, display), &Value::Code(Some((v, TNM_UICC, v))))?;
            }
        }
        if let Some(stage) = &t.stage {
            x.related("COMP", ("21909-7", LOINC, "Stade clinique"), &Value::Code(Some((stage, TNM_UICC, stage))))?;
        }
        x.close("observation")?;
        x.close("entryRelationship")?;
    }
    if let Some(o) = &d.other_classification {
        x.open("entryRelationship", &[("typeCode", "SUBJ")])?;
        x.observation(("21918-8", LOINC, "Autre classification"), None, &Value::Text(o.value.as_deref().unwrap_or("")), |x| {
            x.related("COMP", ta("GEN-101", "Nom de la classification"), &Value::Text(&o.name))?;
            if let Some(v) = &o.version {
                x.related("COMP", ta("GEN-102", "Version de la classification"), &Value::Text(v))?;
            }
            Ok(())
        })?;
        x.close("entryRelationship")?;
    }
    x.close("observation")?;
    x.close("entryRelationship")?;
    x.close("act")?;
    x.close("entry")?;
    x.end_section()
}

fn functional_status(x: &mut Xml, ps: u8) -> io::Result<()> {
    let grade = match ps {
        0 => ta("MED-240", "OMS 0"),
        1 => ta("MED-264", "OMS 1"),
        2 => ta("MED-265", "OMS 2"),
        3 => ta("MED-266", "OMS 3"),
        _ => ta("MED-267", "OMS 4"),
    };
    x.section(&[], ("47420-5", LOINC, "Statut fonctionnel"), "Statut fonctionnel", &[format!("Indice de performance OMS : {ps}")])?;
    x.open("entry", &[])?;
    x.observation(ta("MED-239", "Echelle de performance OMS"), None, &Value::Code(Some(grade)), |_| Ok(()))?;
    x.close("entry")?;
    x.end_section()
}

fn progress(x: &mut Xml, f: &Fiche) -> io::Result<()> {
    let case = f.case.clone().unwrap_or_default();
    let phase = case.phase.map(|p| match p {
        Phase::Initial => ta("MED-268", "Prise en charge initiale"),
        Phase::Relapse => ta("MED-244", "Rechute"),
    });
    let lines = vec![format!("Phase : {}", phase.map_or("non précisée", |(_, _, d)| d))];
    x.section(&["1.2.250.1.213.1.1.2.25"], ("18733-6", LOINC, "Note d'évolution"), "Phase de la maladie", &lines)?;
    x.open("entry", &[])?;
    x.observation(ta("MED-243", "Phase de la maladie"), None, &Value::Code(phase), |_| Ok(()))?;
    x.close("entry")?;
    x.open("entry", &[])?;
    x.observation(ta("MED-245", "Evolution"), None, &Value::Code(None), |x| {
        for (code, v) in [
            (ta("MED-246", "Evolution locale"), case.local_progression),
            (ta("MED-247", "Evolution régionale"), case.regional_progression),
            (ta("MED-248", "Evolution à distance"), case.distant_progression),
        ] {
            x.related("REFR", code, &Value::Bool(v))?;
        }
        Ok(())
    })?;
    x.close("entry")?;
    x.end_section()
}

fn dossier_status(x: &mut Xml, quorum: QuorumStatus) -> io::Result<()> {
    let q = match quorum {
        QuorumStatus::Reached => ta("ORG-126", "Quorum atteint"),
        QuorumStatus::NotReached => ta("ORG-133", "Quorum non atteint"),
        QuorumStatus::Unknown => ta("GEN-010", "Inconnu"),
    };
    x.section(
        &["1.2.250.1.213.1.1.2.33"],
        ("21874-3", LOINC, "Statut du dossier présenté en RCP"),
        "Statut du dossier",
        &["Dossier complet".to_owned(), format!("Quorum : {}", q.2)],
    )?;
    x.open("entry", &[])?;
    x.open("organizer", &[("classCode", "CLUSTER"), ("moodCode", "EVN")])?;
    x.templates(&["1.2.250.1.213.1.1.3.7"])?;
    x.code("code", ta("GEN-099", "Information RCP"))?;
    x.empty("statusCode", &[("code", "completed")])?;
    // Validation needs a complete fiche: the document of a validated dossier says so.
    x.open("component", &[])?;
    x.observation(ta("GEN-100", "Dossier complet"), None, &Value::Bool(Some(true)), |_| Ok(()))?;
    x.close("component")?;
    x.open("component", &[])?;
    x.observation(ta("ORG-125", "Quorum RCP"), None, &Value::Code(Some(q)), |_| Ok(()))?;
    x.close("component")?;
    x.close("organizer")?;
    x.close("entry")?;
    x.end_section()
}

fn care_plan(x: &mut Xml, doc: &Document) -> io::Result<()> {
    let p = doc.fiche.proposal.clone().unwrap_or_default();
    let mut lines = Vec::new();
    if let Some(free) = &doc.proposal {
        lines.push(format!("Proposition : {free}"));
    }
    for t in &p.treatments {
        lines.push(format!("{}. {}{}", t.order, t.code, t.detail.as_deref().map(|d| format!(" — {d}")).unwrap_or_default()));
    }
    for r in &p.requests {
        lines.push(format!("Demande : {}", r.description));
    }
    if let Some(c) = &p.comment {
        lines.push(format!("Commentaire : {c}"));
    }
    x.section(
        &["1.3.6.1.4.1.19376.1.5.3.1.3.36", "1.2.250.1.213.1.1.2.158"],
        ("18776-5", LOINC, "Plan de soins"),
        "Proposition de prise en charge",
        &lines,
    )?;
    for t in &p.treatments {
        x.open("entry", &[])?;
        x.open("procedure", &[("classCode", "PROC"), ("moodCode", "INT")])?;
        x.templates(&["2.16.840.1.113883.10.20.1.25", "1.3.6.1.4.1.19376.1.5.3.1.4.19", "1.2.250.1.213.1.1.3.62"])?;
        x.code("code", (&t.code, treatment_system(&t.code), &t.code))?;
        if let Some(detail) = &t.detail {
            x.text("text", &[], detail)?;
        }
        x.empty("statusCode", &[("code", "active")])?;
        x.open("priorityCode", &[])?;
        x.text("originalText", &[], &t.order.to_string())?;
        x.close("priorityCode")?;
        x.close("procedure")?;
        x.close("entry")?;
    }
    x.open("entry", &[])?;
    x.open("encounter", &[("classCode", "ENC"), ("moodCode", "ARQ")])?;
    x.templates(&["2.16.840.1.113883.10.20.1.25", "1.3.6.1.4.1.19376.1.5.3.1.4.14", "1.2.250.1.213.1.1.3.58"])?;
    x.code("code", ta("ORG-120", "Passage en RCP de recours"))?;
    x.text("text", &[], if p.referral_rcp_requested { "Passage en RCP de recours demandé" } else { "Pas de passage en RCP de recours" })?;
    x.close("encounter")?;
    x.close("entry")?;
    for r in &p.requests {
        x.open("entry", &[])?;
        x.open("observation", &[("classCode", "OBS"), ("moodCode", "PRP")])?;
        x.templates(&["2.16.840.1.113883.10.20.1.25", "1.3.6.1.4.1.19376.1.5.3.1.1.20.3.1", "1.2.250.1.213.1.1.3.27"])?;
        x.code("code", ta("ORG-064", "Demande d'examen ou de suivi"))?;
        let kind = match r.kind {
            RequestKind::Exam => "Examen",
            RequestKind::FollowUp => "Suivi",
        };
        x.text("text", &[], &format!("{kind} : {}", r.description))?;
        x.empty("statusCode", &[("code", "active")])?;
        x.open("effectiveTime", &[])?;
        match r.earliest {
            Some(d) => x.empty("low", &[("value", &day(d))])?,
            None => x.empty("low", &[("nullFlavor", "UNK")])?,
        }
        match r.latest {
            Some(d) => x.empty("high", &[("value", &day(d))])?,
            None => x.empty("high", &[("nullFlavor", "UNK")])?,
        }
        x.close("effectiveTime")?;
        x.close("observation")?;
        x.close("entry")?;
    }
    if let Some(c) = &p.comment {
        x.comment("entry", &[], c)?;
    }
    x.end_section()
}

fn framework(x: &mut Xml, f: &Fiche) -> io::Result<()> {
    let fw = f.framework.clone().unwrap_or_default();
    let mut lines = Vec::new();
    if let Some(g) = &fw.guideline {
        lines.push(format!("Référentiel : {}{}", g.name, g.version.as_deref().map(|v| format!(" ({v})")).unwrap_or_default()));
    }
    match fw.conform {
        Some(true) => lines.push("Proposition conforme au référentiel".to_owned()),
        Some(false) => lines.push("Proposition non conforme au référentiel".to_owned()),
        None => {}
    }
    if let Some(r) = &fw.nonconformity_reason {
        lines.push(format!("Motif de non-conformité : {r}"));
    }
    if let Some(t) = &fw.trial_name {
        lines.push(format!("Essai clinique : {t}"));
    }
    x.section(&["1.2.250.1.213.1.1.2.175"], ("35510-7", LOINC, "Cadre de la proposition"), "Cadre de la proposition", &lines)?;
    if let Some(g) = &fw.guideline {
        let named = match &g.version {
            Some(v) => format!("{} {v}", g.name),
            None => g.name.clone(),
        };
        x.open("entry", &[])?;
        x.open("observation", &[("classCode", "OBS"), ("moodCode", "EVN")])?;
        x.templates(&SIMPLE_OBSERVATION)?;
        x.open(
            "code",
            &[("code", "MED-249"), ("codeSystem", TA_ASIP), ("displayName", "Recommandation/référentiel de pratique clinique")],
        )?;
        x.text("originalText", &[], &named)?;
        x.close("code")?;
        x.empty("statusCode", &[("code", "completed")])?;
        match g.date {
            Some(d) => x.empty("effectiveTime", &[("value", &day(d))])?,
            None => x.empty("effectiveTime", &[("nullFlavor", "UNK")])?,
        }
        // The guideline is named, not coded (the volet has no list of guidelines).
        x.open("value", &[("xsi:type", "CD")])?;
        x.text("originalText", &[], &named)?;
        x.close("value")?;
        // Conformity has no code either: a non-conform proposal says so, and why, in a comment.
        if fw.conform == Some(false) {
            let said = match &fw.nonconformity_reason {
                Some(reason) => format!("Proposition non conforme au référentiel : {reason}"),
                None => "Proposition non conforme au référentiel".to_owned(),
            };
            x.comment("entryRelationship", &[("typeCode", "SUBJ")], &said)?;
        }
        x.close("observation")?;
        x.close("entry")?;
    }
    x.open("entry", &[])?;
    x.observation(ta("MED-250", "Proposition d'inclusion dans un essai clinique"), None, &Value::Bool(fw.trial_proposed), |x| {
        if let Some(t) = &fw.trial_name {
            x.comment("entryRelationship", &[("typeCode", "SUBJ")], t)?;
        }
        Ok(())
    })?;
    x.close("entry")?;
    x.end_section()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fiche::{ClinicalCase, Diagnosis, Framework, Proposal, Referral, Tnm, Treatment};

    fn pro(id: &str, family: &str, rpps: Option<&str>) -> Professional {
        Professional { id: id.to_owned(), rpps: rpps.map(str::to_owned), family_name: family.to_owned(), given_name: "Anne".to_owned() }
    }

    fn doc() -> Document {
        let at = NaiveDate::from_ymd_opt(2026, 12, 7).and_then(|d| d.and_hms_opt(10, 0, 0)).unwrap_or_default();
        Document {
            dossier_id: "0b1c9a2e-3f4d-4a5b-8c6d-7e8f9a0b1c2d".to_owned(),
            version: 1,
            registered_at: at,
            validated_at: at,
            center: Organization { finess: Some("750000001".to_owned()), name: "3C Nord".to_owned() },
            board: Board {
                name: "RCP digestive".to_owned(),
                nature: Some("ORG-117".to_owned()),
                organ: Some("DIG-COLON".to_owned()),
                network_id: Some("RRC".to_owned()),
                manager_id: None,
                national_id: Some("RCP-1".to_owned()),
            },
            meeting: Meeting { session_id: "s".to_owned(), starts_at: at, location: Some("Salle \"A\" & <B>".to_owned()) },
            patient: Patient {
                id: "p".to_owned(),
                ins: Some("261047512345678".to_owned()),
                family_name: "O'Brien <script>&".to_owned(),
                given_name: "Jeanne".to_owned(),
                birth_date: NaiveDate::from_ymd_opt(1961, 4, 12).unwrap_or_default(),
                sex: "female".to_owned(),
                birth_place_code: Some("75056".to_owned()),
            },
            requester: pro("r", "Req", Some("10000000005")),
            validator: pro("v", "Val", None),
            data_enterer: None,
            animateurs: vec![pro("v", "Val", None)],
            attendees: vec![Attendee { professional: pro("a", "Att", None), counted: true }],
            treating: None,
            correspondents: vec![],
            clinical_summary: Some("Résumé </paragraph><evil/>".to_owned()),
            question: None,
            proposal: None,
            fiche: Fiche {
                referral: Some(Referral { reasons: vec![Reason::TreatmentProposal], case_status: Some(CaseStatus::Discussed) }),
                case: Some(ClinicalCase { performance_status: Some(1), found_by_screening: Some(true), ..ClinicalCase::default() }),
                diagnosis: Some(Diagnosis {
                    tumour_site: Some("C18.7".to_owned()),
                    morphology: Some("8140/3".to_owned()),
                    tnm: Some(Tnm { t: Some("cT3".to_owned()), ..Tnm::default() }),
                    ..Diagnosis::default()
                }),
                proposal: Some(Proposal {
                    treatments: vec![Treatment {
                        code: "C15632".to_owned(),
                        order: 1,
                        intention: None,
                        detail: Some("FOLFOX & co".to_owned()),
                    }],
                    ..Proposal::default()
                }),
                framework: Some(Framework::default()),
            },
            quorum: QuorumStatus::Reached,
        }
    }

    #[test]
    fn a_uuid_becomes_an_oid_under_2_25() {
        assert_eq!(uuid_oid("00000000-0000-0000-0000-00000000000a").as_deref(), Some("2.25.10"));
        assert_eq!(uuid_oid("not-a-uuid"), None);
    }

    #[test]
    fn treatment_codes_take_their_system() {
        assert_eq!(treatment_system("387713003"), SNOMED);
        assert_eq!(treatment_system("C15632"), NCIT);
        assert_eq!(treatment_system("MED-226"), TA_ASIP);
        assert_eq!(treatment_system("GEN-092.03.01"), TA_ASIP);
    }

    #[test]
    fn hostile_text_is_escaped_by_the_writer() {
        let xml = render(&doc()).unwrap_or_default();
        assert!(xml.contains("O&apos;Brien &lt;script&gt;&amp;"), "{xml}");
        assert!(xml.contains("Salle &quot;A&quot; &amp; &lt;B&gt;"), "{xml}");
        assert!(!xml.contains("<evil/>") && !xml.contains("<script>"), "{xml}");
    }

    #[test]
    fn the_header_carries_the_volets_identifiers() {
        let xml = render(&doc()).unwrap_or_default();
        for needle in [
            r#"<templateId root="1.2.250.1.213.1.1.1.8" extension="2025.01"/>"#,
            r#"code="34794-8""#,
            r#"<id root="1.2.250.1.213.1.4.8" extension="261047512345678"/>"#,
            r#"<family qualifier="BR">"#,
            r#"<id root="1.2.250.1.71.4.2.1" extension="810000000005"/>"#,
            r#"<versionNumber value="1"/>"#,
            r#"<participant typeCode="INF">"#,
            r#"<id root="1.2.250.1.161.1.20.2.1" nullFlavor="UNK"/>"#,
        ] {
            assert!(xml.contains(needle), "{needle} missing: {xml}");
        }
        // No secretary registered it: no data enterer.
        assert!(!xml.contains("dataEnterer"));
    }
}
