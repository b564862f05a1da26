//! Connections: the store chosen from `DATABASE_URL`, embedded migrations, the r2d2 pool.

use std::cell::Cell;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::r2d2::{ConnectionManager, CustomizeConnection, ManageConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::Error;

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// Settings applied to every SQLite connection: without a busy timeout, parallel writers get
/// "database is locked"; foreign keys are off by default in SQLite. Memory: each connection's
/// page cache keeps SQLite's default of 2 MiB (the pool holds 10); the bundled library is built
/// without memory statistics and with a page cache per connection (`.cargo/config.toml`), since
/// their process-wide mutexes serialized the pool's connections (#11, seventh round), so a
/// process-wide soft heap limit would no longer be enforced and is not set.
const SQLITE_PRAGMAS: &str =
    "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 67108864;";

/// The read trail's schema: `audit_events`' columns and indexes. Created when missing, at
/// start-up; `user_version` numbers its versions, for the migrations it may need one day.
const READ_TRAIL_SCHEMA: &str = "PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS read_events (
    id TEXT PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    actor_id TEXT NOT NULL,
    on_behalf_of TEXT NOT NULL,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    patient_id TEXT,
    cancer_center_id TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied'))
);
CREATE INDEX IF NOT EXISTS read_events_at ON read_events (at, id);
CREATE INDEX IF NOT EXISTS read_events_patient ON read_events (patient_id, at);
CREATE INDEX IF NOT EXISTS read_events_actor ON read_events (actor_id, at);
CREATE INDEX IF NOT EXISTS read_events_center ON read_events (cancer_center_id, at);
PRAGMA user_version = 1;";

/// The SQLite file that holds the events of reads, beside the store's own file: `concerto.db`
/// keeps its trail of reads in `concerto.db.read-trail` (README, "The read trail on SQLite").
///
/// Why a file of its own: SQLite empties every other connection's page cache of a file each
/// time one connection commits to it. Written in the store's file, the event of every read
/// made each following read start cold, reading its index pages again (#11, eighth round). A
/// write keeps its event in the store's file, committed with it.
pub fn read_trail_path(store_path: &str) -> String {
    match store_path.split_once('?') {
        _ if store_path.is_empty() || store_path == ":memory:" => ":memory:".to_owned(),
        Some((file, query)) if store_path.starts_with("file:") => format!("{file}.read-trail?{query}"),
        _ => format!("{store_path}.read-trail"),
    }
}

/// The one connection of a pool to its read trail ([`read_trail_path`]), shared by the pool's
/// connections. It alone opens the file, so its page cache is never emptied by another
/// connection's commit, and the events of reads never wait for the store's writers.
pub struct ReadTrail(Mutex<SqliteConnection>);

impl std::fmt::Debug for ReadTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadTrail")
    }
}

/// Opens the read trail of the store at `store_path`, creating its schema when missing.
fn open_read_trail(store_path: &str) -> Result<Arc<ReadTrail>, Error> {
    let mut conn = SqliteConnection::establish(&read_trail_path(store_path)).map_err(|e| Error::Unavailable(e.to_string()))?;
    conn.batch_execute(SQLITE_PRAGMAS)?;
    conn.batch_execute(READ_TRAIL_SCHEMA)?;
    conn.set_instrumentation(Watch::default());
    Ok(Arc::new(ReadTrail(Mutex::new(conn))))
}

/// A connection to whichever store `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// Production store.
    Postgresql(PgConnection),
    /// Embedded default store.
    Sqlite(SqliteConnection),
}

/// The query backend of [`DbConnection`] (for boxed queries).
pub type Backend = <DbConnection as Connection>::Backend;

/// The connection pool shared by the request handlers.
pub type Pool = diesel::r2d2::Pool<Manager>;

/// A connection checked out of the [`Pool`]; dropping it gives it back.
pub type PooledConnection = diesel::r2d2::PooledConnection<Manager>;

/// The store named by a `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// `postgres://…` or `postgresql://…`.
    Postgres(String),
    /// Any other value: a SQLite file path (an optional `sqlite://` prefix is dropped).
    Sqlite(String),
}

impl Store {
    /// Chooses the store from the URL scheme.
    pub fn from_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres(url.to_owned())
        } else {
            Self::Sqlite(url.strip_prefix("sqlite://").unwrap_or(url).to_owned())
        }
    }

    /// The string diesel connects with.
    pub fn url(&self) -> &str {
        match self {
            Self::Postgres(u) | Self::Sqlite(u) => u,
        }
    }
}

/// SQL statements sent on one thread, as counted by the instrumentation of pooled connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatementCount {
    /// Every statement, `BEGIN`/`COMMIT`/`ROLLBACK` and savepoints included.
    pub all: u64,
    /// Transaction control statements only (`BEGIN`, `COMMIT`, `ROLLBACK`, savepoints).
    pub transaction: u64,
}

impl StatementCount {
    /// The statements that read or write data: all but transaction control.
    pub fn besides_transactions(&self) -> u64 {
        self.all.saturating_sub(self.transaction)
    }

    /// What was sent since `earlier` (a count taken on the same thread).
    pub fn since(&self, earlier: StatementCount) -> StatementCount {
        StatementCount { all: self.all.saturating_sub(earlier.all), transaction: self.transaction.saturating_sub(earlier.transaction) }
    }
}

thread_local! {
    // A connection is used by one thread at a time and a request's work runs on one blocking
    // thread, so a per-thread tally read before and after the work counts that work alone.
    static STATEMENTS: Cell<StatementCount> = const { Cell::new(StatementCount { all: 0, transaction: 0 }) };
}

/// The statements pooled connections have sent on this thread so far: read it before and after
/// a piece of work to count that work's round trips.
pub fn statements_on_this_thread() -> StatementCount {
    STATEMENTS.with(Cell::get)
}

/// The instrumentation of every pooled connection: counts its statements on the running
/// thread, and remembers when the server closed it, so that the pool drops it on return instead
/// of handing out a dead connection (pooled connections are not pinged before use). On SQLite
/// it also carries the pool's read trail to every pooled connection.
#[derive(Debug, Default)]
struct Watch {
    closed: bool,
    read_trail: Option<Arc<ReadTrail>>,
}

impl Instrumentation for Watch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery {
            error: Some(DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _)),
            ..
        } = event
        {
            self.closed = true;
        }
        STATEMENTS.with(|c| {
            let mut n = c.get();
            match event {
                InstrumentationEvent::StartQuery { .. } => n.all += 1,
                InstrumentationEvent::BeginTransaction { .. }
                | InstrumentationEvent::CommitTransaction { .. }
                | InstrumentationEvent::RollbackTransaction { .. } => n.transaction += 1,
                _ => {}
            }
            c.set(n);
        });
    }
}

/// diesel's connection manager, which also discards a connection the server closed.
#[derive(Debug)]
pub struct Manager(ConnectionManager<DbConnection>);

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.0.connect()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        self.0.is_valid(conn)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        self.0.has_broken(conn) || conn.instrumentation().downcast_ref::<Watch>().is_some_and(|w| w.closed)
    }
}

/// Sets up each new connection of the pool; on SQLite, hands it the pool's read trail.
#[derive(Debug)]
struct Customizer {
    read_trail: Option<Arc<ReadTrail>>,
}

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for Customizer {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        match conn {
            DbConnection::Sqlite(c) => c.batch_execute(SQLITE_PRAGMAS).map_err(diesel::r2d2::Error::QueryError)?,
            // PostgreSQL compiles any statement its planner costs above `jit_above_cost`: the
            // activity report over a region's year spent 800 ms of its 1.3 s compiling, and the
            // short statements of every other request never gain from it. Nor do they gain from
            // parallel workers, which PostgreSQL starts for any plan it costs high enough: at 1M
            // dossiers and 16 connections, a search that reads a secretary's 1,500 dossiers went
            // from 130 to 200-300 requests/s without them, the activity report unchanged (#11).
            DbConnection::Postgresql(c) => {
                c.batch_execute("SET jit = off; SET max_parallel_workers_per_gather = 0").map_err(diesel::r2d2::Error::QueryError)?
            }
        }
        conn.set_instrumentation(Watch { closed: false, read_trail: self.read_trail.clone() });
        Ok(())
    }
}

/// How long a request waits for a connection before it answers 503: short, so that an outage
/// is reported within a couple of seconds instead of piling up waiting requests.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// Applies the embedded migrations on a plain connection (so a bad URL or an unreachable server
/// reports its real error), then opens the pool.
pub fn connect(store: &Store, max_size: u32) -> Result<Pool, Error> {
    connect_with_timeout(store, max_size, DEFAULT_CONNECTION_TIMEOUT)
}

/// [`connect`] with the longest wait for a free connection (`CONCERTO_DB_TIMEOUT_MS`).
pub fn connect_with_timeout(store: &Store, max_size: u32, timeout: Duration) -> Result<Pool, Error> {
    migrate(store)?;
    let read_trail = match store {
        Store::Sqlite(path) => Some(open_read_trail(path)?),
        Store::Postgres(_) => None,
    };
    diesel::r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(timeout)
        // No `SELECT 1` before handing out a connection: it doubled the round trips of a request.
        // A connection the driver saw break is still discarded, the next query on a dead one
        // fails with 503 once, and `/readyz` asks the store itself.
        .test_on_check_out(false)
        .connection_customizer(Box::new(Customizer { read_trail }))
        .build(Manager(ConnectionManager::new(store.url())))
        .map_err(|e| Error::Unavailable(e.to_string()))
}

/// Brings the store's schema up to date.
pub fn migrate(store: &Store) -> Result<(), Error> {
    match store {
        Store::Postgres(url) => {
            let mut conn = PgConnection::establish(url).map_err(|e| Error::Unavailable(e.to_string()))?;
            if invariants_pending(&mut conn, POSTGRES_MIGRATIONS)? {
                refuse_duplicates(diesel::sql_query(DUPLICATE_REGISTRATIONS).load(&mut conn)?)?;
            }
            conn.run_pending_migrations(POSTGRES_MIGRATIONS).map_err(|e| Error::Migration(e.to_string()))?;
        }
        Store::Sqlite(path) => {
            let mut conn = SqliteConnection::establish(path).map_err(|e| Error::Unavailable(e.to_string()))?;
            // WAL lets readers proceed while one writer writes; it is a property of the file.
            conn.batch_execute("PRAGMA journal_mode = WAL;")?;
            conn.batch_execute(SQLITE_PRAGMAS)?;
            if invariants_pending(&mut conn, SQLITE_MIGRATIONS)? {
                refuse_duplicates(diesel::sql_query(DUPLICATE_REGISTRATIONS).load(&mut conn)?)?;
            }
            conn.run_pending_migrations(SQLITE_MIGRATIONS).map_err(|e| Error::Migration(e.to_string()))?;
        }
    }
    Ok(())
}

/// Patients registered more than once, live, in one session: what the `invariants` migration's
/// unique index forbids. Plain SQL that both stores read alike.
const DUPLICATE_REGISTRATIONS: &str = "SELECT session_id, patient_id, COUNT(*) AS registrations FROM dossiers \
     WHERE status <> 'withdrawn' GROUP BY session_id, patient_id HAVING COUNT(*) > 1 ORDER BY session_id, patient_id";

/// One patient registered several times in one session.
#[derive(Debug, diesel::QueryableByName)]
struct DuplicateRegistration {
    #[diesel(sql_type = diesel::sql_types::Text)]
    session_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    patient_id: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    registrations: i64,
}

/// True when the migration adding the unique index on registrations is about to run over a
/// store that already holds dossiers (a database used before the index existed).
fn invariants_pending<C>(conn: &mut C, migrations: EmbeddedMigrations) -> Result<bool, Error>
where
    C: MigrationHarness<C::Backend> + Connection,
{
    let pending: Vec<String> =
        conn.pending_migrations(migrations).map_err(|e| Error::Migration(e.to_string()))?.iter().map(|m| m.name().to_string()).collect();
    Ok(pending.iter().any(|n| n.ends_with("_invariants")) && !pending.iter().any(|n| n.ends_with("_clinical")))
}

/// Stops the start-up, naming every duplicate, rather than let the migration fail on them or
/// drop any: the operator decides which dossier to withdraw (README, "Duplicate registrations").
fn refuse_duplicates(found: Vec<DuplicateRegistration>) -> Result<(), Error> {
    if found.is_empty() {
        return Ok(());
    }
    let list: Vec<String> =
        found.iter().map(|d| format!("session {} patient {} ({} dossiers)", d.session_id, d.patient_id, d.registrations)).collect();
    Err(Error::Migration(format!(
        "{} patient(s) are registered more than once in one session; withdraw the extra dossiers, then start again: {}",
        found.len(),
        list.join("; ")
    )))
}

/// SQLite only: copies the WAL back into the database and truncates it, waiting (up to the busy
/// timeout) for the readers of older snapshots; call it when nothing else uses the store (the
/// server holds its requests for that instant). Returns whether the WAL could be reset.
pub fn checkpoint_wal(conn: &mut DbConnection) -> Result<bool, Error> {
    #[derive(diesel::QueryableByName)]
    struct Checkpoint {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        busy: i32,
    }
    if !matches!(conn, DbConnection::Sqlite(_)) {
        return Ok(true);
    }
    let rows = diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").load::<Checkpoint>(conn)?;
    Ok(rows.first().is_some_and(|r| r.busy == 0))
}

/// Answers when the store does: used by `/readyz`.
pub fn ping(conn: &mut DbConnection) -> Result<(), Error> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

/// `/readyz`: asks the store through the pool. Connections are not pinged when handed out, so
/// after an outage the idle ones may be dead: each failed ping discards its connection, and the
/// check goes on (at most once per connection the pool may hold) until one answers or a new
/// connection cannot be made.
pub fn ready(pool: &Pool) -> Result<(), Error> {
    let mut last = Error::Unavailable("no connection".to_owned());
    for _ in 0..=pool.max_size() {
        match pool.get().map_err(Error::from).and_then(|mut conn| ping(&mut conn)) {
            Ok(()) => return Ok(()),
            Err(e @ Error::Unavailable(_)) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// True when the directory holds nobody: `concerto demo` loads only into such a store.
pub fn is_empty(conn: &mut DbConnection) -> Result<bool, Error> {
    use crate::schema::professionals;
    use diesel::QueryDsl;
    use diesel::dsl::{exists, select};
    Ok(!select(exists(professionals::table.select(professionals::id))).get_result::<bool>(conn)?)
}

/// The turn of this process's SQLite writers (one store per process; in tests, each test is a
/// process of its own under nextest, and sharing the turn between stores is only slower).
static SQLITE_WRITER: Mutex<()> = Mutex::new(());

/// Runs `work` in one transaction that will write: all of it is written, or none.
///
/// On SQLite the transaction begins as a writer (`BEGIN IMMEDIATE`): it waits its turn for the
/// single write lock (up to `busy_timeout`) before reading anything. A deferred transaction that
/// reads and then writes would instead fail at once with "database is locked" whenever another
/// writer committed in between, since its snapshot can no longer be upgraded. PostgreSQL's
/// `READ COMMITTED` has no such upgrade; its races are closed by constraints, row locks and
/// conditional updates in the repositories.
pub fn write<T>(conn: &mut DbConnection, work: impl FnOnce(&mut DbConnection) -> Result<T, Error>) -> Result<T, Error> {
    write_planned(conn, Plans::Chosen, work)
}

/// SQLite only: runs `work` on the pool's read trail ([`ReadTrail`]), in its turn; `None` on
/// PostgreSQL, which keeps one trail. Each statement of `work` is a transaction of its own.
pub fn on_read_trail<T>(conn: &mut DbConnection, work: impl FnOnce(&mut SqliteConnection) -> Result<T, Error>) -> Result<Option<T>, Error> {
    if !is_sqlite(conn) {
        return Ok(None);
    }
    let trail = conn.instrumentation().downcast_ref::<Watch>().and_then(|w| w.read_trail.clone());
    let trail = trail.ok_or_else(|| Error::Unavailable("a SQLite connection without its read trail".to_owned()))?;
    let mut trail = trail.0.lock().unwrap_or_else(PoisonError::into_inner);
    work(&mut trail).map(Some)
}

/// How PostgreSQL plans the prepared statements of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plans {
    /// PostgreSQL's own choice, which re-plans every call of a statement whose parameters make
    /// its generic plan look dearer. An audited read with it runs in no transaction on
    /// PostgreSQL ([`read_in_autocommit`]).
    Chosen,
    /// [`Plans::Chosen`], in a transaction, so that a statement of the read may keep generic
    /// plans for the rest of it with `set_config('plan_cache_mode', …, true)`. The dossier
    /// search: under a common prefix, a caller who sees many RCPs whole needs a plan that knows
    /// the prefix, and it keeps generic plans for everyone else
    /// (`search::patients_under_prefix`).
    Switchable,
    /// Each prepared statement keeps its generic plan (`plan_cache_mode = force_generic_plan`,
    /// set in the round trip of the `BEGIN`). For the lists of #11 whose plans are index walks
    /// that do not depend on the values: planning them with `IN`/`ANY` lists afresh on every
    /// call cost as much as running them (at 1M dossiers, 16 connections: the agenda went from
    /// 1,050 to 1,870 requests/s, reports to send from 750 to 1,490).
    Kept,
}

/// [`write`], with the plans of `plans` on PostgreSQL (SQLite has no such choice).
pub fn write_planned<T>(
    conn: &mut DbConnection,
    plans: Plans,
    work: impl FnOnce(&mut DbConnection) -> Result<T, Error>,
) -> Result<T, Error> {
    use diesel::connection::AnsiTransactionManager;
    // Inside a transaction already (the demo world, built in one), a savepoint suffices.
    if in_transaction(conn)? {
        return conn.transaction(work);
    }
    let sqlite = match conn {
        DbConnection::Sqlite(sqlite) => sqlite,
        DbConnection::Postgresql(pg) if plans == Plans::Kept => {
            // `SET LOCAL` ends with the transaction; sent with `BEGIN`, it costs no round trip.
            AnsiTransactionManager::begin_transaction_sql(pg, "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan")?;
            return finish(conn, work);
        }
        DbConnection::Postgresql(_) => return conn.transaction(work),
    };
    // Writers of this process queue on a mutex before asking SQLite for its lock: a waiter
    // wakes the moment the writer before it commits, whereas SQLite's busy handler polls with
    // sleeps of up to 100 ms, which made the p99 of every audited read 60-80 ms under load.
    // `busy_timeout` still arbitrates with other processes (the CLI, a second instance).
    let _turn = SQLITE_WRITER.lock().unwrap_or_else(PoisonError::into_inner);
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    finish(conn, work)
}

/// Runs `work` in the transaction just begun on the inner connection, then commits it, or
/// rolls it back when `work` fails. The outer connection's manager delegates to the inner
/// connection's state, so it sees the transaction.
fn finish<T>(conn: &mut DbConnection, work: impl FnOnce(&mut DbConnection) -> Result<T, Error>) -> Result<T, Error> {
    use diesel::connection::TransactionManager;
    match work(conn) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            // A failed rollback leaves the connection broken; r2d2 then discards it.
            let _ = <DbConnection as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// Runs `work`, which only reads, in one transaction that never takes the write lock, so
/// readers proceed beside a writer on either store: one snapshot on SQLite; on PostgreSQL,
/// under `READ COMMITTED`, a snapshot per statement.
pub fn read<T>(conn: &mut DbConnection, work: impl FnOnce(&mut DbConnection) -> Result<T, Error>) -> Result<T, Error> {
    conn.transaction(work)
}

/// Runs `work`, which only reads, for an audited read with PostgreSQL's own plans: on SQLite in
/// a snapshot ([`read`]); on PostgreSQL in no transaction at all, each statement its own, which
/// is what `READ COMMITTED` gives each statement inside a transaction too (a snapshot of its
/// own). Its `BEGIN` and `COMMIT` were two of a dossier read's five round trips: pgbench, 1M
/// dossiers, 16 clients, ran a dossier read's statements at 2,413-2,464 transactions/s with
/// them and 2,894-3,098 without (#11, ninth round). Inside a transaction already, a savepoint.
pub fn read_in_autocommit<T>(conn: &mut DbConnection, work: impl FnOnce(&mut DbConnection) -> Result<T, Error>) -> Result<T, Error> {
    if is_sqlite(conn) || in_transaction(conn)? { read(conn, work) } else { work(conn) }
}

/// True when `conn` is inside a transaction already (the demo world is built in one).
fn in_transaction(conn: &mut DbConnection) -> Result<bool, Error> {
    use diesel::connection::TransactionManager;
    Ok(<DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn).transaction_depth()?.is_some())
}

/// True on the embedded store.
pub fn is_sqlite(conn: &DbConnection) -> bool {
    matches!(conn, DbConnection::Sqlite(_))
}

/// Creates an empty PostgreSQL database named `name` through the server of `admin_url` (tests
/// give each test its own database).
pub fn create_postgres_database(admin_url: &str, name: &str) -> Result<(), Error> {
    check_database_name(name)?;
    let mut conn = PgConnection::establish(admin_url).map_err(|e| Error::Unavailable(e.to_string()))?;
    diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn)?;
    Ok(())
}

/// Drops a database made by [`create_postgres_database`], closing its connections first.
pub fn drop_postgres_database(admin_url: &str, name: &str) -> Result<(), Error> {
    check_database_name(name)?;
    let mut conn = PgConnection::establish(admin_url).map_err(|e| Error::Unavailable(e.to_string()))?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut conn)?;
    Ok(())
}

/// Database names are interpolated into SQL: allow only a safe alphabet.
fn check_database_name(name: &str) -> Result<(), Error> {
    if !name.is_empty() && name.len() <= 63 && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        Ok(())
    } else {
        Err(Error::Migration(format!("refusing database name {name:?}")))
    }
}

/// Opens or closes a PostgreSQL database to new connections and ends the current ones: an
/// outage drill for `/readyz` (used by the tests).
pub fn set_postgres_database_open(admin_url: &str, name: &str, open: bool) -> Result<(), Error> {
    check_database_name(name)?;
    let mut conn = PgConnection::establish(admin_url).map_err(|e| Error::Unavailable(e.to_string()))?;
    diesel::sql_query(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {open}")).execute(&mut conn)?;
    if !open {
        diesel::sql_query(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")).execute(&mut conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two live dossiers of one patient in one session, written as a store older than the
    /// unique index could hold them (foreign keys off: only the dossiers matter here).
    const DUPLICATES: &str = "INSERT INTO dossiers (id, session_id, rcp_id, patient_id, requester_id, status, version, registered_by, created_at, updated_at) VALUES \
        ('d1', 's1', 'r1', 'p1', 'x', 'registered', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00'), \
        ('d2', 's1', 'r1', 'p1', 'x', 'discussed', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00'), \
        ('d3', 's1', 'r1', 'p2', 'x', 'registered', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00'), \
        ('d4', 's1', 'r1', 'p2', 'x', 'withdrawn', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00')";

    #[test]
    fn the_invariants_migration_names_existing_duplicates_and_drops_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db").to_string_lossy().into_owned();
        let mut conn = SqliteConnection::establish(&path).unwrap();
        // The two migrations a store had before the index.
        conn.run_next_migration(SQLITE_MIGRATIONS).unwrap();
        conn.run_next_migration(SQLITE_MIGRATIONS).unwrap();
        conn.batch_execute("PRAGMA foreign_keys = OFF;").unwrap();
        conn.batch_execute(DUPLICATES).unwrap();
        drop(conn);

        let refused = migrate(&Store::Sqlite(path.clone())).unwrap_err().to_string();
        assert!(refused.contains("1 patient(s)") && refused.contains("session s1 patient p1 (2 dossiers)"), "{refused}");
        assert!(!refused.contains("p2"), "a withdrawn dossier is no duplicate: {refused}");
        let mut conn = SqliteConnection::establish(&path).unwrap();
        let left: i64 = diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::BigInt>("(SELECT COUNT(*) FROM dossiers)"))
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(left, 4, "nothing dropped");

        // Once the operator withdraws the extra dossier, the migration runs and holds the rule.
        conn.batch_execute("UPDATE dossiers SET status = 'withdrawn' WHERE id = 'd2';").unwrap();
        drop(conn);
        migrate(&Store::Sqlite(path.clone())).unwrap();
        let mut conn = SqliteConnection::establish(&path).unwrap();
        conn.batch_execute("PRAGMA foreign_keys = OFF;").unwrap();
        let again = conn.batch_execute(
            "INSERT INTO dossiers (id, session_id, rcp_id, patient_id, requester_id, status, version, registered_by, created_at, updated_at) \
             VALUES ('d5', 's1', 'r1', 'p1', 'x', 'registered', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        );
        assert!(again.is_err(), "the unique index refuses a second live registration");
    }

    /// A SQLite store in a temporary directory, migrated up to the migration whose version
    /// contains `last`, foreign keys off (the tests write only the rows they need).
    fn store_up_to(last: &str) -> (tempfile::TempDir, String, SqliteConnection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db").to_string_lossy().into_owned();
        let mut conn = SqliteConnection::establish(&path).unwrap();
        while conn.applied_migrations().unwrap().iter().all(|v| !v.to_string().contains(last)) {
            conn.run_next_migration(SQLITE_MIGRATIONS).unwrap();
        }
        conn.batch_execute("PRAGMA foreign_keys = OFF;").unwrap();
        (dir, path, conn)
    }

    /// One column of one dossier, as SQLite keeps it (`None` for NULL).
    fn dossier_column(conn: &mut SqliteConnection, column: &str, id: &str) -> Option<String> {
        diesel::dsl::select(diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(&format!(
            "(SELECT {column} FROM dossiers WHERE id = '{id}')"
        )))
        .get_result(conn)
        .unwrap()
    }

    #[test]
    fn the_first_sending_migration_dates_each_dossier_from_its_oldest_transmission() {
        // A store as it was before `first_sent_at`: every migration up to the worklist's.
        let (_dir, path, mut conn) = store_up_to("000009");
        conn.batch_execute(
            "INSERT INTO dossiers (id, session_id, rcp_id, patient_id, requester_id, status, version, registered_by, created_at, updated_at) VALUES \
             ('d1', 's1', 'r1', 'p1', 'x', 'validated', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00'), \
             ('d2', 's1', 'r1', 'p2', 'x', 'validated', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00'), \
             ('d9', 's1', 'r1', 'p3', 'x', 'validated', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        )
        .unwrap();
        conn.batch_execute(
            "INSERT INTO report_transmissions (id, dossier_id, channel, sent_by, sent_at) VALUES \
             ('t1', 'd2', 'mail', 'x', '2026-01-03 10:00:00'), ('t2', 'd2', 'mail', 'x', '2026-01-02 09:00:00'), \
             ('t3', 'd1', 'mail', 'x', '2026-01-05 08:00:00')",
        )
        .unwrap();
        drop(conn);
        migrate(&Store::Sqlite(path.clone())).unwrap();
        let mut conn = SqliteConnection::establish(&path).unwrap();
        let first = |conn: &mut SqliteConnection, id: &str| dossier_column(conn, "first_sent_at", id);
        assert_eq!(first(&mut conn, "d2").as_deref(), Some("2026-01-02 09:00:00"), "the oldest of two sendings");
        assert_eq!(first(&mut conn, "d1").as_deref(), Some("2026-01-05 08:00:00"));
        assert_eq!(first(&mut conn, "d9"), None, "never sent");
    }

    /// `dossiers.session_starts_at` is the database's copy of its session's start: written by
    /// the migration for the dossiers already there, by a trigger for a new one, and kept right
    /// when a session moves or a dossier changes session, whatever the application writes.
    #[test]
    fn a_dossier_carries_its_sessions_start_whatever_moves() {
        // A store as it was before the column: every migration up to the tab's covering index.
        let (_dir, path, mut conn) = store_up_to("000012");
        conn.batch_execute(
            "INSERT INTO rcp_sessions (id, rcp_id, starts_at, status, created_at) VALUES \
             ('s1', 'r1', '2026-03-02 14:00:00', 'planned', '2026-01-01 00:00:00'), \
             ('s2', 'r1', '2026-03-09 14:00:00', 'planned', '2026-01-01 00:00:00'); \
             INSERT INTO dossiers (id, session_id, rcp_id, patient_id, requester_id, status, version, registered_by, created_at, updated_at) \
             VALUES ('d1', 's1', 'r1', 'p1', 'x', 'registered', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        )
        .unwrap();
        drop(conn);
        migrate(&Store::Sqlite(path.clone())).unwrap();
        let mut conn = SqliteConnection::establish(&path).unwrap();
        conn.batch_execute("PRAGMA foreign_keys = OFF;").unwrap();
        let start = |conn: &mut SqliteConnection, id: &str| dossier_column(conn, "session_starts_at", id).unwrap();
        assert_eq!(start(&mut conn, "d1"), "2026-03-02 14:00:00", "filled by the migration");
        conn.batch_execute(
            "INSERT INTO dossiers (id, session_id, rcp_id, patient_id, requester_id, status, version, registered_by, created_at, updated_at) \
             VALUES ('d2', 's2', 'r1', 'p2', 'x', 'registered', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        )
        .unwrap();
        assert_eq!(start(&mut conn, "d2"), "2026-03-09 14:00:00", "a new dossier, written without it");
        conn.batch_execute("UPDATE rcp_sessions SET starts_at = '2026-03-03 09:00:00' WHERE id = 's1'").unwrap();
        assert_eq!(start(&mut conn, "d1"), "2026-03-03 09:00:00", "its session moved");
        assert_eq!(start(&mut conn, "d2"), "2026-03-09 14:00:00", "another session's dossier stays");
        conn.batch_execute("UPDATE dossiers SET session_id = 's2' WHERE id = 'd1'").unwrap();
        assert_eq!(start(&mut conn, "d1"), "2026-03-09 14:00:00", "it changed session");
        conn.batch_execute("UPDATE dossiers SET session_starts_at = '1999-01-01 00:00:00' WHERE id = 'd1'").unwrap();
        assert_eq!(start(&mut conn, "d1"), "2026-03-09 14:00:00", "a direct write does not stick");
    }

    #[test]
    fn the_read_trail_lies_beside_the_store_whatever_its_name() {
        assert_eq!(read_trail_path("concerto.db"), "concerto.db.read-trail");
        assert_eq!(read_trail_path("/var/lib/concerto/x.db"), "/var/lib/concerto/x.db.read-trail");
        assert_eq!(read_trail_path("file:x.db?mode=rwc"), "file:x.db.read-trail?mode=rwc");
        assert_eq!(read_trail_path(":memory:"), ":memory:");
    }

    /// The bundled SQLite is the one `.cargo/config.toml` asks for: a build without these flags
    /// (another workspace root, a system library) would still pass every other test while it
    /// prepared every list again on each call and serialized the pool on its mutexes (#11).
    #[test]
    fn the_bundled_sqlite_is_built_for_the_pool() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let options: Vec<String> = diesel::sql_query("SELECT compile_options FROM pragma_compile_options")
            .load::<CompileOption>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|o| o.compile_options)
            .collect();
        for wanted in ["ENABLE_QPSG", "DEFAULT_MEMSTATUS=0", "ENABLE_PERCENTILE"] {
            assert!(options.iter().any(|o| o == wanted), "SQLite built without {wanted}: {options:?}");
        }
        assert!(!options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"), "{options:?}");
    }

    #[derive(diesel::QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }

    /// `dossiers.patient_search_family` is the database's copy of its patient's search key:
    /// written by the migration, by the insert trigger, and kept right when the family name is
    /// corrected or a dossier changes patient, whatever the application writes.
    #[test]
    fn a_dossier_carries_its_patients_search_key_whatever_moves() {
        // A store as it was before the column: every migration up to the session's start copy.
        let (_dir, path, mut conn) = store_up_to("000013");
        const PATIENTS: &str = "INSERT INTO patients (id, family_name, given_name, search_family, search_given, birth_date, sex, created_by, created_at, version) VALUES";
        const DOSSIER: &str = "INSERT INTO dossiers (id, session_id, rcp_id, patient_id, requester_id, status, version, registered_by, created_at, updated_at) VALUES";
        conn.batch_execute(&format!(
            "INSERT INTO rcp_sessions (id, rcp_id, starts_at, status, created_at) VALUES ('s1', 'r1', '2026-03-02 14:00:00', 'planned', '2026-01-01 00:00:00'); \
             {PATIENTS} ('p1', 'Dupont', 'Ana', 'dupont', 'ana', '1960-01-01', 'female', 'x', '2026-01-01 00:00:00', 1), \
             ('p2', 'Martin', 'Léo', 'martin', 'leo', '1970-01-01', 'male', 'x', '2026-01-01 00:00:00', 1), \
             ('p3', 'Petit', 'Eva', 'petit', 'eva', '1980-01-01', 'female', 'x', '2026-01-01 00:00:00', 1); \
             {DOSSIER} ('d1', 's1', 'r1', 'p1', 'x', 'registered', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        ))
        .unwrap();
        drop(conn);
        migrate(&Store::Sqlite(path.clone())).unwrap();
        let mut conn = SqliteConnection::establish(&path).unwrap();
        conn.batch_execute("PRAGMA foreign_keys = OFF;").unwrap();
        let copy = |conn: &mut SqliteConnection, id: &str| {
            (dossier_column(conn, "patient_search_family", id).unwrap(), dossier_column(conn, "session_starts_at", id).unwrap())
        };
        assert_eq!(copy(&mut conn, "d1").0, "dupont", "filled by the migration");
        conn.batch_execute(&format!(
            "{DOSSIER} ('d2', 's1', 'r1', 'p2', 'x', 'registered', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        ))
        .unwrap();
        assert_eq!(copy(&mut conn, "d2"), ("martin".to_owned(), "2026-03-02 14:00:00".to_owned()), "a new dossier: both copies");
        conn.batch_execute("UPDATE patients SET family_name = 'Durand', search_family = 'durand' WHERE id = 'p1'").unwrap();
        assert_eq!(copy(&mut conn, "d1").0, "durand", "its patient's name corrected");
        assert_eq!(copy(&mut conn, "d2").0, "martin", "another patient's dossier stays");
        conn.batch_execute("UPDATE dossiers SET patient_id = 'p3' WHERE id = 'd1'").unwrap();
        assert_eq!(copy(&mut conn, "d1").0, "petit", "it changed patient");
        conn.batch_execute("UPDATE dossiers SET patient_search_family = 'zz' WHERE id = 'd1'").unwrap();
        assert_eq!(copy(&mut conn, "d1").0, "petit", "a direct write does not stick");
    }
}
