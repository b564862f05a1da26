//! The activity counters: the figures of the activity report kept per scope (an RCP, its
//! center, the region) × period (a calendar month `YYYY-MM` and its year `YYYY`, of the
//! session's start) × breakdown key (`all`, the requester, the tumour site, each proposal type),
//! in the transaction of every write that changes them, so that a report over any whole months
//! reads a few rows per key instead of the period's dossiers.
//!
//! How a write keeps them exact: it reads what it contributes, writes, reads again, and adds the
//! difference ([`Tracker::finish`]). A held session counts once in each key any of its dossiers
//! has, so a write that may change those keys (a registration, a fiche's tumour site or
//! treatment types: [`Tracker::dossier_keys`]) or the session's status and quorum
//! ([`Tracker::session`]) takes the session's row lock first (the lock order session → patient
//! → dossier) and reads the keys of all its dossiers; a write of a dossier's figures alone (a
//! status, a validation, a first sending: [`Tracker::dossier_figures`]) holds only the
//! dossier's row, so the validations of one session run side by side. Each write counts only
//! its own dossier's figures (the others lend their keys), so two writers never count the
//! same change. The difference touches rows other sessions share (a month, a year, a
//! center), so it is applied read-modify-write on rows locked in key order by one upsert
//! (`ON CONFLICT … DO UPDATE`, which waits for a concurrent writer of the row and then reads
//! what it committed): two writers of one month serialize on its rows, never deadlock, and each
//! adds its difference to what the other left.
//!
//! Delays cannot be summed as percentiles: each row keeps a histogram of each delay (seconds,
//! buckets 1 % wide, so the value read back is within 0.5 % of the true one, and under half a
//! second for a delay under a second), rows are added (and subtracted: a year minus its
//! missing months) bucket by bucket, and the median and p90 are the nearest rank of the sum.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::schema::{dossier_fiches, dossier_treatments, dossiers, rcp_sessions, rcps, session_quorum};
use crate::{DbConnection, Error, db};

/// The key dimension of the counters of a whole scope (by RCP, by month).
pub const ALL: &str = "all";
/// One row per requesting physician (and, grouped at read time, per specialty).
pub const REQUESTER: &str = "requester";
/// One row per tumour site category (`unknown` without one).
pub const TUMOUR_SITE: &str = "tumour_site";
/// One row per treatment type of the proposal (`none` without one).
pub const PROPOSAL_TYPE: &str = "proposal_type";

/// The row a migration leaves when the store already held sessions: the counters are built by
/// [`rebuild_if_pending`] at the next start-up.
const PENDING: &str = "rebuild";

/// The ratio of consecutive delay buckets.
const BUCKET_RATIO: f64 = 1.01;

/// Rows written per statement when rebuilding.
const CHUNK: usize = 200;

/// The scope of an RCP's counters.
pub fn rcp_scope(rcp_id: &str) -> String {
    format!("rcp:{rcp_id}")
}

/// The scope of a center's counters.
pub fn center_scope(center_id: &str) -> String {
    format!("center:{center_id}")
}

/// The scope of the whole store's counters.
pub const REGION: &str = "region";

/// A counter row's key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// `rcp:<id>`, `center:<id>` or `region`.
    pub scope: String,
    /// [`ALL`], [`REQUESTER`], [`TUMOUR_SITE`] or [`PROPOSAL_TYPE`].
    pub dim: String,
    /// `YYYY` or `YYYY-MM`.
    pub period: String,
    /// The breakdown's key (empty for [`ALL`]).
    pub k: String,
}

/// A histogram of delays: bucket → count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram(BTreeMap<u32, i64>);

impl Histogram {
    /// Counts one delay of `seconds`.
    fn count(&mut self, seconds: f64) {
        *self.0.entry(bucket(seconds)).or_default() += 1;
    }

    /// Adds `other` times `sign` (1 or −1), dropping empty buckets.
    pub fn add(&mut self, other: &Histogram, sign: i64) {
        for (b, n) in &other.0 {
            let e = self.0.entry(*b).or_default();
            *e += sign * n;
            if *e == 0 {
                self.0.remove(b);
            }
        }
    }

    /// The stored form: `bucket:count` separated by spaces, buckets ascending.
    fn to_text(&self) -> String {
        self.0.iter().map(|(b, n)| format!("{b}:{n}")).collect::<Vec<_>>().join(" ")
    }

    /// Reads the stored form.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut h = BTreeMap::new();
        for part in text.split_ascii_whitespace() {
            let parsed = part.split_once(':').and_then(|(b, n)| Some((b.parse::<u32>().ok()?, n.parse::<i64>().ok()?)));
            let (b, n) = parsed.ok_or_else(|| Error::Stored(format!("an activity histogram: {part:?}")))?;
            *h.entry(b).or_default() += n;
        }
        Ok(Self(h))
    }

    /// The nearest-rank percentile `num / den` in hours: the first bucket whose cumulated count
    /// reaches ⌈num × n / den⌉, read as its geometric middle.
    pub fn percentile(&self, num: i64, den: i64) -> Option<f64> {
        let n: i64 = self.0.values().sum();
        if n <= 0 {
            return None;
        }
        let rank = ((num * n + den - 1) / den).clamp(1, n);
        let mut seen = 0;
        for (b, c) in &self.0 {
            seen += c;
            if seen >= rank {
                return Some(representative(*b) / 3600.0);
            }
        }
        None
    }
}

/// The bucket of a delay: 0 under a second, then 1 % wide.
fn bucket(seconds: f64) -> u32 {
    if seconds.is_nan() || seconds < 1.0 {
        return 0;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a positive logarithm, far below 2^32
    let b = (seconds.ln() / BUCKET_RATIO.ln()).floor() as u32;
    b + 1
}

/// The value a bucket stands for, in seconds: its geometric middle (half a second for the first).
fn representative(b: u32) -> f64 {
    if b == 0 { 0.5 } else { BUCKET_RATIO.powf(f64::from(b) - 0.5) }
}

/// The figures of one counter row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Sessions held (started, or closed).
    pub held: i64,
    /// Of them, those that reached their quorum.
    pub reached: i64,
    /// Dossiers registered.
    pub registered: i64,
    /// Discussed (validated included).
    pub discussed: i64,
    /// Validated.
    pub validated: i64,
    /// Withdrawn.
    pub withdrawn: i64,
    /// Whose report was sent.
    pub sent: i64,
    /// Validated whose fiche says the proposal conforms.
    pub conform: i64,
    /// Validated whose fiche says whether it conforms.
    pub conform_known: i64,
    /// Registration to validation.
    pub validation: Histogram,
    /// Validation to first sending.
    pub sending: Histogram,
}

impl Counts {
    /// Adds `other` times `sign` (1 or −1).
    pub fn add(&mut self, other: &Counts, sign: i64) {
        self.held += sign * other.held;
        self.reached += sign * other.reached;
        self.registered += sign * other.registered;
        self.discussed += sign * other.discussed;
        self.validated += sign * other.validated;
        self.withdrawn += sign * other.withdrawn;
        self.sent += sign * other.sent;
        self.conform += sign * other.conform;
        self.conform_known += sign * other.conform_known;
        self.validation.add(&other.validation, sign);
        self.sending.add(&other.sending, sign);
    }

    /// Nothing counted: the same as no row.
    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }
}

/// What a session contributes by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SessionFacts {
    rcp_id: String,
    center_id: String,
    starts_at: NaiveDateTime,
    held: bool,
    reached: bool,
}

/// A dossier's counted facts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DossierFacts {
    id: String,
    requester_id: String,
    status: String,
    created_at: NaiveDateTime,
    validated_at: Option<NaiveDateTime>,
    first_sent_at: Option<NaiveDateTime>,
    tumour_site: Option<String>,
    conform: Option<bool>,
    types: BTreeSet<String>,
}

impl DossierFacts {
    /// The (dimension, key) pairs it counts in.
    fn keys(&self) -> Vec<(&'static str, String)> {
        let mut keys = vec![
            (ALL, String::new()),
            (REQUESTER, self.requester_id.clone()),
            (TUMOUR_SITE, self.tumour_site.clone().unwrap_or_else(|| "unknown".to_owned())),
        ];
        if self.types.is_empty() {
            keys.push((PROPOSAL_TYPE, "none".to_owned()));
        }
        keys.extend(self.types.iter().map(|t| (PROPOSAL_TYPE, t.clone())));
        keys
    }

    /// Its figures, the same in each of its keys.
    fn counts(&self) -> Counts {
        let validated = self.status == "validated";
        let mut c = Counts {
            registered: 1,
            discussed: i64::from(self.status == "discussed" || validated),
            validated: i64::from(validated),
            withdrawn: i64::from(self.status == "withdrawn"),
            sent: i64::from(self.first_sent_at.is_some()),
            conform: i64::from(validated && self.conform == Some(true)),
            conform_known: i64::from(validated && self.conform.is_some()),
            ..Counts::default()
        };
        if let Some(v) = self.validated_at {
            c.validation.count(seconds(self.created_at, v));
            if let Some(s) = self.first_sent_at {
                c.sending.count(seconds(v, s));
            }
        }
        c
    }
}

#[allow(clippy::cast_precision_loss)] // milliseconds of a delay, far below 2^52
fn seconds(from: NaiveDateTime, to: NaiveDateTime) -> f64 {
    (to - from).num_milliseconds() as f64 / 1000.0
}

/// Whose figures a contribution counts.
#[derive(Debug, Clone, Copy)]
enum Counted<'a> {
    /// Every dossier's (a recomputation).
    All,
    /// This dossier's alone: the others only lend their keys to the held session.
    One(&'a str),
    /// None: the session's own figures (held, quorum reached).
    Session,
}

/// The counter rows a session and the dossiers given contribute to: the `counted` dossiers'
/// figures in each of their keys, and, when `held_keys` and the session was held, the session
/// once in `all` and in each key its dossiers have (`dossiers` must then be all of them).
fn contribution(session: &SessionFacts, dossiers: &[DossierFacts], counted: Counted<'_>, held_keys: bool) -> BTreeMap<Key, Counts> {
    let mut out: BTreeMap<Key, Counts> = BTreeMap::new();
    let scopes = [rcp_scope(&session.rcp_id), center_scope(&session.center_id), REGION.to_owned()];
    let (y, m) = (session.starts_at.year(), session.starts_at.month());
    let periods = [format!("{y:04}"), format!("{y:04}-{m:02}")];
    let mut add = |dim: &str, k: &str, c: &Counts| {
        for scope in &scopes {
            for period in &periods {
                let key = Key { scope: scope.clone(), dim: dim.to_owned(), period: period.clone(), k: k.to_owned() };
                out.entry(key).or_default().add(c, 1);
            }
        }
    };
    let mut session_keys: BTreeSet<(&'static str, String)> = BTreeSet::new();
    for d in dossiers {
        let counts = match counted {
            Counted::All => true,
            Counted::One(id) => d.id == id,
            Counted::Session => false,
        };
        let c = d.counts();
        for (dim, k) in d.keys() {
            if counts {
                add(dim, &k, &c);
            }
            session_keys.insert((dim, k));
        }
    }
    if session.held && held_keys {
        let c = Counts { held: 1, reached: i64::from(session.reached), ..Counts::default() };
        session_keys.insert((ALL, String::new()));
        for (dim, k) in &session_keys {
            add(dim, k, &c);
        }
    }
    out
}

/// A session's facts, `None` when it does not exist.
fn session_facts(conn: &mut DbConnection, session_id: &str) -> Result<Option<SessionFacts>, Error> {
    let row = rcp_sessions::table
        .inner_join(rcps::table)
        .filter(rcp_sessions::id.eq(session_id))
        .select((rcp_sessions::rcp_id, rcps::cancer_center_id, rcp_sessions::starts_at, rcp_sessions::status))
        .first::<(String, String, NaiveDateTime, String)>(conn)
        .optional()?;
    let Some((rcp_id, center_id, starts_at, status)) = row else { return Ok(None) };
    let held = status != "planned";
    let reached =
        held && session_quorum::table.find(session_id).select(session_quorum::session_id).first::<String>(conn).optional()?.is_some();
    Ok(Some(SessionFacts { rcp_id, center_id, starts_at, held, reached }))
}

type DossierRow = (String, String, String, NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>, Option<String>, Option<bool>);

/// The counted facts of the dossiers `rows` (id first), with their treatment types.
fn with_types(conn: &mut DbConnection, rows: Vec<DossierRow>) -> Result<Vec<DossierFacts>, Error> {
    let ids: Vec<&String> = rows.iter().map(|r| &r.0).collect();
    let mut types: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for chunk in ids.chunks(500) {
        for (d, code) in dossier_treatments::table
            .filter(dossier_treatments::dossier_id.eq_any(chunk))
            .select((dossier_treatments::dossier_id, dossier_treatments::code))
            .load::<(String, String)>(conn)?
        {
            types.entry(d).or_default().insert(code);
        }
    }
    Ok(rows
        .into_iter()
        .map(|(id, requester_id, status, created_at, validated_at, first_sent_at, tumour_site, conform)| DossierFacts {
            types: types.remove(&id).unwrap_or_default(),
            id,
            requester_id,
            status,
            created_at,
            validated_at,
            first_sent_at,
            tumour_site,
            conform,
        })
        .collect())
}

/// The dossiers of a session (all of them), or the one dossier named.
fn dossier_facts(conn: &mut DbConnection, session_id: &str, only: Option<&str>) -> Result<Vec<DossierFacts>, Error> {
    let mut query = dossiers::table
        .left_join(dossier_fiches::table)
        .filter(dossiers::session_id.eq(session_id))
        .select((
            dossiers::id,
            dossiers::requester_id,
            dossiers::status,
            dossiers::created_at,
            dossiers::validated_at,
            dossiers::first_sent_at,
            dossier_fiches::tumour_site.nullable(),
            dossier_fiches::conform.nullable(),
        ))
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(dossiers::id.eq(id));
    }
    let rows = query.load::<DossierRow>(conn)?;
    with_types(conn, rows)
}

/// A write in progress on one session's counted facts: what it contributed before.
pub struct Tracker {
    session_id: String,
    /// The dossier written, or `None` for a write of the session itself.
    dossier_id: Option<String>,
    /// The write may change the dossier's keys (its requester, tumour site, treatment types) or
    /// add one: the session's held count per key may change.
    keys: bool,
    before: BTreeMap<Key, Counts>,
}

impl Tracker {
    /// Before a write that may change the keys the dossier `dossier_id` counts in (a
    /// registration, when it does not exist yet, in `session_id`; a fiche's tumour site or
    /// treatment types): locks its session, so that the session's writes of keys and of its
    /// status are sequential, and reads what they contribute. Call it before any other lock of
    /// the write (the session comes first in the lock order).
    pub fn dossier_keys(conn: &mut DbConnection, session_id: Option<&str>, dossier_id: &str) -> Result<Tracker, Error> {
        Self::of_dossier(conn, session_id, dossier_id, true)
    }

    /// Before a write that changes the dossier's figures but not its keys (a status, a
    /// validation, a first sending): locks the dossier's row (after the patient's, when the
    /// write takes it) and no session, so that the validations of one session run side by side;
    /// only the dossier's own figures are read and changed.
    pub fn dossier_figures(conn: &mut DbConnection, dossier_id: &str) -> Result<Tracker, Error> {
        Self::of_dossier(conn, None, dossier_id, false)
    }

    fn of_dossier(conn: &mut DbConnection, session_id: Option<&str>, dossier_id: &str, keys: bool) -> Result<Tracker, Error> {
        let session_id = match session_id {
            Some(s) => s.to_owned(),
            // A dossier never changes session: reading it before the lock is safe.
            None => match dossiers::table.find(dossier_id).select(dossiers::session_id).first::<String>(conn).optional()? {
                Some(s) => s,
                None => return Ok(Tracker { session_id: String::new(), dossier_id: None, keys, before: BTreeMap::new() }),
            },
        };
        if keys {
            lock_session(conn, &session_id)?;
        }
        // The dossier's row, so that what is read is what the write changes (a first sending
        // changes its figures without its version); a no-op for a writer that holds it already.
        diesel::update(dossiers::table.find(dossier_id)).set(dossiers::version.eq(dossiers::version)).execute(conn)?;
        let mut t = Tracker { session_id, dossier_id: Some(dossier_id.to_owned()), keys, before: BTreeMap::new() };
        t.before = t.read(conn)?;
        Ok(t)
    }

    /// Before a write that changes the session `session_id` (its status, its quorum): locks it
    /// and reads what it contributes by itself.
    pub fn session(conn: &mut DbConnection, session_id: &str) -> Result<Tracker, Error> {
        lock_session(conn, session_id)?;
        let mut t = Tracker { session_id: session_id.to_owned(), dossier_id: None, keys: true, before: BTreeMap::new() };
        t.before = t.read(conn)?;
        Ok(t)
    }

    /// What the write's part of the session contributes now. Dossiers the write does not change
    /// lend only their keys, never their figures (which their own writers may be changing).
    fn read(&self, conn: &mut DbConnection) -> Result<BTreeMap<Key, Counts>, Error> {
        if self.session_id.is_empty() {
            return Ok(BTreeMap::new());
        }
        let Some(session) = session_facts(conn, &self.session_id)? else { return Ok(BTreeMap::new()) };
        let all = self.keys && session.held;
        let only = if all { None } else { self.dossier_id.as_deref() };
        if only.is_none() && !all {
            // A write of the session that was not held: nothing of its own to count.
            return Ok(BTreeMap::new());
        }
        let dossiers = dossier_facts(conn, &self.session_id, only)?;
        let counted = match &self.dossier_id {
            Some(id) => Counted::One(id),
            None => Counted::Session,
        };
        Ok(contribution(&session, &dossiers, counted, self.keys))
    }

    /// After the write: adds what changed to the counters, in the same transaction.
    pub fn finish(self, conn: &mut DbConnection) -> Result<(), Error> {
        let after = self.read(conn)?;
        let mut delta = after;
        for (k, c) in &self.before {
            delta.entry(k.clone()).or_default().add(c, -1);
        }
        delta.retain(|_, c| !c.is_zero());
        apply(conn, &delta)
    }
}

/// Locks a session's row until the transaction ends (a no-op update, which both stores
/// understand). Starting or closing a session, recording its attendance and every write of one
/// of its dossiers take this lock first, so a registration never lands in a session that
/// started meanwhile, and the counters see the session's writes one after the other: on
/// PostgreSQL the second of two racing writers reads what the first committed; SQLite writers
/// are serialised by `BEGIN IMMEDIATE` anyway.
fn lock_session(conn: &mut DbConnection, session_id: &str) -> Result<(), Error> {
    diesel::update(rcp_sessions::table.find(session_id)).set(rcp_sessions::status.eq(rcp_sessions::status)).execute(conn)?;
    Ok(())
}

/// A stored counter row.
#[derive(QueryableByName)]
pub struct Row {
    /// Scope.
    #[diesel(sql_type = Text)]
    pub scope: String,
    /// Dimension.
    #[diesel(sql_type = Text)]
    pub dim: String,
    /// Period.
    #[diesel(sql_type = Text)]
    pub period: String,
    /// Key.
    #[diesel(sql_type = Text)]
    pub k: String,
    #[diesel(sql_type = BigInt)]
    sessions_held: i64,
    #[diesel(sql_type = BigInt)]
    quorum_reached: i64,
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
    #[diesel(sql_type = BigInt)]
    conform: i64,
    #[diesel(sql_type = BigInt)]
    conform_known: i64,
    #[diesel(sql_type = Text)]
    validation_delays: String,
    #[diesel(sql_type = Text)]
    sending_delays: String,
}

impl Row {
    /// Its figures.
    pub fn counts(&self) -> Result<Counts, Error> {
        Ok(Counts {
            held: self.sessions_held,
            reached: self.quorum_reached,
            registered: self.registered,
            discussed: self.discussed,
            validated: self.validated,
            withdrawn: self.withdrawn,
            sent: self.sent,
            conform: self.conform,
            conform_known: self.conform_known,
            validation: Histogram::parse(&self.validation_delays)?,
            sending: Histogram::parse(&self.sending_delays)?,
        })
    }

    /// Its key.
    pub fn key(&self) -> Key {
        Key { scope: self.scope.clone(), dim: self.dim.clone(), period: self.period.clone(), k: self.k.clone() }
    }
}

/// Every column, in the table's order.
pub const COLUMNS: &str = "scope, dim, period, k, sessions_held, quorum_reached, registered, discussed, validated, withdrawn, \
                           sent, conform, conform_known, validation_delays, sending_delays";

/// The n-th placeholder of a statement (1-based) in the store's spelling.
pub fn placeholder(sqlite: bool, n: usize) -> String {
    if sqlite { "?".to_owned() } else { format!("${n}") }
}

/// The `VALUES` list of a multi-row statement: `rows` tuples of `columns` placeholders each,
/// numbered in order.
fn values(sqlite: bool, rows: usize, columns: usize) -> String {
    let tuple = |r: usize| (1..=columns).map(|c| placeholder(sqlite, r * columns + c)).collect::<Vec<_>>().join(", ");
    (0..rows).map(|r| format!("({})", tuple(r))).collect::<Vec<_>>().join(", ")
}

type Backend = <DbConnection as diesel::Connection>::Backend;

/// Adds `delta` to the counters: the rows are locked (created when missing) in key order by one
/// upsert that returns them as they are, then written back with the difference added.
fn apply(conn: &mut DbConnection, delta: &BTreeMap<Key, Counts>) -> Result<(), Error> {
    let sqlite = db::is_sqlite(conn);
    let all: Vec<(&Key, &Counts)> = delta.iter().collect();
    for chunk in all.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO activity_counters (scope, dim, period, k) VALUES {} ON CONFLICT (scope, dim, period, k) \
             DO UPDATE SET registered = activity_counters.registered RETURNING {COLUMNS}",
            values(sqlite, chunk.len(), 4)
        );
        let mut query = diesel::sql_query(sql).into_boxed::<Backend>();
        for (k, _) in chunk {
            query = query
                .bind::<Text, _>(k.scope.clone())
                .bind::<Text, _>(k.dim.clone())
                .bind::<Text, _>(k.period.clone())
                .bind::<Text, _>(k.k.clone());
        }
        let mut rows: BTreeMap<Key, Counts> = BTreeMap::new();
        for r in query.load::<Row>(conn)? {
            rows.insert(r.key(), r.counts()?);
        }
        for (k, d) in chunk {
            rows.entry((*k).clone()).or_default().add(d, 1);
        }
        write_rows(conn, &rows)?;
    }
    Ok(())
}

/// Writes these rows whole (inserted, or replacing what is stored), in key order.
fn write_rows(conn: &mut DbConnection, rows: &BTreeMap<Key, Counts>) -> Result<(), Error> {
    let sqlite = db::is_sqlite(conn);
    let all: Vec<(&Key, &Counts)> = rows.iter().collect();
    for chunk in all.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO activity_counters ({COLUMNS}) VALUES {} ON CONFLICT (scope, dim, period, k) DO UPDATE SET \
             sessions_held = excluded.sessions_held, quorum_reached = excluded.quorum_reached, registered = excluded.registered, \
             discussed = excluded.discussed, validated = excluded.validated, withdrawn = excluded.withdrawn, sent = excluded.sent, \
             conform = excluded.conform, conform_known = excluded.conform_known, validation_delays = excluded.validation_delays, \
             sending_delays = excluded.sending_delays",
            values(sqlite, chunk.len(), 15)
        );
        let mut query = diesel::sql_query(sql).into_boxed::<Backend>();
        for (k, c) in chunk {
            query = query
                .bind::<Text, _>(k.scope.clone())
                .bind::<Text, _>(k.dim.clone())
                .bind::<Text, _>(k.period.clone())
                .bind::<Text, _>(k.k.clone())
                .bind::<BigInt, _>(c.held)
                .bind::<BigInt, _>(c.reached)
                .bind::<BigInt, _>(c.registered)
                .bind::<BigInt, _>(c.discussed)
                .bind::<BigInt, _>(c.validated)
                .bind::<BigInt, _>(c.withdrawn)
                .bind::<BigInt, _>(c.sent)
                .bind::<BigInt, _>(c.conform)
                .bind::<BigInt, _>(c.conform_known)
                .bind::<Text, _>(c.validation.to_text())
                .bind::<Text, _>(c.sending.to_text());
        }
        query.execute(conn)?;
    }
    Ok(())
}

/// The counters as the raw sessions and dossiers of the sessions starting in `year` say
/// (rows with nothing counted left out): what [`rebuild`] writes and `concerto check` compares.
pub fn recompute_year(conn: &mut DbConnection, year: i32) -> Result<BTreeMap<Key, Counts>, Error> {
    let (from, to) = year_bounds(year)?;
    let sessions: Vec<(String, String, String, NaiveDateTime, String)> = rcp_sessions::table
        .inner_join(rcps::table)
        .filter(rcp_sessions::starts_at.ge(from))
        .filter(rcp_sessions::starts_at.lt(to))
        .select((rcp_sessions::id, rcp_sessions::rcp_id, rcps::cancer_center_id, rcp_sessions::starts_at, rcp_sessions::status))
        .load(conn)?;
    let reached: BTreeSet<String> = session_quorum::table
        .inner_join(rcp_sessions::table)
        .filter(rcp_sessions::starts_at.ge(from))
        .filter(rcp_sessions::starts_at.lt(to))
        .select(session_quorum::session_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let rows: Vec<(String, DossierRow)> = dossiers::table
        .inner_join(rcp_sessions::table)
        .left_join(dossier_fiches::table)
        .filter(rcp_sessions::starts_at.ge(from))
        .filter(rcp_sessions::starts_at.lt(to))
        .select((
            dossiers::session_id,
            (
                dossiers::id,
                dossiers::requester_id,
                dossiers::status,
                dossiers::created_at,
                dossiers::validated_at,
                dossiers::first_sent_at,
                dossier_fiches::tumour_site.nullable(),
                dossier_fiches::conform.nullable(),
            ),
        ))
        .load(conn)?;
    let session_of: Vec<String> = rows.iter().map(|(s, _)| s.clone()).collect();
    let facts = with_types(conn, rows.into_iter().map(|(_, r)| r).collect())?;
    let mut by_session: BTreeMap<String, Vec<DossierFacts>> = BTreeMap::new();
    for (s, f) in session_of.into_iter().zip(facts) {
        by_session.entry(s).or_default().push(f);
    }
    let mut out: BTreeMap<Key, Counts> = BTreeMap::new();
    for (id, rcp_id, center_id, starts_at, status) in sessions {
        let held = status != "planned";
        let session = SessionFacts { rcp_id, center_id, starts_at, held, reached: held && reached.contains(&id) };
        for (k, c) in contribution(&session, by_session.get(&id).map_or(&[][..], Vec::as_slice), Counted::All, true) {
            out.entry(k).or_default().add(&c, 1);
        }
    }
    out.retain(|_, c| !c.is_zero());
    Ok(out)
}

/// The first instant of `year` and of the next.
fn year_bounds(year: i32) -> Result<(NaiveDateTime, NaiveDateTime), Error> {
    let start = |y: i32| {
        chrono::NaiveDate::from_ymd_opt(y, 1, 1)
            .map(|d| d.and_time(chrono::NaiveTime::MIN))
            .ok_or_else(|| Error::Stored(format!("no year {y}")))
    };
    Ok((start(year)?, start(year + 1)?))
}

/// The years of the sessions stored, first and last.
pub fn years(conn: &mut DbConnection) -> Result<Option<(i32, i32)>, Error> {
    let first = rcp_sessions::table.select(diesel::dsl::min(rcp_sessions::starts_at)).first::<Option<NaiveDateTime>>(conn)?;
    let last = rcp_sessions::table.select(diesel::dsl::max(rcp_sessions::starts_at)).first::<Option<NaiveDateTime>>(conn)?;
    Ok(first.zip(last).map(|(f, l)| (f.year(), l.year())))
}

/// Writes every counter again from the raw sessions and dossiers, a year of sessions at a time
/// (the generator's last step, and the start-up after the migration that added them).
pub fn rebuild(conn: &mut DbConnection) -> Result<(), Error> {
    db::write(conn, |c| {
        diesel::sql_query("DELETE FROM activity_counters").execute(c)?;
        if let Some((first, last)) = years(c)? {
            for year in first..=last {
                let rows = recompute_year(c, year)?;
                write_rows(c, &rows)?;
            }
        }
        Ok(())
    })
}

/// Rebuilds the counters when the migration that added them left its mark (a store that held
/// sessions before): once, at start-up.
pub fn rebuild_if_pending(conn: &mut DbConnection) -> Result<bool, Error> {
    let pending = diesel::sql_query(format!("SELECT {COLUMNS} FROM activity_counters WHERE scope = '{PENDING}'")).load::<Row>(conn)?;
    if pending.is_empty() {
        return Ok(false);
    }
    rebuild(conn)?;
    Ok(true)
}

/// Every stored row whose period is in `year` (the year's row and its months').
pub fn stored_year(conn: &mut DbConnection, year: i32) -> Result<BTreeMap<Key, Counts>, Error> {
    let sqlite = db::is_sqlite(conn);
    let sql = format!(
        "SELECT {COLUMNS} FROM activity_counters WHERE period = {} OR period LIKE {}",
        placeholder(sqlite, 1),
        placeholder(sqlite, 2)
    );
    let mut out = BTreeMap::new();
    for r in diesel::sql_query(sql).bind::<Text, _>(format!("{year:04}")).bind::<Text, _>(format!("{year:04}-%")).load::<Row>(conn)? {
        let c = r.counts()?;
        if !c.is_zero() {
            out.insert(r.key(), c);
        }
    }
    Ok(out)
}

/// Every period stored that is outside the years of the sessions (stale rows), when not zero.
pub fn stored_outside(conn: &mut DbConnection, years: Option<(i32, i32)>) -> Result<Vec<Key>, Error> {
    let rows = diesel::sql_query(format!("SELECT {COLUMNS} FROM activity_counters WHERE scope <> '{PENDING}'")).load::<Row>(conn)?;
    let mut out = Vec::new();
    for r in rows {
        let year: Option<i32> = r.period.get(..4).and_then(|y| y.parse().ok());
        let inside = matches!((year, years), (Some(y), Some((f, l))) if y >= f && y <= l);
        if !inside && !r.counts()?.is_zero() {
            out.push(r.key());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_reads_back_within_half_a_percent() {
        for s in [1.0, 1.5, 59.0, 3600.0, 86_400.0 * 8.0, 86_400.0 * 400.0] {
            let r = representative(bucket(s));
            assert!((r - s).abs() / s < 0.005 + 1e-9, "{s} read back as {r}");
        }
        assert!(representative(bucket(0.2)) < 1.0);
    }

    #[test]
    fn percentiles_are_the_nearest_rank_of_the_sum() {
        let mut h = Histogram::default();
        for s in [3600.0, 7200.0, 10_800.0, 14_400.0] {
            h.count(s);
        }
        let median = h.percentile(1, 2).unwrap();
        assert!((median - 2.0).abs() < 0.02, "{median}");
        let p90 = h.percentile(9, 10).unwrap();
        assert!((p90 - 4.0).abs() < 0.04, "{p90}");
        let text = h.to_text();
        assert_eq!(Histogram::parse(&text).unwrap(), h);
        let mut sum = h.clone();
        sum.add(&h, -1);
        assert!(sum.0.is_empty() && sum.percentile(1, 2).is_none());
    }
}
