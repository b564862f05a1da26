//! The secretary's day: the validated reports still to send ("Envoi des CR validés"), and the
//! multicriteria dossier search ("recherches multicritères"), both filtered in SQL by the rules
//! of `concerto_domain::delegation`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime};
use concerto_domain::delegation::Grant;
use concerto_domain::dossier::DossierStatus;
use concerto_domain::patient::Ins;
use concerto_domain::principal::Principal;
use concerto_domain::professional::display_name;
use concerto_domain::{DomainError, text};
use diesel::prelude::*;

use crate::audit;
use crate::page::{cursor_time, parse_cursor_time};
use crate::schema::{
    dossiers, patient_correspondents, patients, professionals, rcp_members, rcp_sessions, rcps, report_transmission_recipients,
    report_transmissions, reports_to_send,
};
use crate::{DbConnection, Error, Page, PageRequest, db, scope};

// The requester and the treating physician of a report to send, named with the page.
diesel::alias!(professionals as requester_names: RequesterNames, professionals as treating_names: TreatingNames);

/// Keeps the worklist row of one dossier in step: present while it is validated and some
/// default recipient has not received its report. Called in the transaction of every change
/// that can move it (validation, sending, a change of the patient's physicians).
pub(crate) fn refresh(conn: &mut DbConnection, dossier_id: &str) -> Result<(), Error> {
    let row = dossiers::table
        .inner_join(patients::table)
        .filter(dossiers::id.eq(dossier_id))
        .select((dossiers::status, dossiers::requester_id, dossiers::validated_at, patients::id, patients::treating_physician_id))
        .first::<(String, String, Option<NaiveDateTime>, String, Option<String>)>(conn)
        .optional()?;
    let pending = match &row {
        Some((status, requester, Some(_), patient, treating)) if status == DossierStatus::Validated.as_str() => {
            let of = [(dossier_id.to_owned(), patient.clone(), requester.clone(), treating.clone())];
            !waiting(conn, &of)?.is_empty()
        }
        _ => false,
    };
    let listed = reports_to_send::table.find(dossier_id).select(reports_to_send::dossier_id).first::<String>(conn).optional()?.is_some();
    match (pending, listed, row) {
        (true, false, Some((_, requester, Some(validated_at), _, _))) => {
            diesel::insert_into(reports_to_send::table)
                .values((
                    reports_to_send::dossier_id.eq(dossier_id),
                    reports_to_send::requester_id.eq(requester),
                    reports_to_send::validated_at.eq(validated_at),
                ))
                .execute(conn)?;
        }
        (false, true, _) => {
            diesel::delete(reports_to_send::table.find(dossier_id)).execute(conn)?;
        }
        _ => {}
    }
    Ok(())
}

/// Of these validated dossiers (`(dossier, patient, requester, treating physician)`), those
/// whose report has not reached some default recipient yet: the rule of the worklist, shared by
/// [`refresh`] and `concerto check`.
pub(crate) fn waiting(conn: &mut DbConnection, of: &[(String, String, String, Option<String>)]) -> Result<BTreeSet<String>, Error> {
    let keys: Vec<(String, String, Option<String>)> = of.iter().map(|(_, p, r, t)| (p.clone(), r.clone(), t.clone())).collect();
    let (defaults, _) = default_recipients(conn, &keys)?;
    let ids: Vec<String> = of.iter().map(|(d, _, _, _)| d.clone()).collect();
    let reached = reached(conn, &ids)?;
    Ok(of
        .iter()
        .filter(|(dossier, patient, requester, _)| {
            defaults
                .get(&(patient.clone(), requester.clone()))
                .into_iter()
                .flatten()
                .any(|(who, _)| !reached.contains(&(dossier.clone(), who.clone())))
        })
        .map(|(dossier, _, _, _)| dossier.clone())
        .collect())
}

/// [`refresh`] for every validated dossier of a patient whose physicians changed.
pub(crate) fn refresh_patient(conn: &mut DbConnection, patient_id: &str) -> Result<(), Error> {
    let validated: Vec<String> = dossiers::table
        .filter(dossiers::patient_id.eq(patient_id))
        .filter(dossiers::status.eq(DossierStatus::Validated.as_str()))
        .select(dossiers::id)
        .load(conn)?;
    for id in validated {
        refresh(conn, &id)?;
    }
    Ok(())
}

/// Why a professional is a default recipient of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecipientRole {
    /// The requesting physician.
    Requester,
    /// The patient's treating physician.
    Treating,
    /// One of the patient's correspondents.
    Correspondent,
}

impl RecipientRole {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requester => "requester",
            Self::Treating => "treating",
            Self::Correspondent => "correspondent",
        }
    }
}

/// `(patient, requester)` → the default recipients of the reports and why.
type Recipients = BTreeMap<(String, String), Vec<(String, RecipientRole)>>;

/// The default recipients of each patient's reports for a requester: `(patient, requester,
/// treating)` → the professionals and why, without duplicates (a requester who also treats is
/// named once, as requester); with the display names of the correspondents, read by the same
/// statement.
fn default_recipients(
    conn: &mut DbConnection,
    of: &[(String, String, Option<String>)],
) -> Result<(Recipients, BTreeMap<String, String>), Error> {
    let patient_ids: Vec<&String> = of.iter().map(|(p, _, _)| p).collect();
    let mut correspondents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut names = BTreeMap::new();
    for (patient, who, family, given) in patient_correspondents::table
        .inner_join(professionals::table.on(professionals::id.eq(patient_correspondents::professional_id)))
        .filter(patient_correspondents::patient_id.eq_any(patient_ids))
        .select((
            patient_correspondents::patient_id,
            patient_correspondents::professional_id,
            professionals::family_name,
            professionals::given_name,
        ))
        .order((patient_correspondents::patient_id, patient_correspondents::professional_id))
        .load::<(String, String, String, String)>(conn)?
    {
        names.insert(who.clone(), display_name(&family, &given));
        correspondents.entry(patient).or_default().push(who);
    }
    let mut out = BTreeMap::new();
    for (patient, requester, treating) in of {
        let mut list = vec![(requester.clone(), RecipientRole::Requester)];
        let mut add = |who: &String, role| {
            if !list.iter().any(|(w, _)| w == who) {
                list.push((who.clone(), role));
            }
        };
        if let Some(t) = treating {
            add(t, RecipientRole::Treating);
        }
        for c in correspondents.get(patient).into_iter().flatten() {
            add(c, RecipientRole::Correspondent);
        }
        out.insert((patient.clone(), requester.clone()), list);
    }
    Ok((out, names))
}

/// `(dossier, recipient)` pairs whose report was sent.
fn reached(conn: &mut DbConnection, dossier_ids: &[String]) -> Result<BTreeSet<(String, String)>, Error> {
    Ok(report_transmissions::table
        .inner_join(report_transmission_recipients::table)
        .filter(report_transmissions::dossier_id.eq_any(dossier_ids))
        .select((report_transmissions::dossier_id, report_transmission_recipients::recipient_id))
        .distinct()
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// A default recipient of a report and whether it reached him.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The professional.
    pub professional_id: String,
    /// "Given FAMILY".
    pub display_name: String,
    /// Why he receives it.
    pub role: RecipientRole,
    /// Whether a transmission already named him.
    pub reached: bool,
}

/// One validated report still to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportToSend {
    /// The dossier.
    pub dossier_id: String,
    /// The patient.
    pub patient_id: String,
    /// Family name.
    pub patient_family_name: String,
    /// Given name.
    pub patient_given_name: String,
    /// Birth date.
    pub patient_birth_date: NaiveDate,
    /// The requesting physician.
    pub requester_id: String,
    /// The RCP.
    pub rcp_id: String,
    /// Its name.
    pub rcp_name: String,
    /// The session.
    pub session_id: String,
    /// When the session started.
    pub session_starts_at: NaiveDateTime,
    /// When the dossier was validated.
    pub validated_at: NaiveDateTime,
    /// The default recipients, the requester first.
    pub recipients: Vec<Recipient>,
}

/// A page row, with the requester's and the treating physician's names (family, given).
type ToSendRow = (
    String,
    String,
    String,
    String,
    NaiveDate,
    String,
    String,
    String,
    String,
    NaiveDateTime,
    NaiveDateTime,
    Option<String>,
    (String, String),
    (Option<String>, Option<String>),
);

/// Whose reports the caller sends: its own requests, and for a secretary those of P(S) in the
/// RCPs of her secretary centers (`delegation::in_rcp_passages_tab`).
fn requesters(p: &Principal) -> (Vec<String>, Vec<String>) {
    let (physicians, centers) = p.delegation();
    let mut who = vec![p.professional_id.clone()];
    who.extend(physicians);
    (who, centers)
}

/// A page of the reports to send, with the requester's and the treating physician's names. Written
/// by hand and kept prepared (`CachedSql`), which saves the parse; PostgreSQL still plans each
/// call, its parameters making the generic plan look dearer than a custom one.
fn to_send_page(conn: &mut DbConnection, p: &Principal, page: &PageRequest) -> Result<Vec<ToSendRow>, Error> {
    use crate::cached_sql::{Bind, CachedSql, placeholders};
    use diesel::sql_types::{Date, Nullable, Text, Timestamp};
    let (who, centers) = requesters(p);
    // The page is chosen on the worklist, its dossiers and their RCPs alone; patients, sessions
    // and names are joined to the page after its limit. A subquery with a limit is planned on its
    // own: PostgreSQL, which plans each call of a statement with parameters afresh, spent 4 ms
    // planning the seven joins as one, 2 ms this way.
    let mut sql = format!(
        "SELECT d.id, pa.id, pa.family_name, pa.given_name, pa.birth_date, d.requester_id, r.id, r.name, s.id, s.starts_at, \
         w.validated_at, pa.treating_physician_id, q.family_name, q.given_name, t.family_name, t.given_name \
         FROM (SELECT w.dossier_id, w.validated_at FROM reports_to_send w JOIN dossiers d ON d.id = w.dossier_id \
         JOIN rcps r ON r.id = d.rcp_id WHERE w.requester_id IN ({})",
        placeholders(who.len())
    );
    let mut binds: Vec<Bind> = who.iter().cloned().map(Bind::Text).collect();
    // Its own requests anywhere; its physicians' on its secretary centers.
    if centers.is_empty() {
        sql.push_str(" AND w.requester_id = ?");
    } else {
        sql.push_str(&format!(" AND (w.requester_id = ? OR r.cancer_center_id IN ({}))", placeholders(centers.len())));
    }
    binds.push(Bind::Text(p.professional_id.clone()));
    binds.extend(centers.iter().cloned().map(Bind::Text));
    if let Some((at, id)) = &page.after {
        let at = parse_cursor_time(at)?;
        sql.push_str(" AND (w.validated_at > ? OR (w.validated_at = ? AND w.dossier_id > ?))");
        binds.extend([Bind::Time(at), Bind::Time(at), Bind::Text(id.clone())]);
    }
    sql.push_str(
        " ORDER BY w.validated_at, w.dossier_id LIMIT ?) w JOIN dossiers d ON d.id = w.dossier_id \
         JOIN patients pa ON pa.id = d.patient_id JOIN rcps r ON r.id = d.rcp_id JOIN rcp_sessions s ON s.id = d.session_id \
         JOIN professionals q ON q.id = d.requester_id LEFT JOIN professionals t ON t.id = pa.treating_physician_id \
         ORDER BY w.validated_at, w.dossier_id",
    );
    binds.push(Bind::Int(page.fetch()));
    type Columns = (
        Text,
        Text,
        Text,
        Text,
        Date,
        Text,
        Text,
        Text,
        Text,
        Timestamp,
        Timestamp,
        Nullable<Text>,
        (Text, Text),
        (Nullable<Text>, Nullable<Text>),
    );
    Ok(binds.into_iter().fold(CachedSql::<Columns>::new(sql), CachedSql::bind).load::<ToSendRow>(conn)?)
}

/// `GET /me/reports-to-send`: the validated dossiers the caller may see whose report has not
/// reached each default recipient, oldest validation first. One audit event.
pub fn reports_to_send(conn: &mut DbConnection, p: &Principal, page: &PageRequest) -> Result<Page<ReportToSend>, Error> {
    audit::audited_read_planned(conn, crate::db::Plans::Kept, p, "report.worklist", "report", |c, trail| {
        let rows = to_send_page(c, p, page)?;
        let page = Page::from_rows(rows, page, |r| (cursor_time(r.10), r.0.clone()));
        let ids: Vec<String> = page.items.iter().map(|r| r.0.clone()).collect();
        let of: Vec<(String, String, Option<String>)> = page.items.iter().map(|r| (r.1.clone(), r.5.clone(), r.11.clone())).collect();
        let (defaults, mut names) = default_recipients(c, &of)?;
        let reached = reached(c, &ids)?;
        for (_, _, _, _, _, requester, _, _, _, _, _, treating, (family, given), treating_name) in &page.items {
            names.insert(requester.clone(), display_name(family, given));
            if let (Some(treating), (Some(family), Some(given))) = (treating, treating_name) {
                names.insert(treating.clone(), display_name(family, given));
            }
        }
        trail.grant = delegated_requesters(p, page.items.iter().map(|r| &r.5));
        Ok(page.map(
            |(
                dossier_id,
                patient_id,
                family,
                given,
                birth,
                requester_id,
                rcp_id,
                rcp_name,
                session_id,
                starts_at,
                validated_at,
                _,
                _,
                _,
            )| {
                let recipients = defaults
                    .get(&(patient_id.clone(), requester_id.clone()))
                    .into_iter()
                    .flatten()
                    .map(|(who, role)| Recipient {
                        display_name: names.get(who).cloned().unwrap_or_else(|| who.clone()),
                        reached: reached.contains(&(dossier_id.clone(), who.clone())),
                        professional_id: who.clone(),
                        role: *role,
                    })
                    .collect();
                ReportToSend {
                    dossier_id,
                    patient_id,
                    patient_family_name: family,
                    patient_given_name: given,
                    patient_birth_date: birth,
                    requester_id,
                    rcp_id,
                    rcp_name,
                    session_id,
                    session_starts_at: starts_at,
                    validated_at,
                    recipients,
                }
            },
        ))
    })
}

/// The badge of the worklist: how many reports wait (no patient data: not audited).
pub fn reports_to_send_count(conn: &mut DbConnection, p: &Principal) -> Result<i64, Error> {
    let (who, centers) = requesters(p);
    Ok(reports_to_send::table
        .inner_join(dossiers::table.inner_join(rcps::table))
        .filter(reports_to_send::requester_id.eq_any(&who))
        .filter(reports_to_send::requester_id.eq(&p.professional_id).or(rcps::cancer_center_id.eq_any(&centers)))
        .count()
        .get_result(conn)?)
}

/// The physicians of P(S) among these requesters: on whose behalf a secretary read.
fn delegated_requesters<'a>(p: &Principal, requesters: impl Iterator<Item = &'a String>) -> Grant {
    let ps = p.represented_physicians();
    Grant::delegated(requesters.filter(|r| **r != p.professional_id && ps.contains(r)).cloned())
}

/// The criteria of `GET /dossiers`.
#[derive(Debug, Clone, Default)]
pub struct DossierSearch {
    /// Only this RCP.
    pub rcp_id: Option<String>,
    /// Sessions from this instant (inclusive).
    pub session_from: Option<NaiveDateTime>,
    /// Sessions before this instant (exclusive).
    pub session_to: Option<NaiveDateTime>,
    /// Only this status.
    pub status: Option<DossierStatus>,
    /// Only this requester.
    pub requester_id: Option<String>,
    /// A patient's family-name prefix (accent-insensitive) or an exact INS.
    pub patient: Option<String>,
}

impl DossierSearch {
    fn is_empty(&self) -> bool {
        self.rcp_id.is_none()
            && self.session_from.is_none()
            && self.session_to.is_none()
            && self.status.is_none()
            && self.requester_id.is_none()
            && self.patient.is_none()
    }
}

/// A dossier found, with what a list shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDossier {
    /// The dossier's summary.
    pub summary: crate::dossiers::DossierSummary,
    /// Its RCP's name.
    pub rcp_name: String,
    /// When its session starts.
    pub session_starts_at: NaiveDateTime,
}

type FoundRow = (crate::dossiers::SummaryRow, String, NaiveDateTime);

/// `GET /dossiers?…`: the dossiers the caller may read (`delegation::sees_dossier`: those of
/// the agenda, of the `rcp_passages` tab, and a physician's treating and correspondent tabs)
/// that match every criterion, newest session first. At least one criterion
/// (`search_too_broad`): nobody browses the region. One audit event.
///
/// Two plans for one answer. Most callers may see a few thousand dossiers of a region of a
/// million, while a common name prefix matches a hundred thousand patients: the search then
/// starts from what the caller may see ([`search_from_visible`]). A caller who sees many RCPs
/// whole, a search by INS (one patient) or by a prefix of fewer than
/// [`RARE_PREFIX_PATIENTS`] patients (counted first, on the name index) starts from the
/// criteria ([`search_from_criteria`]).
pub fn search(conn: &mut DbConnection, p: &Principal, s: &DossierSearch, page: &PageRequest) -> Result<Page<FoundDossier>, Error> {
    if s.is_empty() {
        return Err(DomainError::Unprocessable { code: "search_too_broad", message: "give at least one criterion".to_owned() }.into());
    }
    let patient = s.patient.as_deref().map(PatientCriterion::parse).transpose()?.flatten();
    let after = page.after.as_ref().map(|(at, id)| parse_cursor_time(at).map(|at| (at, id.clone()))).transpose()?;
    audit::audited_read_planned(conn, db::Plans::Switchable, p, "dossier.search", "dossier", |c, trail| {
        let scope = scope::load(c, p)?;
        let wide = scope.all_dossier_rcps().len() > WIDE_SCOPE_RCPS;
        let narrow = match &patient {
            Some(PatientCriterion::Ins(_)) => true,
            Some(PatientCriterion::Prefix(key)) => patients_under_prefix(c, key, RARE_PREFIX_PATIENTS, !wide)? < RARE_PREFIX_PATIENTS,
            None => false,
        };
        let rows = if wide || narrow {
            search_from_criteria(c, p, &scope, s, patient.as_ref(), after.as_ref(), page.fetch())?
        } else {
            search_from_visible(c, p, &scope, s, patient.as_ref(), after.as_ref(), page.fetch())?
        };
        let page = Page::from_rows(rows, page, |r| (cursor_time(r.2), r.0.0.clone()));
        trail.grant = search_grant(c, p, &scope, &page.items)?;
        Ok(page.map(|(row, rcp_name, session_starts_at)| FoundDossier {
            summary: crate::dossiers::summary(row),
            rcp_name,
            session_starts_at,
        }))
    })
}

/// Beyond this many RCPs seen whole (about 6,700 dossiers each in a generated region of a
/// million), what the caller may see is no longer small next to a name prefix: the search walks
/// the name range instead, as it did before it could start from the visible dossiers.
const WIDE_SCOPE_RCPS: usize = 10;

/// Under this many patients, a name prefix is narrower than what any caller sees: the search
/// walks the name range. A secretary of five physicians sees a few thousand dossiers of a
/// region of a million, and reading them all cost the same 16 ms for a prefix of 11 patients as
/// for one of 111,112 (#11); a real family name's prefix usually matches a few dozen.
const RARE_PREFIX_PATIENTS: i64 = 100;

/// How many patients' family names start with `key`, counted up to `cap` on the name index.
///
/// With `keep_plans`, PostgreSQL keeps its generic plans for the rest of the transaction
/// (`set_config(…, true)`, a `SET LOCAL` sent in this round trip; see [`db::Plans::Kept`]; the
/// search's transaction is [`db::Plans::Switchable`] for it).
/// Both paths a caller who does not see many RCPs whole can take are planned alike whatever
/// the values: the visible walk, and the name range under a rare prefix. Re-planning the
/// visible walk on every call cost PostgreSQL 1.3-1.7 ms, as much as running it, at 1M dossiers
/// (#11). A caller who sees many RCPs whole keeps PostgreSQL's choice: under a common prefix
/// his search is best led by the sessions, which only a plan that knows the prefix sees.
fn patients_under_prefix(c: &mut DbConnection, key: &str, cap: i64, keep_plans: bool) -> Result<i64, Error> {
    use crate::cached_sql::{Bind, CachedSql};
    use diesel::sql_types::{BigInt, Text};
    let upper = crate::professionals::prefix_upper_bound(key);
    if keep_plans && !db::is_sqlite(c) {
        let (count, _) = CachedSql::<(BigInt, Text)>::new(
            "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM patients WHERE search_family >= ? AND search_family < ? LIMIT ?) s), \
             set_config('plan_cache_mode', 'force_generic_plan', true)"
                .to_owned(),
        )
        .bind(Bind::Text(key.to_owned()))
        .bind(Bind::Text(upper))
        .bind(Bind::Int(cap))
        .get_result::<(i64, String)>(c)?;
        return Ok(count);
    }
    let ids = patients::table
        .filter(patients::search_family.ge(key).and(patients::search_family.lt(upper)))
        .select(patients::id)
        .limit(cap)
        .load::<String>(c)?;
    Ok(i64::try_from(ids.len()).unwrap_or(cap))
}

/// The `patient` criterion: an exact INS, or a prefix of the family name's search key.
#[derive(Debug, Clone)]
enum PatientCriterion {
    Ins(String),
    Prefix(String),
}

impl PatientCriterion {
    fn parse(patient: &str) -> Result<Option<Self>, Error> {
        let patient = patient.trim();
        if patient.is_empty() {
            return Ok(None);
        }
        if let Ok(ins) = Ins::parse(patient) {
            return Ok(Some(Self::Ins(ins.as_str().to_owned())));
        }
        let key = text::search_key(patient);
        if key.chars().count() < 2 {
            return Err(DomainError::invalid("patient", "search_too_broad", "at least two letters of the family name, or an INS").into());
        }
        Ok(Some(Self::Prefix(key)))
    }
}

/// The search as one filtered join, the visibility an `OR` tested on every row the criteria
/// lead to: the planner picks the index (at 1M, SQLite walks the name range, PostgreSQL the
/// sessions newest first), so its cost is that of the criteria, not of what the caller sees.
fn search_from_criteria(
    c: &mut DbConnection,
    p: &Principal,
    scope: &scope::ClinicalScope,
    s: &DossierSearch,
    patient: Option<&PatientCriterion>,
    after: Option<&(NaiveDateTime, String)>,
    fetch: i64,
) -> Result<Vec<FoundRow>, Error> {
    let me = p.professional_id.clone();
    let (who, centers) = requesters(p);
    let corresponded = patient_correspondents::table
        .filter(patient_correspondents::professional_id.eq(me.clone()))
        .select(patient_correspondents::patient_id);
    // Visibility, in SQL, with the meaning of `delegation::sees_dossier`.
    let visible = dossiers::rcp_id
        .eq_any(scope.all_dossier_rcps())
        .or(dossiers::requester_id.eq(me.clone()))
        .or(dossiers::requester_id.eq_any(who).and(rcps::cancer_center_id.eq_any(centers)))
        .or(patients::treating_physician_id.eq(me.clone()))
        .or(dossiers::patient_id.eq_any(corresponded));
    let mut query = dossiers::table
        .inner_join(patients::table)
        .inner_join(rcps::table)
        .inner_join(rcp_sessions::table)
        .filter(visible)
        .select((crate::dossiers::SUMMARY_COLUMNS, rcps::name, rcp_sessions::starts_at))
        .into_boxed();
    if let Some(rcp) = &s.rcp_id {
        query = query.filter(dossiers::rcp_id.eq(rcp.clone()));
    }
    if let Some(from) = s.session_from {
        query = query.filter(rcp_sessions::starts_at.ge(from));
    }
    if let Some(to) = s.session_to {
        query = query.filter(rcp_sessions::starts_at.lt(to));
    }
    if let Some(status) = s.status {
        query = query.filter(dossiers::status.eq(status.as_str()));
    }
    if let Some(requester) = &s.requester_id {
        query = query.filter(dossiers::requester_id.eq(requester.clone()));
    }
    match patient {
        Some(PatientCriterion::Ins(ins)) => query = query.filter(patients::ins.eq(ins.clone())),
        Some(PatientCriterion::Prefix(key)) => {
            let upper = crate::professionals::prefix_upper_bound(key);
            query = query.filter(patients::search_family.ge(key.clone()).and(patients::search_family.lt(upper)));
        }
        None => {}
    }
    if let Some((at, id)) = after {
        query = query.filter(rcp_sessions::starts_at.lt(*at).or(rcp_sessions::starts_at.eq(*at).and(dossiers::id.gt(id.clone()))));
    }
    Ok(query.order((rcp_sessions::starts_at.desc(), dossiers::id)).limit(fetch).load::<FoundRow>(c)?)
}

/// The search led by what the caller may see, newest session first: one `UNION ALL` arm per
/// way of seeing a dossier (`delegation::sees_dossier`), each walking an index already in the
/// list's order (`dossiers_rcp_start` for each RCP seen whole, `dossiers_requester_start` for her
/// own requests and for each physician of P(S)); the treating and correspondent arms (a
/// physician's patients) start from the patients. Each arm tests the name prefix on the
/// dossier's copy of its patient's search key (`dossiers.patient_search_family`, kept by the
/// database); the matches' RCPs are then tested (the center of a request of P(S)), and the
/// page's patients, sessions and statuses are read after the limit, for the page only.
///
/// SQLite pushes those joins into each arm and merges the arms in order (`MERGE (UNION ALL)`),
/// stopping at the page: a common name prefix reads about a page's worth of matches, not all she
/// sees (#11). PostgreSQL cannot merge arms that have a `WHERE` (an appendrel member has no
/// place for quals); it walks what she sees on the arms' indexes alone (index-only scans), which
/// the per-requester indexes keep to her own, and reads the patients of the matches only.
///
/// Each arm excludes what an earlier arm already gave, so no dossier comes twice: on the dossier
/// itself in the arm (the correspondent arm also on its patient's treating physician), on its
/// RCP's center after the join. Hand-written
/// ([`crate::cached_sql`]): diesel's MultiConnection has no UNION; one text per shape, each kept
/// prepared.
fn search_from_visible(
    c: &mut DbConnection,
    p: &Principal,
    scope: &scope::ClinicalScope,
    s: &DossierSearch,
    patient: Option<&PatientCriterion>,
    after: Option<&(NaiveDateTime, String)>,
    fetch: i64,
) -> Result<Vec<FoundRow>, Error> {
    use crate::cached_sql::{Bind, CachedSql, placeholders};
    use diesel::sql_types::{Date, Text, Timestamp};
    let me = p.professional_id.clone();
    let (who, centers) = requesters(p);
    let delegated: Vec<String> = who.into_iter().filter(|id| *id != me).collect();
    // What every arm asks of the dossier itself, including its session's start.
    let mut criteria = String::new();
    let mut criteria_binds = Vec::new();
    if let Some(rcp) = &s.rcp_id {
        criteria.push_str(" AND x.rcp_id = ?");
        criteria_binds.push(Bind::Text(rcp.clone()));
    }
    if let Some(status) = s.status {
        criteria.push_str(" AND x.status = ?");
        criteria_binds.push(Bind::Text(status.as_str().to_owned()));
    }
    if let Some(requester) = &s.requester_id {
        criteria.push_str(" AND x.requester_id = ?");
        criteria_binds.push(Bind::Text(requester.clone()));
    }
    if let Some(from) = s.session_from {
        criteria.push_str(" AND x.session_starts_at >= ?");
        criteria_binds.push(Bind::Time(from));
    }
    if let Some(to) = s.session_to {
        criteria.push_str(" AND x.session_starts_at < ?");
        criteria_binds.push(Bind::Time(to));
    }
    // The name prefix as a range of search keys, tested on the dossier and, by the arms that
    // start from the patients, on the patient too.
    let name_range = match patient {
        Some(PatientCriterion::Prefix(key)) => vec![Bind::Text(key.clone()), Bind::Text(crate::professionals::prefix_upper_bound(key))],
        _ => Vec::new(),
    };
    if !name_range.is_empty() {
        criteria.push_str(" AND x.patient_search_family >= ? AND x.patient_search_family < ?");
        criteria_binds.extend(name_range.iter().cloned());
    }
    if let Some((at, id)) = after {
        criteria.push_str(" AND (x.session_starts_at < ? OR (x.session_starts_at = ? AND x.id > ?))");
        criteria_binds.extend([Bind::Time(*at), Bind::Time(*at), Bind::Text(id.clone())]);
    }
    // The arms: (its SQL, its binds). `seen`: what the earlier arms gave, on the dossier alone.
    let mut arms: Vec<(String, Vec<Bind>)> = Vec::new();
    let (mut seen, mut seen_binds) = (String::new(), Vec::<Bind>::new());
    let mut arm = |way: &str, way_binds: Vec<Bind>, seen: &str, seen_binds: &[Bind]| {
        let number = arms.len();
        let mut binds = way_binds;
        binds.extend(seen_binds.iter().cloned());
        binds.extend(criteria_binds.iter().cloned());
        arms.push((
            format!("SELECT x.id, x.rcp_id, x.patient_id, x.requester_id, x.session_starts_at, {number} AS arm FROM {way}{seen}{criteria}"),
            binds,
        ));
        number
    };
    let whole = scope.all_dossier_rcps();
    for rcp in &whole {
        arm("dossiers x WHERE x.rcp_id = ?", vec![Bind::Text(rcp.clone())], &seen, &seen_binds);
    }
    if !whole.is_empty() {
        seen.push_str(&format!(" AND x.rcp_id NOT IN ({})", placeholders(whole.len())));
        seen_binds.extend(whole.iter().cloned().map(Bind::Text));
    }
    let own = arm("dossiers x WHERE x.requester_id = ?", vec![Bind::Text(me.clone())], &seen, &seen_binds);
    seen.push_str(" AND x.requester_id <> ?");
    seen_binds.push(Bind::Text(me.clone()));
    // The requests of P(S) count in the RCPs of her secretary centers only (P(S) is empty
    // without such a center): tested after the join, in these arms, and excluded from the later
    // ones.
    let mut of_delegated = None;
    if !delegated.is_empty() {
        let numbers: Vec<usize> = delegated
            .iter()
            .map(|requester| arm("dossiers x WHERE x.requester_id = ?", vec![Bind::Text(requester.clone())], &seen, &seen_binds))
            .collect();
        of_delegated = numbers.first().zip(numbers.last()).map(|(first, last)| (*first, last + 1));
    }
    // The arms from the patients test the name on the patient too, before they reach his
    // dossiers: a physician treats thousands of patients over the years, and probing the
    // dossiers of each was most of an animateur's search at 1M (12 of 14 ms for `dr0`).
    let by_name = if name_range.is_empty() { "" } else { " AND t.search_family >= ? AND t.search_family < ?" };
    let treating = arm(
        &format!("patients t CROSS JOIN dossiers x WHERE t.treating_physician_id = ?{by_name} AND x.patient_id = t.id"),
        [vec![Bind::Text(me.clone())], name_range.clone()].concat(),
        &seen,
        &seen_binds,
    );
    // The patients he treats came with the treating arm.
    arm(
        &format!(
            "patient_correspondents pc CROSS JOIN patients t CROSS JOIN dossiers x WHERE pc.professional_id = ? AND t.id = pc.patient_id \
             AND COALESCE(t.treating_physician_id, '') <> ?{by_name} AND x.patient_id = pc.patient_id"
        ),
        [vec![Bind::Text(me.clone()), Bind::Text(me.clone())], name_range].concat(),
        &seen,
        &seen_binds,
    );
    // The page is chosen on the arms' indexes and the RCPs alone; its patients, sessions and
    // statuses are read after the limit, for the page only.
    let mut sql = String::from(
        "SELECT v.id, d.session_id, v.rcp_id, v.patient_id, pa.family_name, pa.given_name, pa.birth_date, v.requester_id, d.status, \
         v.rcp_name, v.session_starts_at FROM (SELECT u.id, u.rcp_id, u.patient_id, u.requester_id, r.name AS rcp_name, \
         u.session_starts_at FROM (",
    );
    let mut binds = Vec::new();
    // SQLite merges the arms in the order of the outer `ORDER BY` and stops at the page.
    // PostgreSQL appends them, then sorts: each arm whose rows the outer test below never
    // drops (the RCPs seen whole, his own requests) stops at a page itself, on its index. An
    // animateur's RCP at 1M went from 9,500 entries read to a few hundred (#11, eighth round).
    let sqlite = db::is_sqlite(c);
    let stops_alone = if sqlite { 0 } else { own + 1 };
    for (i, (arm, arm_binds)) in arms.into_iter().enumerate() {
        if i > 0 {
            sql.push_str(" UNION ALL ");
        }
        if i < stops_alone {
            sql.push_str(&format!("SELECT * FROM ({arm} ORDER BY x.session_starts_at DESC, x.id LIMIT ?) a{i}"));
            binds.extend(arm_binds);
            binds.push(Bind::Int(fetch));
        } else {
            sql.push_str(&arm);
            binds.extend(arm_binds);
        }
    }
    // `CROSS JOIN` keeps SQLite's join order: the dossiers first.
    sql.push_str(") u CROSS JOIN rcps r WHERE r.id = u.rcp_id");
    if let Some((first, end)) = of_delegated {
        let in_centers = format!("r.cancer_center_id IN ({})", placeholders(centers.len()));
        sql.push_str(&format!(
            " AND (u.arm < ? OR u.arm >= ? OR {in_centers}) AND NOT (u.arm >= ? AND u.requester_id IN ({}) AND {in_centers})",
            placeholders(delegated.len())
        ));
        binds.extend([first, end].map(|n| Bind::Int(n as i64)));
        binds.extend(centers.iter().cloned().map(Bind::Text));
        binds.push(Bind::Int(treating as i64));
        binds.extend(delegated.iter().chain(&centers).cloned().map(Bind::Text));
    }
    // Without statistics SQLite prefers the patients' primary key to the covering index: named.
    let names = if sqlite { " INDEXED BY patients_names" } else { "" };
    sql.push_str(&format!(
        " ORDER BY u.session_starts_at DESC, u.id LIMIT ?) v CROSS JOIN patients pa{names} CROSS JOIN dossiers d \
         WHERE pa.id = v.patient_id AND d.id = v.id ORDER BY v.session_starts_at DESC, v.id"
    ));
    binds.push(Bind::Int(fetch));
    let query = binds
        .into_iter()
        .fold(CachedSql::<(Text, Text, Text, Text, Text, Text, Date, Text, Text, Text, Timestamp)>::new(sql), CachedSql::bind);
    type Row = (String, String, String, String, String, String, NaiveDate, String, String, String, NaiveDateTime);
    Ok(query
        .load::<Row>(c)?
        .into_iter()
        .map(|(id, session_id, rcp_id, patient_id, family, given, birth, requester_id, status, rcp_name, starts_at)| {
            ((id, session_id, rcp_id, patient_id, family, given, birth, requester_id, status), rcp_name, starts_at)
        })
        .collect())
}

/// On whose behalf a secretary found these rows: the requesters of P(S), and the animateurs of
/// P(S) of the RCPs she sees whole through them.
fn search_grant(conn: &mut DbConnection, p: &Principal, scope: &scope::ClinicalScope, rows: &[FoundRow]) -> Result<Grant, Error> {
    if scope.physicians.is_empty() {
        return Ok(Grant::own());
    }
    let through_chairs: BTreeSet<&String> =
        rows.iter().map(|r| &r.0.2).filter(|rcp| scope.delegated_animateur_rcps.contains(rcp) && !scope.own_rcps.contains(rcp)).collect();
    let mut named: Vec<String> =
        rows.iter().map(|r| r.0.7.clone()).filter(|r| *r != p.professional_id && scope.physicians.contains(r)).collect();
    if !through_chairs.is_empty() {
        named.extend(
            rcp_members::table
                .filter(rcp_members::rcp_id.eq_any(through_chairs))
                .filter(rcp_members::role.eq(concerto_domain::rcp::MemberRole::Animateur.as_str()))
                .filter(rcp_members::professional_id.eq_any(&scope.physicians))
                .select(rcp_members::professional_id)
                .load::<String>(conn)?,
        );
    }
    Ok(Grant::delegated(named))
}
