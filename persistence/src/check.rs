//! `concerto check`: every record that code or triggers derive from other tables, recomputed
//! from its sources and compared with what is stored. Operators run it after an incident; the
//! race tests run it after every race.
//!
//! What it recomputes:
//! - the reports to send (`reports_to_send`): present exactly for the validated dossiers whose
//!   report has not reached some default recipient, with the dossier's requester and validation
//!   time (`reports_to_send::waiting`, the rule the writes use);
//! - a dossier's first sending (`dossiers.first_sent_at`): its earliest transmission;
//! - the copies the triggers keep: a dossier's session start (`session_starts_at`), its
//!   patient's search key (`patient_search_family`) and treating physician
//!   (`patient_treating_physician_id`);
//! - the search keys of patients, professionals and secretary groups, from their names;
//! - the search keys and words of the codes of the code lists, from their codes and labels;
//! - the projections of a dossier's fiche RCP (`dossier_fiches.tumour_site`, `conform`,
//!   `complete`, and its treatment types in `dossier_treatments`), from the fiche's JSON;
//! - the activity counters (`activity_counters`): every row, year of sessions by year, from the
//!   sessions, their quorum, their dossiers and their fiches' projections;
//! - the delegation history (`delegation_events`): replayed from the first event to now, every
//!   event must follow from the state before it (a grant of what was not held, a change or an
//!   end of what was, from the dates it had) and the state it ends in must be the live
//!   affiliations, group affiliations, group memberships and profiles.
//!
//! It reads in one snapshot (`REPEATABLE READ` on PostgreSQL, a read transaction on SQLite), so
//! a server writing meanwhile produces no false difference. Dossiers, patients and
//! professionals are read in pages, so its memory does not grow with the clinical data; the
//! delegation history and the live links (the size of the directory) are read whole.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDateTime;
use concerto_domain::affiliation::Validity;
use concerto_domain::dossier::DossierStatus;
use concerto_domain::text::search_key;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::schema::{
    delegation_events, dossier_fiches, dossier_treatments, dossiers, patients, physician_secretary_groups, professionals, profiles,
    reports_to_send, secretary_affiliations, secretary_group_members, secretary_groups,
};
use crate::{DbConnection, Error, db};

/// Dossiers read at a time.
const PAGE: i64 = 2_000;

/// One stored record that is not what its sources say.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    /// The derived record (`reports_to_send`, `delegation_events`, …).
    pub record: &'static str,
    /// Which one (ids).
    pub key: String,
    /// What differs: expected against found.
    pub detail: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.record, self.key, self.detail)
    }
}

/// Recomputes every derived record and answers the differences, sorted (none: all is exact).
pub fn run(conn: &mut DbConnection) -> Result<Vec<Difference>, Error> {
    db::read(conn, |c| {
        if let DbConnection::Postgresql(pg) = c {
            // One snapshot for every statement: a server writing meanwhile is seen before or
            // after its transactions, never half-way.
            diesel::connection::SimpleConnection::batch_execute(pg, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        }
        let mut out = Vec::new();
        reports_to_send(c, &mut out)?;
        copies(c, &mut out)?;
        search_keys(c, &mut out)?;
        fiches(c, &mut out)?;
        history(c, &mut out)?;
        activity(c, &mut out)?;
        out.sort();
        Ok(out)
    })
}

/// A validated dossier as the worklist reads it.
/// A dossier as the worklist check reads it.
#[derive(Queryable)]
struct DossierRow {
    id: String,
    #[diesel(deserialize_as = String)]
    status: DossierStatus,
    patient_id: String,
    requester_id: String,
    validated_at: Option<NaiveDateTime>,
    treating_physician_id: Option<String>,
}

/// The worklist, page by page of dossiers in id order.
fn reports_to_send(c: &mut DbConnection, out: &mut Vec<Difference>) -> Result<(), Error> {
    let mut after = String::new();
    loop {
        let page: Vec<DossierRow> = dossiers::table
            .inner_join(patients::table)
            .filter(dossiers::id.gt(&after))
            .select((
                dossiers::id,
                dossiers::status,
                dossiers::patient_id,
                dossiers::requester_id,
                dossiers::validated_at,
                patients::treating_physician_id,
            ))
            .order(dossiers::id)
            .limit(PAGE)
            .load(c)?;
        let Some(last) = page.last() else { return Ok(()) };
        after = last.id.clone();
        let ids: Vec<&String> = page.iter().map(|r| &r.id).collect();
        let stored: BTreeMap<String, (String, NaiveDateTime)> = reports_to_send::table
            .filter(reports_to_send::dossier_id.eq_any(&ids))
            .select((reports_to_send::dossier_id, reports_to_send::requester_id, reports_to_send::validated_at))
            .load::<(String, String, NaiveDateTime)>(c)?
            .into_iter()
            .map(|(d, r, v)| (d, (r, v)))
            .collect();
        let validated: Vec<(String, String, String, Option<String>)> = page
            .iter()
            .filter(|r| r.status == DossierStatus::Validated && r.validated_at.is_some())
            .map(|r| (r.id.clone(), r.patient_id.clone(), r.requester_id.clone(), r.treating_physician_id.clone()))
            .collect();
        let waiting = if validated.is_empty() { BTreeSet::new() } else { crate::reports_to_send::waiting(c, &validated)? };
        for DossierRow { id, status, requester_id: requester, validated_at, .. } in &page {
            let expected = waiting.contains(id).then(|| (requester.clone(), validated_at.unwrap_or_default()));
            let found = stored.get(id).cloned();
            if expected != found {
                let say = |row: &Option<(String, NaiveDateTime)>| match row {
                    Some((r, v)) => format!("listed (requester {r}, validated {v})"),
                    None => "not listed".to_owned(),
                };
                out.push(Difference {
                    record: "reports_to_send",
                    key: format!("dossier {id} ({})", status.as_str()),
                    detail: format!("expected {}, found {}", say(&expected), say(&found)),
                });
            }
        }
    }
}

#[derive(QueryableByName)]
struct Mismatch {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    detail: String,
}

/// The copies the triggers keep and the first sending, compared by the database itself (the
/// statements are standard SQL, the same on both stores).
fn copies(c: &mut DbConnection, out: &mut Vec<Difference>) -> Result<(), Error> {
    const CHECKS: [(&str, &str); 4] = [
        (
            "dossiers.session_starts_at",
            "SELECT d.id AS id, 'differs from its session''s start' AS detail FROM dossiers d \
             JOIN rcp_sessions s ON s.id = d.session_id \
             WHERE d.session_starts_at IS NULL OR d.session_starts_at <> s.starts_at",
        ),
        (
            "dossiers.patient_search_family",
            "SELECT d.id AS id, 'differs from its patient''s search key' AS detail FROM dossiers d \
             JOIN patients p ON p.id = d.patient_id WHERE d.patient_search_family <> p.search_family",
        ),
        (
            "dossiers.patient_treating_physician_id",
            "SELECT d.id AS id, 'differs from its patient''s treating physician' AS detail FROM dossiers d \
             JOIN patients p ON p.id = d.patient_id \
             WHERE COALESCE(d.patient_treating_physician_id, '') <> COALESCE(p.treating_physician_id, '')",
        ),
        (
            "dossiers.first_sent_at",
            "SELECT d.id AS id, 'differs from its earliest transmission' AS detail FROM dossiers d \
             LEFT JOIN (SELECT dossier_id, MIN(sent_at) AS first FROM report_transmissions GROUP BY dossier_id) t \
             ON t.dossier_id = d.id \
             WHERE (t.first IS NULL AND d.first_sent_at IS NOT NULL) \
             OR (t.first IS NOT NULL AND (d.first_sent_at IS NULL OR d.first_sent_at <> t.first))",
        ),
    ];
    for (record, sql) in CHECKS {
        for m in diesel::sql_query(sql).load::<Mismatch>(c)? {
            out.push(Difference { record, key: format!("dossier {}", m.id), detail: m.detail });
        }
    }
    Ok(())
}

/// A fiche's stored projections: tumour site, conformity, completeness.
type FicheRow = (String, String, Option<String>, Option<bool>, bool);

/// The projections of the fiches, recomputed from their JSON page by page, and the treatment
/// types of dossiers without a fiche (none should have any).
fn fiches(c: &mut DbConnection, out: &mut Vec<Difference>) -> Result<(), Error> {
    let mut after = String::new();
    loop {
        let page: Vec<FicheRow> = dossier_fiches::table
            .filter(dossier_fiches::dossier_id.gt(&after))
            .select((
                dossier_fiches::dossier_id,
                dossier_fiches::fiche,
                dossier_fiches::tumour_site,
                dossier_fiches::conform,
                dossier_fiches::complete,
            ))
            .order(dossier_fiches::dossier_id)
            .limit(PAGE)
            .load(c)?;
        let Some((last, ..)) = page.last() else { break };
        after = last.clone();
        let ids: Vec<&String> = page.iter().map(|(id, ..)| id).collect();
        let mut treatments: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (id, code) in dossier_treatments::table
            .filter(dossier_treatments::dossier_id.eq_any(&ids))
            .select((dossier_treatments::dossier_id, dossier_treatments::code))
            .load::<(String, String)>(c)?
        {
            treatments.entry(id).or_default().insert(code);
        }
        for (id, json, site, conform, complete) in &page {
            let key = format!("dossier {id}");
            let fiche: concerto_domain::fiche::Fiche = match serde_json::from_str(json) {
                Ok(f) => f,
                Err(e) => {
                    out.push(Difference { record: "dossier_fiches.fiche", key, detail: format!("does not read: {e}") });
                    continue;
                }
            };
            let expected =
                (fiche.tumour_site_category(), fiche.conform(), concerto_domain::fiche::missing_for_validation(&fiche).is_empty());
            let found = (site.clone(), *conform, *complete);
            if expected != found {
                out.push(Difference {
                    record: "dossier_fiches",
                    key: key.clone(),
                    detail: format!("expected (tumour_site, conform, complete) {expected:?}, found {found:?}"),
                });
            }
            let expected: BTreeSet<String> = fiche.treatment_types().into_iter().map(str::to_owned).collect();
            let found = treatments.remove(id).unwrap_or_default();
            if expected != found {
                out.push(Difference { record: "dossier_treatments", key, detail: format!("expected {expected:?}, found {found:?}") });
            }
        }
    }
    let orphans = dossier_treatments::table
        .left_join(dossier_fiches::table.on(dossier_fiches::dossier_id.eq(dossier_treatments::dossier_id)))
        .filter(dossier_fiches::dossier_id.nullable().is_null())
        .select(dossier_treatments::dossier_id)
        .distinct()
        .load::<String>(c)?;
    for id in orphans {
        out.push(Difference {
            record: "dossier_treatments",
            key: format!("dossier {id}"),
            detail: "treatment types without a fiche".to_owned(),
        });
    }
    Ok(())
}

/// Search keys written from names by the code.
fn search_keys(c: &mut DbConnection, out: &mut Vec<Difference>) -> Result<(), Error> {
    let mut after = String::new();
    loop {
        let page: Vec<(String, String, String, String, String)> = patients::table
            .filter(patients::id.gt(&after))
            .select((patients::id, patients::family_name, patients::given_name, patients::search_family, patients::search_given))
            .order(patients::id)
            .limit(PAGE)
            .load(c)?;
        let Some((last, ..)) = page.last() else { break };
        after = last.clone();
        for (id, family, given, search_family, search_given) in page {
            for (record, name, key) in
                [("patients.search_family", &family, &search_family), ("patients.search_given", &given, &search_given)]
            {
                if &search_key(name) != key {
                    out.push(Difference { record, key: format!("patient {id}"), detail: "differs from the name".into() });
                }
            }
        }
    }
    let mut after = String::new();
    loop {
        let page: Vec<(String, String, String, String, String)> = professionals::table
            .filter(professionals::id.gt(&after))
            .select((
                professionals::id,
                professionals::family_name,
                professionals::given_name,
                professionals::search_name,
                professionals::search_name_given_first,
            ))
            .order(professionals::id)
            .limit(PAGE)
            .load(c)?;
        let Some((last, ..)) = page.last() else { break };
        after = last.clone();
        for (id, family, given, name, given_first) in page {
            if search_key(&format!("{family} {given}")) != name || search_key(&format!("{given} {family}")) != given_first {
                out.push(Difference {
                    record: "professionals.search_name",
                    key: format!("professional {id}"),
                    detail: "differs from the names".into(),
                });
            }
        }
    }
    for (id, name, key) in secretary_groups::table
        .select((secretary_groups::id, secretary_groups::name, secretary_groups::search_name))
        .load::<(String, String, String)>(c)?
    {
        if search_key(&name) != key {
            out.push(Difference {
                record: "secretary_groups.search_name",
                key: format!("group {id}"),
                detail: "differs from the name".into(),
            });
        }
    }
    Ok(())
}

/// A link of the delegation graph, as the history names it.
type Link = (&'static str, String, String, String);

/// The delegation history replayed against the live links.
fn history(c: &mut DbConnection, out: &mut Vec<Difference>) -> Result<(), Error> {
    type EventRow = (
        String,
        NaiveDateTime,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        (Option<NaiveDateTime>, Option<NaiveDateTime>, Option<NaiveDateTime>, Option<NaiveDateTime>),
    );
    let events: Vec<EventRow> = delegation_events::table
        .select((
            delegation_events::id,
            delegation_events::at,
            delegation_events::kind,
            delegation_events::action,
            delegation_events::physician_id,
            delegation_events::secretary_id,
            delegation_events::group_id,
            delegation_events::cancer_center_id,
            delegation_events::profile_kind,
            (
                delegation_events::valid_from,
                delegation_events::valid_until,
                delegation_events::previous_valid_from,
                delegation_events::previous_valid_until,
            ),
        ))
        .order((delegation_events::at, delegation_events::id))
        .load(c)?;
    let mut held: BTreeMap<Link, Validity> = BTreeMap::new();
    let s = |v: Option<String>| v.unwrap_or_default();
    for (id, at, kind, action, physician, secretary, group, center, profile_kind, (from, until, prev_from, prev_until)) in events {
        let link: Link = match kind.as_str() {
            "affiliation" => ("affiliation", s(physician), s(secretary), String::new()),
            "group_affiliation" => ("group_affiliation", s(physician), s(group), String::new()),
            "group_membership" => ("group_membership", s(group), s(secretary), String::new()),
            _ => ("profile", s(secretary), s(center), s(profile_kind)),
        };
        let before = held.get(&link).copied();
        let lie = |what: String| Difference { record: "delegation_events", key: format!("event {id} at {at}"), detail: what };
        let previous = Validity { valid_from: prev_from, valid_until: prev_until };
        match (action.as_str(), before) {
            ("granted", None) | ("changed", Some(_)) | ("ended", Some(_)) => {}
            (action, None) => out.push(lie(format!("{action} {} that was not held", describe(&link)))),
            (action, Some(_)) => out.push(lie(format!("{action} {} that was already held", describe(&link)))),
        }
        if action != "granted" && before.is_some_and(|b| b != previous) {
            out.push(lie(format!("{action} {} from dates it did not have", describe(&link))));
        }
        if action == "ended" {
            held.remove(&link);
        } else {
            held.insert(link, Validity { valid_from: from, valid_until: until });
        }
    }
    let live = live_links(c)?;
    for (link, dates) in &live {
        match held.get(link) {
            None => out.push(Difference {
                record: "delegation_events",
                key: describe(link),
                detail: "exists, but the history does not hold it now".into(),
            }),
            Some(h) if h != dates => out.push(Difference {
                record: "delegation_events",
                key: describe(link),
                detail: format!("the history holds it with other dates ({h:?}, live {dates:?})"),
            }),
            Some(_) => {}
        }
    }
    for link in held.keys().filter(|l| !live.contains_key(*l)) {
        out.push(Difference {
            record: "delegation_events",
            key: describe(link),
            detail: "the history holds it now, but it does not exist".into(),
        });
    }
    Ok(())
}

/// The affiliations, group affiliations, group memberships and profiles that exist, with dates.
fn live_links(c: &mut DbConnection) -> Result<BTreeMap<Link, Validity>, Error> {
    let mut live = BTreeMap::new();
    let dated = |(a, b, valid_from, valid_until): (String, String, Option<NaiveDateTime>, Option<NaiveDateTime>)| {
        (a, b, Validity { valid_from, valid_until })
    };
    for (a, b, v) in secretary_affiliations::table
        .select((
            secretary_affiliations::physician_id,
            secretary_affiliations::secretary_id,
            secretary_affiliations::valid_from,
            secretary_affiliations::valid_until,
        ))
        .load(c)?
        .into_iter()
        .map(dated)
    {
        live.insert(("affiliation", a, b, String::new()), v);
    }
    for (a, b, v) in physician_secretary_groups::table
        .select((
            physician_secretary_groups::physician_id,
            physician_secretary_groups::group_id,
            physician_secretary_groups::valid_from,
            physician_secretary_groups::valid_until,
        ))
        .load(c)?
        .into_iter()
        .map(dated)
    {
        live.insert(("group_affiliation", a, b, String::new()), v);
    }
    for (g, s) in secretary_group_members::table
        .select((secretary_group_members::group_id, secretary_group_members::secretary_id))
        .load::<(String, String)>(c)?
    {
        live.insert(("group_membership", g, s, String::new()), Validity::default());
    }
    for (who, center, kind) in
        profiles::table
            .select((profiles::professional_id, profiles::cancer_center_id, profiles::kind))
            .load::<(String, String, String)>(c)?
    {
        live.insert(("profile", who, center, kind), Validity::default());
    }
    Ok(live)
}

fn describe((kind, a, b, k): &Link) -> String {
    match *kind {
        "affiliation" => format!("affiliation of secretary {b} to physician {a}"),
        "group_affiliation" => format!("affiliation of group {b} to physician {a}"),
        "group_membership" => format!("membership of secretary {b} in group {a}"),
        _ => format!("{k} profile of {a} on center {b}"),
    }
}

/// The activity counters, a year of sessions at a time, against their recomputation from the raw
/// rows (a row of zeros is no row).
fn activity(c: &mut DbConnection, out: &mut Vec<Difference>) -> Result<(), Error> {
    use crate::activity_counters::{self as counters, Counts};
    let years = counters::years(c)?;
    for key in counters::stored_outside(c, years)? {
        out.push(Difference {
            record: "activity_counters",
            key: format!("{} {} {} {}", key.scope, key.dim, key.period, key.k),
            detail: "counts outside the years of the sessions".to_owned(),
        });
    }
    let Some((first, last)) = years else { return Ok(()) };
    for year in first..=last {
        let expected = counters::recompute_year(c, year)?;
        let stored = counters::stored_year(c, year)?;
        let zero = Counts::default();
        let keys: BTreeSet<&counters::Key> = expected.keys().chain(stored.keys()).collect();
        for key in keys {
            let (e, s) = (expected.get(key).unwrap_or(&zero), stored.get(key).unwrap_or(&zero));
            if e != s {
                out.push(Difference {
                    record: "activity_counters",
                    key: format!("{} {} {} {}", key.scope, key.dim, key.period, key.k),
                    detail: format!("expected {e:?}, found {s:?}"),
                });
            }
        }
    }
    Ok(())
}
