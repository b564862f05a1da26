//! The FHIR R4 read API under `/fhir/R4` (`application/fhir+json`): a façade over the same
//! store, the same rules and the same bearer tokens as `/api/v1`. Each interaction calls the
//! repository function the JSON API calls (permission-filtered in SQL, audited the same way);
//! this module only parses FHIR's parameters and writes FHIR's shapes.
//!
//! [`SERVED`] is the one table of what is served: the routes dispatch on it and the
//! CapabilityStatement (`GET /fhir/R4/metadata`) is written from it, so the two cannot differ.

pub mod outcome;
pub mod resources;

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use concerto_domain::dossier::DossierStatus;
use concerto_domain::principal::Principal;
use concerto_domain::{DomainError, ErrorCode};
use concerto_persistence::dossiers::{self, Dossier, Report};
use concerto_persistence::search::{self as dossier_search, DossierSearch};
use concerto_persistence::{DbConnection, Error as StoreError, PageRequest, audit, patients, professionals, rcps, sessions};
use serde_json::{Value, json};

use self::outcome::{FHIR_JSON, FhirError};
use self::resources as fhir;
use crate::caller::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Where the FHIR API is mounted.
pub const BASE: &str = "/fhir/R4";

/// A search parameter a resource type accepts.
#[derive(Debug)]
pub struct SearchParam {
    /// Its name in the query string.
    pub name: &'static str,
    /// Its FHIR type (`token`, `string`, `date`, `reference`).
    pub kind: &'static str,
    /// What it does here.
    pub doc: &'static str,
}

type ReadFn = fn(&mut DbConnection, &Principal, &str) -> Result<Value, StoreError>;
type SearchFn = fn(&mut DbConnection, &Principal, &Query) -> Result<Found, StoreError>;

/// A resource type served: its read, its search and what its search may `_revinclude`.
pub struct Served {
    /// The FHIR resource type.
    pub resource: &'static str,
    /// What it is here (the CapabilityStatement's documentation).
    pub doc: &'static str,
    /// `GET /fhir/R4/{type}/{id}`.
    read: Option<ReadFn>,
    /// `GET /fhir/R4/{type}?…`: its parameters and the search.
    search: Option<(&'static [SearchParam], SearchFn)>,
    /// What `_revinclude` may name on its search.
    pub revinclude: &'static [&'static str],
}

impl Served {
    /// Whether the read interaction is served.
    pub fn reads(&self) -> bool {
        self.read.is_some()
    }

    /// The search parameters, when the search-type interaction is served.
    pub fn search_params(&self) -> Option<&'static [SearchParam]> {
        self.search.map(|(params, _)| params)
    }
}

const PATIENT_REF: &str = "a patient: `Patient/{id}` or the id";

/// Everything served, in the CapabilityStatement's order.
pub static SERVED: &[Served] = &[
    Served {
        resource: "Patient",
        doc: "A patient (INS under urn:oid:1.2.250.1.213.1.4.8). Read: whoever may read the patient's record (GET /api/v1/patients/{id}); search: the identity search of GET /api/v1/patients (identity traits only, physicians and secretaries).",
        read: Some(read_patient),
        search: Some((
            &[
                SearchParam { name: "identifier", kind: "token", doc: "the INS, `urn:oid:1.2.250.1.213.1.4.8|{INS}` or the INS alone" },
                SearchParam { name: "family", kind: "string", doc: "a family-name prefix (at least two letters), with `birthdate`" },
                SearchParam { name: "birthdate", kind: "date", doc: "the exact birth date, with `family`" },
            ],
            search_patients,
        )),
        revinclude: &[],
    },
    Served {
        resource: "Practitioner",
        doc: "A professional of the directory, with RPPS (https://rpps.esante.gouv.fr) and IDNPS (urn:oid:1.2.250.1.71.4.2.1, 8 + RPPS) identifiers. Any authenticated user.",
        read: Some(read_practitioner),
        search: Some((
            &[
                SearchParam {
                    name: "identifier",
                    kind: "token",
                    doc: "RPPS (`https://rpps.esante.gouv.fr|{11 digits}`) or IDNPS (`urn:oid:1.2.250.1.71.4.2.1|8{RPPS}`)",
                },
                SearchParam { name: "name", kind: "string", doc: "a prefix of the family or given name" },
            ],
            search_practitioners,
        )),
        revinclude: &[],
    },
    Served {
        resource: "PractitionerRole",
        doc: "A profile of a professional on a cancer center (physician, secretary, center_coordinator). Any authenticated user.",
        read: Some(read_practitioner_role),
        search: Some((
            &[SearchParam { name: "practitioner", kind: "reference", doc: "the professional: `Practitioner/{id}` or the id (required)" }],
            search_practitioner_roles,
        )),
        revinclude: &[],
    },
    Served {
        resource: "CareTeam",
        doc: "An RCP (tumour board): its animateurs, participants and managers, its national identifiers. Any authenticated user.",
        read: Some(read_care_team),
        search: None,
        revinclude: &[],
    },
    Served {
        resource: "Encounter",
        doc: "A session of an RCP (the meeting: class VR, planned, in-progress or finished). Any authenticated user.",
        read: Some(read_encounter),
        search: None,
        revinclude: &[],
    },
    Served {
        resource: "Procedure",
        doc: "A dossier as the tumour-board review of its patient (NCIt C93304 Tumor Board Review): the proposal in followUp, the case and question in note. Read and search: whoever reads the dossier (GET /api/v1/dossiers/{id}; the search is that of GET /api/v1/dossiers).",
        read: Some(read_procedure),
        search: Some((
            &[
                SearchParam { name: "patient", kind: "reference", doc: PATIENT_REF },
                SearchParam { name: "subject", kind: "reference", doc: PATIENT_REF },
            ],
            search_procedures,
        )),
        revinclude: &["Provenance:target"],
    },
    Served {
        resource: "DocumentReference",
        doc: "The validated report of a dossier (LOINC 34794-8, format urn:asip:ci-sis:frcp:2011), its CDA at /api/v1/dossiers/{id}/report (application/hl7-cda+xml). Whoever reads the report.",
        read: Some(read_document_reference),
        search: Some((
            &[
                SearchParam { name: "patient", kind: "reference", doc: PATIENT_REF },
                SearchParam { name: "subject", kind: "reference", doc: PATIENT_REF },
            ],
            search_document_references,
        )),
        revinclude: &["Provenance:target"],
    },
    Served {
        resource: "Provenance",
        doc: "Who registered a dossier, validated it and sent its report, and for whom: one agent per physician a secretary acted for (who = the secretary, onBehalfOf = the physician). Whoever reads the dossier.",
        read: Some(read_provenance),
        search: Some((
            &[SearchParam { name: "target", kind: "reference", doc: "`Procedure/{id}` or `DocumentReference/{id}` (required)" }],
            search_provenance,
        )),
        revinclude: &[],
    },
    Served {
        resource: "AuditEvent",
        doc: "The audit trail of patient data (GET /api/v1/audit-events): the platform administrator, center coordinators for their centers. R4 has no onBehalfOf: each physician a secretary acted for is a further agent typed RESP.",
        read: None,
        search: Some((
            &[
                SearchParam { name: "patient", kind: "reference", doc: PATIENT_REF },
                SearchParam { name: "agent", kind: "reference", doc: "the actor: `Practitioner/{id}` or the id" },
            ],
            search_audit_events,
        )),
        revinclude: &[],
    },
];

/// Parameters every search takes.
pub const COMMON_PARAMS: &[SearchParam] = &[
    SearchParam { name: "_count", kind: "number", doc: "page size, 1 to 200 (default 50)" },
    SearchParam { name: "_cursor", kind: "string", doc: "the page a `next` link names (opaque)" },
];

/// The routes under [`BASE`].
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE)
            .service(web::resource("/metadata").route(web::get().to(metadata)).default_service(web::to(unknown)))
            .service(web::resource("/{type}").route(web::get().to(search)).default_service(web::to(unknown)))
            .service(web::resource("/{type}/{id}").route(web::get().to(read)).default_service(web::to(unknown)))
            .default_service(web::to(unknown)),
    );
}

fn answer(status: actix_web::http::StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::CONTENT_TYPE, FHIR_JSON)).body(body.to_string())
}

fn respond(result: Result<Value, FhirError>) -> HttpResponse {
    match result {
        Ok(body) => answer(actix_web::http::StatusCode::OK, &body),
        Err(e) => e.response(),
    }
}

/// The caller accepts FHIR JSON: an `Accept` that allows it (or none), a `_format` naming JSON
/// (or none).
fn acceptable(req: &HttpRequest) -> Result<(), FhirError> {
    const OURS: [&str; 5] = ["application/fhir+json", "application/json", "application/json+fhir", "application/*", "*/*"];
    let accept = req.headers().get_all(header::ACCEPT).filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    let ranges: Vec<String> =
        accept.split(',').map(|r| r.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()).filter(|r| !r.is_empty()).collect();
    if !ranges.is_empty() && !ranges.iter().any(|r| OURS.contains(&r.as_str())) {
        return Err(FhirError::NotAcceptable);
    }
    let format = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(|q| q.into_inner().into_iter().filter(|(k, _)| k == "_format").map(|(_, v)| v).collect::<Vec<_>>())
        .unwrap_or_default();
    if format.iter().any(|f| !["json", "application/json", "application/fhir+json"].contains(&f.as_str())) {
        return Err(FhirError::NotAcceptable);
    }
    Ok(())
}

/// `http(s)://host/fhir/R4`, as the caller reached it.
fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}{BASE}", info.scheme(), info.host())
}

fn served(resource: &str) -> Result<&'static Served, FhirError> {
    SERVED
        .iter()
        .find(|s| s.resource == resource)
        .ok_or_else(|| FhirError::NotSupported(format!("resource type `{resource}` is not served here (see /fhir/R4/metadata)")))
}

/// `GET /fhir/R4/metadata`: the CapabilityStatement, written from [`SERVED`]. Public, as the
/// OpenAPI document is.
async fn metadata(req: HttpRequest) -> HttpResponse {
    respond(acceptable(&req).map(|()| capability_statement(&base_url(&req))))
}

/// The CapabilityStatement of [`SERVED`].
pub fn capability_statement(base: &str) -> Value {
    let param = |p: &SearchParam| json!({ "name": p.name, "type": p.kind, "documentation": p.doc });
    let resources: Vec<Value> = SERVED
        .iter()
        .map(|s| {
            let mut interactions = Vec::new();
            if s.reads() {
                interactions.push(json!({ "code": "read" }));
            }
            let mut r = json!({ "type": s.resource, "documentation": s.doc, "versioning": "no-version", "readHistory": false });
            if let Some(params) = s.search_params() {
                interactions.push(json!({ "code": "search-type" }));
                r["searchParam"] = Value::Array(params.iter().map(param).collect());
            }
            r["interaction"] = Value::Array(interactions);
            if !s.revinclude.is_empty() {
                r["searchRevInclude"] = json!(s.revinclude);
            }
            r
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-07",
        "publisher": "Concerto",
        "kind": "instance",
        "software": { "name": "Concerto", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "Concerto's FHIR R4 read API: the same store, rules and bearer tokens as /api/v1", "url": base },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Read-only. Searches answer only what the caller may read and page with Bundle.link next; unknown parameters are refused (400) unless `Prefer: handling=lenient`; errors are OperationOutcome.",
            "security": {
                "service": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "OAuth" }] }],
                "description": "Authorization: Bearer <the access token of POST /api/v1/auth/login>"
            },
            "resource": resources,
            "searchParam": COMMON_PARAMS.iter().map(param).collect::<Vec<_>>(),
        }]
    })
}

/// `GET /fhir/R4/{type}/{id}`.
async fn read(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Result<Caller, ApiError>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (resource, id) = path.into_inner();
    let work = async {
        acceptable(&req)?;
        let caller = caller?;
        let read = served(&resource)?
            .read
            .ok_or_else(|| FhirError::NotSupported(format!("`{resource}` is searched, not read, here (see /fhir/R4/metadata)")))?;
        Ok(state.db_as(&caller, move |c, p| read(c, p, &id)).await?)
    };
    respond(work.await)
}

/// A search's parameters once checked against the table.
#[derive(Debug, Clone)]
pub struct Query {
    /// The known parameters and their values.
    params: BTreeMap<&'static str, String>,
    /// The page.
    page: PageRequest,
    /// `_revinclude=Provenance:target` was asked.
    revinclude: bool,
}

impl Query {
    fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// What a search found: its matches, what `_revinclude` brought, the next page.
#[derive(Debug, Default)]
struct Found {
    matches: Vec<Value>,
    included: Vec<Value>,
    next_cursor: Option<String>,
}

/// Checks the query string against the resource's parameters: an unknown one is 400 unless the
/// caller asked for lenient handling; a parameter given twice, a bad `_count` or `_cursor`,
/// a `_revinclude` the type does not offer are 400.
fn parse_query(raw: Vec<(String, String)>, served: &Served, params: &'static [SearchParam], lenient: bool) -> Result<Query, FhirError> {
    let mut known: BTreeMap<&'static str, String> = BTreeMap::new();
    let (mut count, mut cursor, mut revinclude) = (None, None, false);
    for (name, value) in raw {
        if name == "_format" {
            continue;
        }
        if name == "_revinclude" && !served.revinclude.is_empty() {
            if !served.revinclude.contains(&value.as_str()) {
                return Err(FhirError::InvalidParameter(format!("`_revinclude` may only be {}", served.revinclude.join(", "))));
            }
            revinclude = true;
            continue;
        }
        let Some(param) = params.iter().chain(COMMON_PARAMS).find(|p| p.name == name) else {
            if lenient {
                continue;
            }
            return Err(FhirError::UnknownParameter(name));
        };
        if known.insert(param.name, value).is_some() {
            return Err(FhirError::InvalidParameter(format!("`{name}` is given more than once")));
        }
    }
    if let Some(c) = known.remove("_count") {
        count = Some(
            c.parse::<i64>()
                .ok()
                .filter(|n| (1..=200).contains(n))
                .ok_or_else(|| FhirError::InvalidParameter("`_count` must be between 1 and 200".to_owned()))?,
        );
    }
    if let Some(c) = known.remove("_cursor") {
        cursor = Some(c);
    }
    let page = PageRequest::with_cursor(count.unwrap_or(50), cursor.as_deref())
        .ok_or_else(|| FhirError::InvalidParameter("`_cursor` was not issued by this search".to_owned()))?;
    Ok(Query { params: known, page, revinclude })
}

/// `GET /fhir/R4/{type}?…`: a searchset Bundle of one page, with `next` when more follow.
async fn search(state: web::Data<AppState>, req: HttpRequest, caller: Result<Caller, ApiError>, path: web::Path<String>) -> HttpResponse {
    let resource = path.into_inner();
    let base = base_url(&req);
    let work = async {
        acceptable(&req)?;
        let caller = caller?;
        let served = served(&resource)?;
        let (params, run) = served
            .search
            .ok_or_else(|| FhirError::NotSupported(format!("`{resource}` is read, not searched, here (see /fhir/R4/metadata)")))?;
        let raw = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map_err(|_| FhirError::InvalidParameter("the query string cannot be read".to_owned()))?
            .into_inner();
        let lenient = req
            .headers()
            .get_all("prefer")
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split([',', ';']).any(|p| p.trim().eq_ignore_ascii_case("handling=lenient")));
        // The parameters are judged once the caller's rights are read: a disabled account gets
        // 401 whatever it asks.
        let found = state
            .db_as(&caller, move |c, p| {
                Ok(match parse_query(raw, served, params, lenient) {
                    Ok(query) => run(c, p, &query).map(|found| Ok((query, found)))?,
                    Err(e) => Err(e),
                })
            })
            .await??;
        Ok(bundle(&base, served, found))
    };
    respond(work.await)
}

/// The searchset Bundle of a page.
fn bundle(base: &str, served: &Served, (query, found): (Query, Found)) -> Value {
    let entry = |resource: Value, mode: &str| {
        let full = match (resource["resourceType"].as_str(), resource["id"].as_str()) {
            (Some(t), Some(id)) => Some(format!("{base}/{t}/{id}")),
            _ => None,
        };
        let mut e = json!({ "resource": resource, "search": { "mode": mode } });
        if let Some(full) = full {
            e["fullUrl"] = Value::String(full);
        }
        e
    };
    let link = |cursor: Option<&str>| {
        let mut pairs: Vec<(String, String)> = query.params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        if query.revinclude {
            pairs.extend(served.revinclude.iter().map(|r| ("_revinclude".to_owned(), (*r).to_owned())));
        }
        pairs.push(("_count".to_owned(), query.page.limit.to_string()));
        if let Some(c) = cursor {
            pairs.push(("_cursor".to_owned(), c.to_owned()));
        }
        let qs = pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
        format!("{base}/{}?{qs}", served.resource)
    };
    let mut links = vec![json!({ "relation": "self", "url": link(None) })];
    if let Some(next) = &found.next_cursor {
        links.push(json!({ "relation": "next", "url": link(Some(next)) }));
    }
    let entries: Vec<Value> =
        found.matches.into_iter().map(|r| entry(r, "match")).chain(found.included.into_iter().map(|r| entry(r, "include"))).collect();
    json!({ "resourceType": "Bundle", "type": "searchset", "link": links, "entry": entries })
}

/// Percent-encodes a query component (RFC 3986 unreserved characters kept).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Any other method or path under [`BASE`]: 405 with `Allow: GET` on a path that exists, 404
/// otherwise, as `OperationOutcome`.
async fn unknown(req: HttpRequest) -> HttpResponse {
    let rest = req.path().strip_prefix(BASE).unwrap_or_default();
    let depth = rest.split('/').filter(|s| !s.is_empty()).count();
    let error = if (1..=2).contains(&depth) && req.method() != actix_web::http::Method::GET {
        FhirError::Api(ApiError::MethodNotAllowed { allow: "GET".to_owned() })
    } else {
        FhirError::NotSupported(format!("no FHIR interaction at {}", req.path()))
    };
    error.response()
}

fn too_broad(message: &str) -> StoreError {
    DomainError::Unprocessable { code: ErrorCode::SearchTooBroad, message: message.to_owned() }.into()
}

fn invalid(field: &'static str, message: &str) -> StoreError {
    DomainError::invalid(field, ErrorCode::InvalidQuery, message.to_owned()).into()
}

/// The id a reference parameter names: `Type/id`, an absolute URL ending so, or the id.
fn reference_id(value: &str, resource: &'static str) -> Result<String, StoreError> {
    let tail = value.rsplit_once(&format!("{resource}/")).map_or(value, |(_, id)| id);
    if tail.is_empty() || tail.contains('/') {
        return Err(invalid(resource, &format!("expected `{resource}/{{id}}` or an id")));
    }
    Ok(tail.to_owned())
}

/// A token parameter as `(system, value)`: `system|value`, `|value`, or `value` (any system).
fn token(value: &str) -> (Option<&str>, &str) {
    match value.split_once('|') {
        Some((system, v)) => (Some(system).filter(|s| !s.is_empty()), v),
        None => (None, value),
    }
}

fn read_patient(c: &mut DbConnection, p: &Principal, id: &str) -> Result<Value, StoreError> {
    Ok(fhir::patient(&patients::read(c, p, id)?))
}

fn search_patients(c: &mut DbConnection, p: &Principal, q: &Query) -> Result<Found, StoreError> {
    let ins = match q.get("identifier").map(token) {
        Some((Some(system), _)) if system != fhir::INS_SYSTEM => return Ok(Found::default()),
        Some((_, value)) => Some(value.to_owned()),
        None => None,
    };
    let birth_date = q
        .get("birthdate")
        .map(|d| chrono::NaiveDate::parse_from_str(d.strip_prefix("eq").unwrap_or(d), "%Y-%m-%d"))
        .transpose()
        .map_err(|_| invalid("birthdate", "a date YYYY-MM-DD (exact birth date)"))?;
    let query = patients::IdentityQuery { family_name: q.get("family").map(str::to_owned), birth_date, ins };
    let page = patients::search(c, p, &query, &q.page)?;
    Ok(Found { matches: page.items.iter().map(fhir::patient_identity).collect(), included: Vec::new(), next_cursor: page.next_cursor })
}

fn read_practitioner(c: &mut DbConnection, _: &Principal, id: &str) -> Result<Value, StoreError> {
    Ok(fhir::practitioner(&professionals::find(c, id)?))
}

fn search_practitioners(c: &mut DbConnection, _: &Principal, q: &Query) -> Result<Found, StoreError> {
    let rpps = match q.get("identifier").map(token) {
        Some((Some(fhir::RPPS_SYSTEM) | None, v)) => Some(v.to_owned()),
        Some((Some(fhir::IDNPS_SYSTEM), v)) => match v.strip_prefix('8') {
            Some(rpps) => Some(rpps.to_owned()),
            None => return Ok(Found::default()),
        },
        Some(_) => return Ok(Found::default()),
        None => None,
    };
    // The directory search takes a name prefix or an exact RPPS: an identifier that is not 11
    // digits matches nobody (rather than a name).
    if rpps.as_deref().is_some_and(|r| r.len() != 11 || !r.bytes().all(|b| b.is_ascii_digit())) {
        return Ok(Found::default());
    }
    if rpps.is_some() && q.get("name").is_some() {
        return Err(invalid("name", "give `identifier` or `name`, not both"));
    }
    let search = professionals::Search { q: rpps.or_else(|| q.get("name").map(str::to_owned)), ..Default::default() };
    let page = professionals::search(c, &search, &q.page)?;
    Ok(Found { matches: page.items.iter().map(fhir::practitioner).collect(), included: Vec::new(), next_cursor: page.next_cursor })
}

fn read_practitioner_role(c: &mut DbConnection, _: &Principal, id: &str) -> Result<Value, StoreError> {
    let (professional, center, kind) = fhir::parse_practitioner_role_id(id).ok_or(StoreError::NotFound("practitioner role"))?;
    professionals::profiles_of(c, &professional)?
        .into_iter()
        .find(|p| p.cancer_center_id == center && p.kind == kind)
        .map(|p| fhir::practitioner_role(&professional, &p))
        .ok_or(StoreError::NotFound("practitioner role"))
}

fn search_practitioner_roles(c: &mut DbConnection, _: &Principal, q: &Query) -> Result<Found, StoreError> {
    let professional = reference_id(q.get("practitioner").ok_or_else(|| too_broad("give `practitioner`"))?, "Practitioner")?;
    // A professional holds a profile per center and kind: a handful, on one page.
    let matches = professionals::profiles_of(c, &professional)?.iter().map(|p| fhir::practitioner_role(&professional, p)).collect();
    Ok(Found { matches, ..Found::default() })
}

fn read_care_team(c: &mut DbConnection, _: &Principal, id: &str) -> Result<Value, StoreError> {
    Ok(fhir::care_team(&rcps::detail(c, id)?))
}

fn read_encounter(c: &mut DbConnection, _: &Principal, id: &str) -> Result<Value, StoreError> {
    let session = sessions::find(c, id)?;
    let rcp = rcps::find(c, &session.rcp_id)?;
    Ok(fhir::encounter(&session, &rcp))
}

fn read_procedure(c: &mut DbConnection, p: &Principal, id: &str) -> Result<Value, StoreError> {
    let (dossier, _) = dossiers::read(c, p, id)?;
    Ok(fhir::procedure(&dossier))
}

fn read_document_reference(c: &mut DbConnection, p: &Principal, id: &str) -> Result<Value, StoreError> {
    let (dossier, report) = dossiers::read_with_report(c, p, id)?;
    Ok(fhir::document_reference(&dossier, &report))
}

/// A patient's dossiers the caller may read (the search of `GET /dossiers`, permission-filtered
/// in SQL and audited), with their reports, and with `_revinclude` their provenance.
fn search_dossiers(
    c: &mut DbConnection,
    p: &Principal,
    q: &Query,
    status: Option<DossierStatus>,
    resource: &str,
    map: fn(&Dossier, Option<&Report>) -> Option<Value>,
) -> Result<Found, StoreError> {
    let patient = match (q.get("patient"), q.get("subject")) {
        (Some(a), Some(b)) if a != b => return Err(invalid("subject", "`patient` and `subject` name different patients")),
        (Some(v), _) | (None, Some(v)) => reference_id(v, "Patient")?,
        (None, None) => return Err(too_broad(&format!("a {resource} search needs `patient` (or `subject`)"))),
    };
    let criteria = DossierSearch { patient_id: Some(patient.clone()), status, ..DossierSearch::default() };
    let page = dossier_search::search(c, p, &criteria, &q.page)?;
    let ids: Vec<String> = page.items.iter().map(|f| f.summary.id.clone()).collect();
    let rows = dossiers::with_reports(c, &ids)?;
    let matches = rows.iter().filter_map(|(d, r)| map(d, r.as_ref())).collect();
    let included = if q.revinclude {
        audit::provenance_events(c, &ids)?
            .iter()
            .filter(|e| fhir::provenance_targets(&e.action).contains(&resource))
            .map(fhir::provenance)
            .collect()
    } else {
        Vec::new()
    };
    Ok(Found { matches, included, next_cursor: page.next_cursor })
}

fn search_procedures(c: &mut DbConnection, p: &Principal, q: &Query) -> Result<Found, StoreError> {
    search_dossiers(c, p, q, None, "Procedure", |d, _| Some(fhir::procedure(d)))
}

fn search_document_references(c: &mut DbConnection, p: &Principal, q: &Query) -> Result<Found, StoreError> {
    search_dossiers(c, p, q, Some(DossierStatus::Validated), "DocumentReference", |d, r| r.map(|r| fhir::document_reference(d, r)))
}

fn read_provenance(c: &mut DbConnection, p: &Principal, id: &str) -> Result<Value, StoreError> {
    let event = audit::find_provenance_event(c, id)?.ok_or(StoreError::NotFound("provenance"))?;
    let dossier = event.resource_id.ok_or(StoreError::NotFound("provenance"))?;
    // Shown only to whoever reads its dossier, and audited as such a read.
    let (_, events) = dossiers::provenance(c, p, &dossier)?;
    events.iter().find(|e| e.id == id).map(fhir::provenance).ok_or(StoreError::NotFound("provenance"))
}

fn search_provenance(c: &mut DbConnection, p: &Principal, q: &Query) -> Result<Found, StoreError> {
    let target = q.get("target").ok_or_else(|| too_broad("a Provenance search needs `target`"))?;
    let (resource, dossier) = ["Procedure", "DocumentReference"]
        .into_iter()
        .find_map(|t| target.rsplit_once(&format!("{t}/")).map(|(_, id)| (t, id.to_owned())))
        .ok_or_else(|| invalid("target", "`Procedure/{id}` or `DocumentReference/{id}`"))?;
    // A dossier the caller may not read is absent from the searchset, as one that does not
    // exist (its refusal is audited).
    let events = match dossiers::provenance(c, p, &dossier) {
        Ok((_, events)) => events,
        Err(StoreError::NotFound(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    let matches = events.iter().filter(|e| fhir::provenance_targets(&e.action).contains(&resource)).map(fhir::provenance).collect();
    Ok(Found { matches, ..Found::default() })
}

fn search_audit_events(c: &mut DbConnection, p: &Principal, q: &Query) -> Result<Found, StoreError> {
    let centers = concerto_domain::rules::administered_centers(p, ErrorCode::CenterCoordinatorRequired)?;
    let filter = audit::AuditFilter {
        patient_id: q.get("patient").map(|v| reference_id(v, "Patient")).transpose()?,
        actor_id: q.get("agent").map(|v| reference_id(v, "Practitioner")).transpose()?,
        ..audit::AuditFilter::default()
    };
    let page = audit::list(c, &filter, centers.as_deref(), &q.page)?;
    Ok(Found { matches: page.items.iter().map(fhir::audit_event).collect(), included: Vec::new(), next_cursor: page.next_cursor })
}
