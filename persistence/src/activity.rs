//! The activity report a coordinator hands in: sessions held, dossiers by fate, reports sent,
//! delays and the share of sessions that reached their quorum, broken down by RCP, month,
//! requester, specialty, tumour site or proposal type. Read from the activity counters
//! (`activity_counters`), never from the dossiers: over whole months, each key's figures are the
//! sum of a few counter rows (a year's row, minus the months of it the period leaves out, plus
//! the months of partial years), whatever the period's length. No patient identity is read.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDateTime, Timelike};
use concerto_domain::principal::Principal;
use concerto_domain::rules::{self, ActivityRcp, ActivityScope};
use concerto_domain::suppression::{self, Cell};
use concerto_domain::{DomainError, ErrorCode};
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::activity_counters::{self as counters, Counts, Histogram};
use crate::schema::{
    dossier_fiches, dossier_treatments, dossiers, professional_specialties, professionals, rcp_managers, rcp_sessions, rcps,
    terminology_codes,
};
use crate::{DbConnection, Error, db, rcps as boards};

/// How the report's rows are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakdown {
    /// One row per RCP.
    Rcp,
    /// One row per calendar month of the session dates (UTC).
    Month,
    /// One row per requesting physician (small numbers suppressed for others).
    Requester,
    /// One row per requester's specialty (`unknown` when not set).
    Specialty,
    /// One row per tumour site of the fiche, its CIM-10 category (`unknown` when not given).
    TumourSite,
    /// One row per treatment type of the fiche's proposal (`none` when it has none): a dossier
    /// with several types counts in each of their rows, so the rows overlap.
    ProposalType,
}

/// What `GET /reports/activity` asks.
#[derive(Debug, Clone)]
pub struct ActivityQuery {
    /// Only the RCPs of this center.
    pub cancer_center_id: Option<String>,
    /// Only this RCP.
    pub rcp_id: Option<String>,
    /// Sessions starting from (inclusive): the first instant of a month.
    pub from: NaiveDateTime,
    /// Sessions starting before (exclusive): the first instant of a month.
    pub to: NaiveDateTime,
    /// The breakdown.
    pub by: Breakdown,
}

/// Median and 90th percentile (nearest rank) of a delay, in hours.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Delay {
    /// Median.
    pub median: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
}

/// One row of the report. When `suppressed`, every figure is `None`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActivityRow {
    /// The RCP id, the month (`YYYY-MM`), the requester id or the specialty.
    pub key: String,
    /// What a person reads: the RCP's name, the month, the requester's name, the specialty.
    pub label: String,
    /// Sessions held (started) in the period; by specialty `None` (see [`compute`]).
    pub sessions_held: Option<i64>,
    /// Dossiers registered (whatever became of them).
    pub dossiers_registered: Option<i64>,
    /// Dossiers discussed (a proposal recorded; validated ones included).
    pub dossiers_discussed: Option<i64>,
    /// Dossiers validated.
    pub dossiers_validated: Option<i64>,
    /// Dossiers withdrawn.
    pub dossiers_withdrawn: Option<i64>,
    /// Dossiers whose report was sent at least once.
    pub reports_sent: Option<i64>,
    /// From registration to validation.
    pub validation_delay_hours: Delay,
    /// From validation to the first sending of the report.
    pub sending_delay_hours: Delay,
    /// Share of the sessions held that reached their quorum (0 to 1).
    pub quorum_rate: Option<f64>,
    /// Share of the validated dossiers whose fiche says whether the proposal conforms to its
    /// guideline that say it does (0 to 1); `None` when no validated fiche says.
    pub conform_share: Option<f64>,
    /// Small-number suppression applied.
    pub suppressed: bool,
}

/// `GET /reports/activity`: the platform administrator, the coordinators of the center, the
/// managers of the RCP; a coordinator who names neither a center nor an RCP reads her center's
/// (she must name one when she coordinates several). Rows by key; in every breakdown, a row
/// drawn from fewer than five dossiers shows nothing to anyone but the physician it is drawn
/// from, nor does a row that would give it back by subtraction from the total (`suppression`).
pub fn report(conn: &mut DbConnection, p: &Principal, q: &ActivityQuery) -> Result<Vec<ActivityRow>, Error> {
    db::read(conn, |c| {
        let rcp = match &q.rcp_id {
            Some(id) => {
                let roles = boards::roles(c, id)?;
                let managed =
                    rcp_managers::table.find((id, &p.professional_id)).select(rcp_managers::rcp_id).first::<String>(c).optional()?;
                Some(ActivityRcp { rcp_id: id.clone(), cancer_center_id: roles.cancer_center_id, managed_by_caller: managed.is_some() })
            }
            None => None,
        };
        let q =
            &ActivityQuery { cancer_center_id: rules::default_activity_center(p, q.cancer_center_id.clone(), rcp.is_some())?, ..q.clone() };
        if let Some(center) = &q.cancer_center_id {
            crate::cancer_centers::find(c, center)?;
        }
        rules::may_read_activity(p, &ActivityScope { cancer_center_id: q.cancer_center_id.clone(), rcp })?;
        compute(c, p, q)
    })
}

/// The months of a period given by its first instants, `from` inclusive, `to` exclusive: both
/// must be the first instant of a month (422 `invalid_period` otherwise), `from` before `to`.
pub fn months(from: NaiveDateTime, to: NaiveDateTime) -> Result<Vec<(i32, u32)>, Error> {
    let aligned = |t: NaiveDateTime| t.day() == 1 && t.num_seconds_from_midnight() == 0 && t.nanosecond() == 0;
    for (field, t) in [("from", from), ("to", to)] {
        if !aligned(t) {
            return Err(DomainError::invalid(
                field,
                ErrorCode::InvalidPeriod,
                format!("the activity report counts whole months: {field} must be the first day of a month"),
            )
            .into());
        }
    }
    if from >= to {
        return Err(DomainError::invalid("from", ErrorCode::InvalidPeriod, "from must come before to").into());
    }
    let mut out = Vec::new();
    let (mut y, mut m) = (from.year(), from.month());
    while (y, m) < (to.year(), to.month()) {
        out.push((y, m));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    Ok(out)
}

/// The counter periods to add (sign 1) and subtract (sign −1) for these months: a year whole
/// when more than half of it is in, minus its months that are not; else its months one by one.
/// By month every month is its own row.
fn periods(months: &[(i32, u32)], by_month: bool) -> Vec<(String, i64)> {
    let month = |y: i32, m: u32| format!("{y:04}-{m:02}");
    if by_month {
        return months.iter().map(|(y, m)| (month(*y, *m), 1)).collect();
    }
    let mut years: BTreeMap<i32, BTreeSet<u32>> = BTreeMap::new();
    for (y, m) in months {
        years.entry(*y).or_default().insert(*m);
    }
    let mut out = Vec::new();
    for (y, ms) in years {
        if ms.len() > 6 {
            out.push((format!("{y:04}"), 1));
            out.extend((1..=12).filter(|m| !ms.contains(m)).map(|m| (month(y, m), -1)));
        } else {
            out.extend(ms.iter().map(|m| (month(y, *m), 1)));
        }
    }
    out
}

type Backend = <DbConnection as diesel::Connection>::Backend;

/// The counter rows of `dim` for these scopes and periods, by (scope, period, key).
fn counter_rows(conn: &mut DbConnection, scopes: &[String], dim: &str, periods: &[(String, i64)]) -> Result<Vec<counters::Row>, Error> {
    if scopes.is_empty() || periods.is_empty() {
        return Ok(Vec::new());
    }
    let sqlite = db::is_sqlite(conn);
    let mut n = 1;
    let mut list = |len: usize| {
        let ph: Vec<String> = (0..len)
            .map(|_| {
                n += 1;
                counters::placeholder(sqlite, n)
            })
            .collect();
        ph.join(", ")
    };
    let (scope_list, period_list) = (list(scopes.len()), list(periods.len()));
    let sql = format!(
        "SELECT {} FROM activity_counters WHERE dim = {} AND scope IN ({scope_list}) AND period IN ({period_list})",
        counters::COLUMNS,
        counters::placeholder(sqlite, 1)
    );
    let mut query = diesel::sql_query(sql).into_boxed::<Backend>().bind::<Text, _>(dim.to_owned());
    for s in scopes {
        query = query.bind::<Text, _>(s.clone());
    }
    for (p, _) in periods {
        query = query.bind::<Text, _>(p.clone());
    }
    Ok(query.load::<counters::Row>(conn)?)
}

/// The report's figures, by key, from the counters: at most a few rows per key and year
/// whatever the period (`periods`). By RCP, one scope per RCP; else the narrowest scope that
/// holds the query (the RCP, the center, the region). By specialty, the requesters' rows are
/// grouped by each requester's current specialty; a session is not counted per specialty
/// (two requesters of one specialty in one session would count it twice), so `sessions_held`
/// and `quorum_rate` are `None` there.
pub(crate) fn compute(conn: &mut DbConnection, p: &Principal, q: &ActivityQuery) -> Result<Vec<ActivityRow>, Error> {
    let months = months(q.from, q.to)?;
    let rcp_list: Vec<(String, String, String)> = {
        let mut query = rcps::table.select((rcps::id, rcps::name, rcps::cancer_center_id)).into_boxed();
        if let Some(id) = &q.rcp_id {
            query = query.filter(rcps::id.eq(id.clone()));
        }
        if let Some(center) = &q.cancer_center_id {
            query = query.filter(rcps::cancer_center_id.eq(center.clone()));
        }
        if q.by == Breakdown::Rcp || q.rcp_id.is_some() { query.load(conn)? } else { Vec::new() }
    };
    let scopes: Vec<String> = match (q.by, &q.rcp_id, &q.cancer_center_id) {
        (Breakdown::Rcp, _, _) | (_, Some(_), _) => rcp_list.iter().map(|(id, ..)| counters::rcp_scope(id)).collect(),
        (_, None, Some(center)) => vec![counters::center_scope(center)],
        (_, None, None) => vec![counters::REGION.to_owned()],
    };
    let dim = match q.by {
        Breakdown::Rcp | Breakdown::Month => counters::ALL,
        Breakdown::Requester | Breakdown::Specialty => counters::REQUESTER,
        Breakdown::TumourSite => counters::TUMOUR_SITE,
        Breakdown::ProposalType => counters::PROPOSAL_TYPE,
    };
    let periods = periods(&months, q.by == Breakdown::Month);
    let sign: BTreeMap<&str, i64> = periods.iter().map(|(p, s)| (p.as_str(), *s)).collect();
    let mut sums: BTreeMap<String, Counts> = BTreeMap::new();
    for r in counter_rows(conn, &scopes, dim, &periods)? {
        let key = match q.by {
            Breakdown::Rcp => r.scope.strip_prefix("rcp:").unwrap_or(&r.scope).to_owned(),
            Breakdown::Month => r.period.clone(),
            _ => r.k.clone(),
        };
        let s = sign.get(r.period.as_str()).copied().unwrap_or(0);
        sums.entry(key).or_default().add(&r.counts()?, s);
    }
    sums.retain(|_, c| c.registered != 0 || c.held != 0);
    if q.by == Breakdown::Specialty {
        sums = by_specialty(conn, sums)?;
    }
    let labels = labels(conn, q.by, &sums, &rcp_list)?;
    let mut rows: Vec<ActivityRow> =
        sums.iter().filter_map(|(k, c)| labels.get(k).map(|label| row(k, label, c, q.by != Breakdown::Specialty))).collect();
    let small = rows.iter().any(|r| r.dossiers_registered.is_some_and(|n| n > 0 && n < suppression::SMALL_NUMBER_THRESHOLD));
    let own = if small { own_counts(conn, p, q)? } else { BTreeMap::new() };
    let cells: Vec<Cell> = rows
        .iter()
        .map(|row| {
            let n = row.dossiers_registered.unwrap_or(0);
            Cell { dossiers: n, own: n > 0 && own.get(&row.key) == Some(&n) }
        })
        .collect();
    for (row, hide) in rows.iter_mut().zip(suppression::suppressed(&cells)) {
        if hide {
            *row = ActivityRow { key: row.key.clone(), label: row.label.clone(), suppressed: true, ..ActivityRow::default() };
        }
    }
    Ok(rows)
}

/// The requesters' rows summed by each requester's current specialty (`unknown` without one).
fn by_specialty(conn: &mut DbConnection, requesters: BTreeMap<String, Counts>) -> Result<BTreeMap<String, Counts>, Error> {
    let ids: Vec<&String> = requesters.keys().collect();
    let mut specialty: BTreeMap<String, String> = BTreeMap::new();
    for chunk in ids.chunks(500) {
        specialty.extend(
            professional_specialties::table
                .filter(professional_specialties::professional_id.eq_any(chunk))
                .select((professional_specialties::professional_id, professional_specialties::specialty))
                .load::<(String, String)>(conn)?,
        );
    }
    let mut out: BTreeMap<String, Counts> = BTreeMap::new();
    for (id, c) in &requesters {
        let key = specialty.get(id).cloned().unwrap_or_else(|| "unknown".to_owned());
        out.entry(key).or_default().add(c, 1);
    }
    Ok(out)
}

/// Each key's label: the RCP's name, the month, the requester's name (a requester the
/// directory lost has no row), the specialty, or a code's label in its list (the code without).
fn labels(
    conn: &mut DbConnection,
    by: Breakdown,
    sums: &BTreeMap<String, Counts>,
    rcp_list: &[(String, String, String)],
) -> Result<BTreeMap<String, String>, Error> {
    let keys: Vec<&String> = sums.keys().collect();
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    match by {
        Breakdown::Rcp => {
            out.extend(rcp_list.iter().filter(|(id, ..)| sums.contains_key(id)).map(|(id, name, _)| (id.clone(), name.clone())));
        }
        Breakdown::Month | Breakdown::Specialty => out.extend(keys.iter().map(|k| ((*k).clone(), (*k).clone()))),
        Breakdown::Requester => {
            for chunk in keys.chunks(500) {
                out.extend(
                    professionals::table
                        .filter(professionals::id.eq_any(chunk))
                        .select((professionals::id, diesel::dsl::sql::<Text>("given_name || ' ' || UPPER(family_name)")))
                        .load::<(String, String)>(conn)?,
                );
            }
        }
        Breakdown::TumourSite | Breakdown::ProposalType => {
            let system = if by == Breakdown::TumourSite { concerto_domain::fiche::CIM10 } else { concerto_domain::fiche::FRCP_TREATMENT };
            out.extend(keys.iter().map(|k| ((*k).clone(), (*k).clone())));
            for chunk in keys.chunks(500) {
                out.extend(
                    terminology_codes::table
                        .filter(terminology_codes::system.eq(system))
                        .filter(terminology_codes::code.eq_any(chunk))
                        .select((terminology_codes::code, terminology_codes::label))
                        .load::<(String, String)>(conn)?,
                );
            }
        }
    }
    Ok(out)
}

/// A row of the report from its summed counters.
fn row(key: &str, label: &str, c: &Counts, sessions: bool) -> ActivityRow {
    let delay = |h: &Histogram| Delay { median: h.percentile(1, 2), p90: h.percentile(9, 10) };
    ActivityRow {
        key: key.to_owned(),
        label: label.to_owned(),
        sessions_held: sessions.then_some(c.held),
        dossiers_registered: Some(c.registered),
        dossiers_discussed: Some(c.discussed),
        dossiers_validated: Some(c.validated),
        dossiers_withdrawn: Some(c.withdrawn),
        reports_sent: Some(c.sent),
        validation_delay_hours: delay(&c.validation),
        sending_delay_hours: delay(&c.sending),
        quorum_rate: if sessions { rate(c.reached, c.held) } else { None },
        conform_share: rate(c.conform, c.conform_known),
        suppressed: false,
    }
}

/// The caller's own requests in the period and scope, counted by the breakdown's key: a row
/// whose dossiers are all his is not hidden from him. Read from his dossiers (the requester's
/// index), only when some row is small: bounded by what he requested himself.
fn own_counts(conn: &mut DbConnection, p: &Principal, q: &ActivityQuery) -> Result<BTreeMap<String, i64>, Error> {
    let mut query = dossiers::table
        .inner_join(rcp_sessions::table)
        .inner_join(rcps::table)
        .left_join(dossier_fiches::table)
        .filter(dossiers::requester_id.eq(p.professional_id.clone()))
        .filter(rcp_sessions::starts_at.ge(q.from))
        .filter(rcp_sessions::starts_at.lt(q.to))
        .select((dossiers::id, dossiers::rcp_id, rcp_sessions::starts_at, dossier_fiches::tumour_site.nullable()))
        .into_boxed();
    if let Some(id) = &q.rcp_id {
        query = query.filter(rcps::id.eq(id.clone()));
    }
    if let Some(center) = &q.cancer_center_id {
        query = query.filter(rcps::cancer_center_id.eq(center.clone()));
    }
    let mine: Vec<(String, String, NaiveDateTime, Option<String>)> = query.load(conn)?;
    let mut types: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if q.by == Breakdown::ProposalType {
        let ids: Vec<&String> = mine.iter().map(|m| &m.0).collect();
        for chunk in ids.chunks(500) {
            for (d, code) in dossier_treatments::table
                .filter(dossier_treatments::dossier_id.eq_any(chunk))
                .select((dossier_treatments::dossier_id, dossier_treatments::code))
                .load::<(String, String)>(conn)?
            {
                types.entry(d).or_default().push(code);
            }
        }
    }
    let specialty = if q.by == Breakdown::Specialty {
        professional_specialties::table
            .find(&p.professional_id)
            .select(professional_specialties::specialty)
            .first::<String>(conn)
            .optional()?
            .unwrap_or_else(|| "unknown".to_owned())
    } else {
        String::new()
    };
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for (id, rcp, starts_at, site) in mine {
        let keys = match q.by {
            Breakdown::Rcp => vec![rcp],
            Breakdown::Month => vec![format!("{:04}-{:02}", starts_at.year(), starts_at.month())],
            Breakdown::Requester => vec![p.professional_id.clone()],
            Breakdown::Specialty => vec![specialty.clone()],
            Breakdown::TumourSite => vec![site.unwrap_or_else(|| "unknown".to_owned())],
            Breakdown::ProposalType => types.remove(&id).filter(|t| !t.is_empty()).unwrap_or_else(|| vec!["none".to_owned()]),
        };
        for k in keys {
            *out.entry(k).or_default() += 1;
        }
    }
    Ok(out)
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)] // counts of sessions or dossiers, far below 2^52
    (whole > 0).then(|| part as f64 / whole as f64)
}
