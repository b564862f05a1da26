//! The activity report a coordinator hands in: sessions held, dossiers by fate, reports sent,
//! delays and the share of sessions that reached their quorum, broken down by RCP, month,
//! requester or specialty. Computed by the database with aggregates and window functions: no
//! dossier is loaded into memory, and no patient identity is read.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use concerto_domain::principal::Principal;
use concerto_domain::rules::{self, ActivityRcp, ActivityScope};
use concerto_domain::suppression::{self, Cell};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamp};

use crate::schema::rcp_managers;
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
    /// Sessions starting from (inclusive).
    pub from: NaiveDateTime,
    /// Sessions starting before (exclusive).
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
    /// Sessions held (started) in the period.
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

#[derive(QueryableByName)]
struct Figures {
    #[diesel(sql_type = Text)]
    k: String,
    #[diesel(sql_type = Text)]
    label: String,
    #[diesel(sql_type = BigInt)]
    held: i64,
    #[diesel(sql_type = BigInt)]
    quorum: i64,
    #[diesel(sql_type = BigInt)]
    registered: i64,
    #[diesel(sql_type = BigInt)]
    discussed: i64,
    #[diesel(sql_type = BigInt)]
    validated: i64,
    #[diesel(sql_type = BigInt)]
    withdrawn: i64,
    #[diesel(sql_type = BigInt)]
    sent: i64,
    #[diesel(sql_type = Nullable<Double>)]
    validation_p50: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    validation_p90: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    sending_p50: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    sending_p90: Option<f64>,
    /// Validated dossiers whose fiche says the proposal conforms.
    #[diesel(sql_type = BigInt)]
    conform: i64,
    /// Validated dossiers whose fiche says whether it conforms.
    #[diesel(sql_type = BigInt)]
    conform_known: i64,
    /// Distinct requesters of the row's dossiers.
    #[diesel(sql_type = BigInt)]
    requesters: i64,
    /// One of them (the only one when `requesters` is 1).
    #[diesel(sql_type = Nullable<Text>)]
    a_requester: Option<String>,
}

#[derive(QueryableByName)]
struct Percentiles {
    #[diesel(sql_type = Text)]
    k: String,
    #[diesel(sql_type = Nullable<Double>)]
    v50: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    v90: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    s50: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    s90: Option<f64>,
}

/// The SQL that differs between the stores.
struct Dialect {
    sqlite: bool,
}

impl Dialect {
    /// The n-th placeholder (1-based).
    fn ph(&self, n: usize) -> String {
        if self.sqlite { "?".to_owned() } else { format!("${n}") }
    }

    /// Hours from `a` to `b`.
    fn hours(&self, a: &str, b: &str) -> String {
        if self.sqlite {
            format!("((julianday({b}) - julianday({a})) * 24.0)")
        } else {
            format!("(CAST(EXTRACT(EPOCH FROM ({b} - {a})) AS DOUBLE PRECISION) / 3600.0)")
        }
    }

    /// `YYYY-MM` of a timestamp.
    fn month(&self, t: &str) -> String {
        if self.sqlite { format!("strftime('%Y-%m', {t})") } else { format!("to_char({t}, 'YYYY-MM')") }
    }

    /// The row key and its label for a breakdown, over the period's sessions `s` (with their
    /// RCP's `rcp_id` and `rcp_name`) and, for the per-dossier breakdowns, the dossier `d` and its
    /// requester's specialty `ps`. The requester's name is joined after the aggregate.
    fn key(&self, by: Breakdown) -> (String, String) {
        match by {
            Breakdown::Rcp => ("s.rcp_id".to_owned(), "s.rcp_name".to_owned()),
            Breakdown::Month => (self.month("s.starts_at"), self.month("s.starts_at")),
            Breakdown::Requester => ("d.requester_id".to_owned(), "d.requester_id".to_owned()),
            Breakdown::Specialty => ("COALESCE(ps.specialty, 'unknown')".to_owned(), "COALESCE(ps.specialty, 'unknown')".to_owned()),
            Breakdown::TumourSite => ("COALESCE(f.tumour_site, 'unknown')".to_owned(), "COALESCE(f.tumour_site, 'unknown')".to_owned()),
            Breakdown::ProposalType => ("COALESCE(t.code, 'none')".to_owned(), "COALESCE(t.code, 'none')".to_owned()),
        }
    }
}

/// The period and restriction, as SQL with its placeholders and the values to bind in order.
struct Filter {
    sql: String,
    binds: Vec<Bind>,
}

enum Bind {
    Time(NaiveDateTime),
    Text(String),
}

fn filter(d: &Dialect, q: &ActivityQuery) -> Filter {
    let mut binds = vec![Bind::Time(q.from), Bind::Time(q.to)];
    let mut sql = format!("s.starts_at >= {} AND s.starts_at < {}", d.ph(1), d.ph(2));
    if let Some(center) = &q.cancer_center_id {
        binds.push(Bind::Text(center.clone()));
        sql.push_str(&format!(" AND r.cancer_center_id = {}", d.ph(binds.len())));
    }
    if let Some(rcp) = &q.rcp_id {
        binds.push(Bind::Text(rcp.clone()));
        sql.push_str(&format!(" AND r.id = {}", d.ph(binds.len())));
    }
    Filter { sql, binds }
}

type Backend = <DbConnection as diesel::Connection>::Backend;

fn load<T: QueryableByName<Backend> + 'static>(conn: &mut DbConnection, sql: &str, binds: &[Bind]) -> Result<Vec<T>, Error> {
    let mut query = diesel::sql_query(sql).into_boxed::<Backend>();
    for b in binds {
        query = match b {
            Bind::Time(t) => query.bind::<Timestamp, _>(*t),
            Bind::Text(s) => query.bind::<Text, _>(s.clone()),
        };
    }
    Ok(query.load(conn)?)
}

/// The period's sessions with their RCP, whether each was held and reached its quorum: a few
/// thousand rows for a region's year, from the index on `starts_at`. Materialized, so that the
/// quorum is probed once per session; inlined, both stores probed it once per dossier.
fn sessions_cte(f: &Filter) -> String {
    format!(
        "s AS MATERIALIZED (SELECT s.id, s.starts_at, r.id AS rcp_id, r.name AS rcp_name, \
         CASE WHEN s.status <> 'planned' THEN 1 ELSE 0 END AS held, \
         CASE WHEN s.status <> 'planned' AND EXISTS (SELECT 1 FROM session_quorum sq WHERE sq.session_id = s.id) THEN 1 ELSE 0 END AS reached \
         FROM rcp_sessions s JOIN rcps r ON r.id = s.rcp_id WHERE {})",
        f.sql
    )
}

/// The period's dossiers, sessions first: `CROSS JOIN` keeps SQLite from walking the whole
/// `dossiers` index when it has no statistics; every column read of `dossiers` is in the
/// covering index `dossiers_session_requester`, so no dossier row is read at all. Each joins
/// its fiche's projections (by primary key; conformity is on every row), and by proposal type
/// its treatment types: one joined row per (dossier, type), so each type's row counts the
/// dossier once.
fn dossiers_of_sessions(by: Breakdown) -> &'static str {
    match by {
        Breakdown::Specialty => {
            "s CROSS JOIN dossiers d LEFT JOIN dossier_fiches f ON f.dossier_id = d.id \
             LEFT JOIN professional_specialties ps ON ps.professional_id = d.requester_id"
        }
        Breakdown::ProposalType => {
            "s CROSS JOIN dossiers d LEFT JOIN dossier_fiches f ON f.dossier_id = d.id \
             LEFT JOIN dossier_treatments t ON t.dossier_id = d.id"
        }
        _ => "s CROSS JOIN dossiers d LEFT JOIN dossier_fiches f ON f.dossier_id = d.id",
    }
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

/// Two or three statements whatever the period: the counts (with both delays' percentiles on
/// PostgreSQL, as ordered-set aggregates), the sessions (by RCP or month), and on SQLite the
/// percentiles in a statement of their own (its `percentile_disc` needs each key's count).
fn compute(conn: &mut DbConnection, p: &Principal, q: &ActivityQuery) -> Result<Vec<ActivityRow>, Error> {
    let d = Dialect { sqlite: db::is_sqlite(conn) };
    let f = filter(&d, q);
    let (key, label) = d.key(q.by);
    let sessions = sessions_cte(&f);
    let from = dossiers_of_sessions(q.by);
    let per_session = matches!(q.by, Breakdown::Rcp | Breakdown::Month);
    // By RCP or month the sessions are counted on their own (with or without dossiers); by
    // requester or specialty, the sessions that held their dossiers.
    let (held, quorum) = if per_session {
        ("CAST(0 AS BIGINT)".to_owned(), "CAST(0 AS BIGINT)".to_owned())
    } else {
        (
            "COUNT(DISTINCT CASE WHEN s.held = 1 THEN d.session_id END)".to_owned(),
            "COUNT(DISTINCT CASE WHEN s.reached = 1 THEN d.session_id END)".to_owned(),
        )
    };
    // `percentile_disc(f)` is the nearest rank: the first value whose rank reaches f × n, the
    // rank `rank_fraction` makes SQLite's return (0.9 × n as a double rounds up to the exact rank
    // for every n below 20 million; checked).
    let delays = if d.sqlite {
        "CAST(NULL AS REAL) AS validation_p50, CAST(NULL AS REAL) AS validation_p90, CAST(NULL AS REAL) AS sending_p50, \
         CAST(NULL AS REAL) AS sending_p90"
            .to_owned()
    } else {
        let (validation, sending) = (d.hours("d.created_at", "d.validated_at"), d.hours("d.validated_at", "d.first_sent_at"));
        format!(
            "percentile_disc(0.5) WITHIN GROUP (ORDER BY {validation}) AS validation_p50, \
             percentile_disc(0.9) WITHIN GROUP (ORDER BY {validation}) AS validation_p90, \
             percentile_disc(0.5) WITHIN GROUP (ORDER BY {sending}) AS sending_p50, \
             percentile_disc(0.9) WITHIN GROUP (ORDER BY {sending}) AS sending_p90"
        )
    };
    let figures = format!(
        "SELECT {key} AS k, MIN({label}) AS label, {held} AS held, {quorum} AS quorum, COUNT(*) AS registered, \
         COALESCE(SUM(CASE WHEN d.status IN ('discussed', 'validated') THEN 1 ELSE 0 END), 0) AS discussed, \
         COALESCE(SUM(CASE WHEN d.status = 'validated' THEN 1 ELSE 0 END), 0) AS validated, \
         COALESCE(SUM(CASE WHEN d.status = 'withdrawn' THEN 1 ELSE 0 END), 0) AS withdrawn, \
         COALESCE(SUM(CASE WHEN d.first_sent_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS sent, \
         {delays}, \
         COALESCE(SUM(CASE WHEN d.status = 'validated' AND f.conform = TRUE THEN 1 ELSE 0 END), 0) AS conform, \
         COALESCE(SUM(CASE WHEN d.status = 'validated' AND f.conform IS NOT NULL THEN 1 ELSE 0 END), 0) AS conform_known, \
         COUNT(DISTINCT d.requester_id) AS requesters, MIN(d.requester_id) AS a_requester \
         FROM {from} WHERE d.session_id = s.id GROUP BY {key}"
    );
    // The requester's name, and a code's label from its list, are joined to the aggregate, not
    // to each dossier.
    let columns = "a.k, a.held, a.quorum, a.registered, a.discussed, a.validated, a.withdrawn, a.sent, a.validation_p50, \
                   a.validation_p90, a.sending_p50, a.sending_p90, a.conform, a.conform_known, a.requesters, a.a_requester";
    let labelled = |system: &str| {
        format!(
            "WITH {sessions} SELECT {columns}, COALESCE(tc.label, a.k) AS label FROM ({figures}) a \
             LEFT JOIN terminology_codes tc ON tc.system = '{system}' AND tc.code = a.k"
        )
    };
    let figures = match q.by {
        Breakdown::Requester => format!(
            "WITH {sessions} SELECT {columns}, (p.given_name || ' ' || UPPER(p.family_name)) AS label \
             FROM ({figures}) a JOIN professionals p ON p.id = a.k"
        ),
        Breakdown::TumourSite => labelled(concerto_domain::fiche::CIM10),
        Breakdown::ProposalType => labelled(concerto_domain::fiche::FRCP_TREATMENT),
        _ => format!("WITH {sessions} {figures}"),
    };
    let mut rows: BTreeMap<String, ActivityRow> = BTreeMap::new();
    // Who each row is drawn from, for suppression: (distinct requesters, one of them).
    let mut drawn_from: BTreeMap<String, (i64, Option<String>)> = BTreeMap::new();
    for r in load::<Figures>(conn, &figures, &f.binds)? {
        rows.insert(r.k.clone(), figures_row(&r));
        drawn_from.insert(r.k.clone(), (r.requesters, r.a_requester.clone()));
    }
    if per_session {
        // PostgreSQL reads a bare `0` as a 4-byte integer.
        let (zero, none) = ("CAST(0 AS BIGINT)", if d.sqlite { "CAST(NULL AS REAL)" } else { "CAST(NULL AS DOUBLE PRECISION)" });
        let sql = format!(
            "WITH {sessions} SELECT {key} AS k, MIN({label}) AS label, COUNT(*) AS held, SUM(s.reached) AS quorum, \
             {zero} AS registered, {zero} AS discussed, {zero} AS validated, {zero} AS withdrawn, {zero} AS sent, \
             {none} AS validation_p50, {none} AS validation_p90, {none} AS sending_p50, {none} AS sending_p90, \
             {zero} AS conform, {zero} AS conform_known, {zero} AS requesters, CAST(NULL AS TEXT) AS a_requester FROM s WHERE s.held = 1 GROUP BY {key}"
        );
        for s in load::<Figures>(conn, &sql, &f.binds)? {
            let row = rows.entry(s.k.clone()).or_insert_with(|| figures_row(&s));
            row.sessions_held = Some(s.held);
            row.quorum_rate = rate(s.quorum, s.held);
        }
    }
    if d.sqlite {
        for (k, validation, sending) in percentiles(conn, &d, &key, &sessions, from, &f)? {
            if let Some(row) = rows.get_mut(&k) {
                row.validation_delay_hours = validation;
                row.sending_delay_hours = sending;
            }
        }
    }
    let mut rows: Vec<ActivityRow> = rows.into_values().collect();
    let cells: Vec<Cell> = rows
        .iter()
        .map(|row| {
            let (requesters, one) = drawn_from.get(&row.key).cloned().unwrap_or_default();
            let only_caller = requesters == 1 && one.as_deref() == Some(p.professional_id.as_str());
            Cell { dossiers: row.dossiers_registered.unwrap_or(0), own: only_caller }
        })
        .collect();
    for (row, hide) in rows.iter_mut().zip(suppression::suppressed(&cells)) {
        if hide {
            *row = ActivityRow { key: row.key.clone(), label: row.label.clone(), suppressed: true, ..ActivityRow::default() };
        }
    }
    Ok(rows)
}

/// A row of counts (its delays are filled after).
fn figures_row(r: &Figures) -> ActivityRow {
    ActivityRow {
        key: r.k.clone(),
        label: r.label.clone(),
        sessions_held: Some(r.held),
        dossiers_registered: Some(r.registered),
        dossiers_discussed: Some(r.discussed),
        dossiers_validated: Some(r.validated),
        dossiers_withdrawn: Some(r.withdrawn),
        reports_sent: Some(r.sent),
        quorum_rate: rate(r.quorum, r.held),
        conform_share: rate(r.conform, r.conform_known),
        validation_delay_hours: Delay { median: r.validation_p50, p90: r.validation_p90 },
        sending_delay_hours: Delay { median: r.sending_p50, p90: r.sending_p90 },
        suppressed: false,
    }
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)] // counts of sessions or dossiers, far below 2^52
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// SQLite: median and p90 (nearest rank) per key of both delays (registration to validation,
/// validation to first sending), with the bundled SQLite's `percentile_disc(Y, P)`
/// (compiled in by `.cargo/config.toml`). It returns the value at 0-based index
/// `floor(P × (n − 1))`; the nearest rank is index `ceil(f × n) − 1`, so P is derived per key
/// from n (`rank_fraction`), counted first: the same figures as PostgreSQL's `percentile_disc`.
fn percentiles(
    conn: &mut DbConnection,
    d: &Dialect,
    key: &str,
    sessions: &str,
    from: &str,
    f: &Filter,
) -> Result<Vec<(String, Delay, Delay)>, Error> {
    let validation = d.hours("d.created_at", "d.validated_at");
    let sending = d.hours("d.validated_at", "d.first_sent_at");
    let sql = format!(
        "WITH {sessions}, \
         x AS MATERIALIZED (SELECT {key} AS k, {validation} AS vd, {sending} AS sd FROM {from} \
           WHERE d.session_id = s.id AND d.validated_at IS NOT NULL), \
         c AS MATERIALIZED (SELECT k, COUNT(vd) AS nv, COUNT(sd) AS ns FROM x GROUP BY k) \
         SELECT x.k AS k, percentile_disc(x.vd, {}) AS v50, percentile_disc(x.vd, {}) AS v90, \
           percentile_disc(x.sd, {}) AS s50, percentile_disc(x.sd, {}) AS s90 \
         FROM x JOIN c ON c.k = x.k GROUP BY x.k",
        rank_fraction(1, 2, "c.nv"),
        rank_fraction(9, 10, "c.nv"),
        rank_fraction(1, 2, "c.ns"),
        rank_fraction(9, 10, "c.ns"),
    );
    Ok(load::<Percentiles>(conn, &sql, &f.binds)?
        .into_iter()
        .map(|r| (r.k, Delay { median: r.v50, p90: r.v90 }, Delay { median: r.s50, p90: r.s90 }))
        .collect())
}

/// The P for which SQLite's `percentile_disc(Y, P)` over `n` values returns the nearest rank
/// of the fraction `num / den`: index m = ceil(num × n / den) − 1, reached by
/// floor(P × (n − 1)) when P = (m + ½) / (n − 1), capped at 1.
fn rank_fraction(num: u32, den: u32, n: &str) -> String {
    format!("(CASE WHEN {n} < 2 THEN 0.0 ELSE MIN(1.0, (({num} * {n} + {}) / {den} - 1 + 0.5) / ({n} - 1.0)) END)", den - 1)
}
