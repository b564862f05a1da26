//! The multicriteria dossier search ("recherches multicritères", `GET /dossiers`): only the
//! dossiers the caller may read, filtered in SQL by the rules of `concerto_domain::delegation`.

use concerto_domain::ErrorCode;
use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use concerto_domain::delegation::Grant;
use concerto_domain::dossier::DossierStatus;
use concerto_domain::patient::Ins;
use concerto_domain::principal::Principal;
use concerto_domain::{DomainError, text};
use diesel::prelude::*;

use crate::audit;
use crate::page::{cursor_time, parse_cursor_time};
use crate::reports_to_send::requesters;
use crate::schema::{dossiers, patient_correspondents, patients, rcp_members, rcp_sessions, rcps};
use crate::{DbConnection, Error, Page, PageRequest, db, scope};

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
    /// Only this patient (by id): the FHIR searches of a patient's reviews and reports.
    pub patient_id: Option<String>,
}

impl DossierSearch {
    fn is_empty(&self) -> bool {
        self.rcp_id.is_none()
            && self.session_from.is_none()
            && self.session_to.is_none()
            && self.status.is_none()
            && self.requester_id.is_none()
            && self.patient.is_none()
            && self.patient_id.is_none()
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

type FoundRow = (crate::dossiers::DossierSummary, String, NaiveDateTime);

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
        return Err(
            DomainError::Unprocessable { code: ErrorCode::SearchTooBroad, message: "give at least one criterion".to_owned() }.into()
        );
    }
    let patient = s.patient.as_deref().map(PatientCriterion::parse).transpose()?.flatten();
    let after = page.after.as_ref().map(|(at, id)| parse_cursor_time(at).map(|at| (at, id.clone()))).transpose()?;
    audit::audited_read_planned(conn, db::Plans::Switchable, p, "dossier.search", "dossier", |c, trail| {
        let scope = scope::load(c, p)?;
        let wide = scope.all_dossier_rcps().len() > WIDE_SCOPE_RCPS;
        // One patient's dossiers are few: the search starts from them.
        let narrow = s.patient_id.is_some()
            || match &patient {
                Some(PatientCriterion::Ins(_)) => true,
                Some(PatientCriterion::Prefix(key)) => patients_under_prefix(c, key, RARE_PREFIX_PATIENTS, !wide)? < RARE_PREFIX_PATIENTS,
                None => false,
            };
        let rows = if wide || narrow {
            search_from_criteria(c, p, &scope, s, patient.as_ref(), after.as_ref(), page.fetch())?
        } else {
            search_from_visible(c, p, &scope, s, patient.as_ref(), after.as_ref(), page.fetch())?
        };
        let page = Page::from_rows(rows, page, |(d, _, starts_at)| (cursor_time(*starts_at), d.id.clone()));
        trail.grant = search_grant(c, p, &scope, &page.items)?;
        Ok(page.map(|(summary, rcp_name, session_starts_at)| FoundDossier { summary, rcp_name, session_starts_at }))
    })
}

/// Beyond this many RCPs seen whole (about 6,700 dossiers each in a generated region of a
/// million), what the caller may see is no longer small next to a name prefix: the search walks
/// the name range instead, as it did before it could start from the visible dossiers.
const WIDE_SCOPE_RCPS: usize = 10;

/// Under this many patients, a name prefix is narrower than what any caller sees: the search
/// walks the name range. A secretary of five physicians sees a few thousand dossiers of a
/// region, and reading them all costs as much for a prefix of a few patients as for a common
/// one; a real family name's prefix usually matches a few dozen.
const RARE_PREFIX_PATIENTS: i64 = 100;

/// How many patients' family names start with `key`, counted up to `cap` on the name index.
///
/// With `keep_plans`, PostgreSQL keeps its generic plans for the rest of the transaction
/// (`set_config(…, true)`, a `SET LOCAL` sent in this round trip; see [`db::Plans::Kept`]; the
/// search's transaction is [`db::Plans::Switchable`] for it).
/// Both paths a caller who does not see many RCPs whole can take are planned alike whatever
/// the values: the visible walk, and the name range under a rare prefix. Re-planning the
/// visible walk on every call cost PostgreSQL as much as running it. A caller who sees many RCPs whole keeps PostgreSQL's choice: under a common prefix
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
            return Err(
                DomainError::invalid("patient", ErrorCode::SearchTooBroad, "at least two letters of the family name, or an INS").into()
            );
        }
        Ok(Some(Self::Prefix(key)))
    }
}

/// The search as one filtered join, the visibility an `OR` tested on every row the criteria
/// lead to: the planner picks the index (SQLite walks the name range, PostgreSQL the sessions
/// newest first, on a large region), so its cost is that of the criteria, not of what the caller sees.
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
    if let Some(id) = &s.patient_id {
        query = query.filter(dossiers::patient_id.eq(id.clone()));
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

/// The search led by what the caller may see, newest session first: one `UNION` arm per way of
/// seeing a dossier (`delegation::sees_dossier`), each walking an index already in the list's
/// order: `dossiers_rcp_start` for each RCP seen whole, `dossiers_requester_start` for her own
/// requests and for each physician of P(S) (tested there on the RCP's center, an RCP of her
/// secretary centers), `dossiers_treating_start` for the patients he treats (the dossier's copy
/// of its patient's treating physician). Each arm tests the criteria, the name prefix included,
/// on the dossier's copies (`patient_search_family`, `session_starts_at`) within its index,
/// before it reads any row. Only the correspondent arm starts from the patients (a physician
/// corresponds for few), and sorts what it finds.
///
/// The arms overlap (an animateur requests in his own RCP and treats those patients) and do
/// not exclude each other: `UNION` keeps one of each dossier. So every arm stops at a page of
/// matches whatever the region's size: SQLite merges the arms in order and reads each only as
/// far as the page; PostgreSQL, which appends arms rather than merging them, stops each at
/// `fetch` rows (the newest `fetch` of a union are among the newest `fetch` of each arm). An
/// arm that excluded what an earlier one gave walked, to find nothing, every dossier of twenty
/// years it excluded (an animateur's own requests, all in the RCP he sees whole), and the
/// treating arm read every patient he treats under the prefix, then sorted their dossiers
/// (issue 30, item 2). The page's RCPs, patients, sessions and statuses are read after the
/// limit, for the page only. Hand-written ([`crate::cached_sql`]): diesel's MultiConnection has
/// no UNION; one text per shape, each kept prepared.
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
    // The name prefix as a range of search keys, tested on the dossier's copy and, by the arm
    // that starts from the patients, on the patient too.
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
    // Each arm: the dossiers of one way of seeing them that meet the criteria, newest first.
    // SQLite merges the arms in the compound's order (`MERGE (UNION)`), each read only as far as
    // the page needs. PostgreSQL appends them, then sorts: each arm stops at `fetch` rows itself
    // (in a subquery: SQLite would take no `ORDER BY … LIMIT` in a compound's member).
    let bounded = !db::is_sqlite(c);
    let mut sql = String::from(
        "SELECT v.id, d.session_id, d.rcp_id, d.patient_id, pa.family_name, pa.given_name, pa.birth_date, d.requester_id, d.status, \
         r.name, v.session_starts_at FROM (",
    );
    let mut binds = Vec::new();
    // Without statistics SQLite prefers the patients' primary key to the covering index: named.
    let names = if db::is_sqlite(c) { " INDEXED BY patients_names" } else { "" };
    let mut arms = 0;
    let mut arm = |way: &str, way_binds: Vec<Bind>| {
        if arms > 0 {
            sql.push_str(" UNION ");
        }
        let select = format!("SELECT x.id, x.session_starts_at FROM {way}{criteria}");
        binds.extend(way_binds);
        binds.extend(criteria_binds.iter().cloned());
        if bounded {
            sql.push_str(&format!("SELECT * FROM ({select} ORDER BY x.session_starts_at DESC, x.id LIMIT ?) a{arms}"));
            binds.push(Bind::Int(fetch));
        } else {
            sql.push_str(&select);
        }
        arms += 1;
    };
    for rcp in scope.all_dossier_rcps() {
        arm("dossiers x WHERE x.rcp_id = ?", vec![Bind::Text(rcp)]);
    }
    arm("dossiers x WHERE x.requester_id = ?", vec![Bind::Text(me.clone())]);
    // The requests of P(S) count in the RCPs of her secretary centers only (P(S) is empty
    // without such a center); the RCP is in the index.
    if !centers.is_empty() {
        let in_centers =
            format!(" AND x.rcp_id IN (SELECT r.id FROM rcps r WHERE r.cancer_center_id IN ({}))", placeholders(centers.len()));
        for requester in &delegated {
            let mut way_binds = vec![Bind::Text(requester.clone())];
            way_binds.extend(centers.iter().cloned().map(Bind::Text));
            arm(&format!("dossiers x WHERE x.requester_id = ?{in_centers}"), way_binds);
        }
    }
    arm("dossiers x WHERE x.patient_treating_physician_id = ?", vec![Bind::Text(me.clone())]);
    // The correspondent arm tests the name on the patient before it reaches his dossiers.
    let by_name = if name_range.is_empty() { "" } else { " AND t.search_family >= ? AND t.search_family < ?" };
    arm(
        &format!(
            "patient_correspondents pc CROSS JOIN patients t{names} CROSS JOIN dossiers x WHERE pc.professional_id = ? \
             AND t.id = pc.patient_id{by_name} AND x.patient_id = pc.patient_id"
        ),
        [vec![Bind::Text(me)], name_range].concat(),
    );
    // `CROSS JOIN` keeps SQLite's join order: the page first.
    sql.push_str(&format!(
        " ORDER BY session_starts_at DESC, id LIMIT ?) v CROSS JOIN dossiers d CROSS JOIN rcps r CROSS JOIN patients pa{names} \
         WHERE d.id = v.id AND r.id = d.rcp_id AND pa.id = d.patient_id ORDER BY v.session_starts_at DESC, v.id"
    ));
    binds.push(Bind::Int(fetch));
    let query = binds
        .into_iter()
        .fold(CachedSql::<((Text, Text, Text, Text, Text, Text, Date, Text, Text), Text, Timestamp)>::new(sql), CachedSql::bind);
    Ok(query.load::<FoundRow>(c)?)
}

/// On whose behalf a secretary found these rows: the requesters of P(S), and the animateurs of
/// P(S) of the RCPs she sees whole through them.
fn search_grant(conn: &mut DbConnection, p: &Principal, scope: &scope::ClinicalScope, rows: &[FoundRow]) -> Result<Grant, Error> {
    if scope.physicians.is_empty() {
        return Ok(Grant::own());
    }
    let through_chairs: BTreeSet<&String> = rows
        .iter()
        .map(|(d, _, _)| &d.rcp_id)
        .filter(|rcp| scope.delegated_animateur_rcps.contains(rcp) && !scope.own_rcps.contains(rcp))
        .collect();
    let mut named: Vec<String> =
        rows.iter().map(|(d, _, _)| d.requester_id.clone()).filter(|r| *r != p.professional_id && scope.physicians.contains(r)).collect();
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
