//! Connections: the store chosen from `DATABASE_URL`, embedded migrations, the r2d2 pool.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::Error;

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// Settings applied to every SQLite connection: without a busy timeout, parallel writers get
/// "database is locked"; foreign keys are off by default in SQLite.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

/// A connection to whichever store `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// Production store.
    Postgresql(PgConnection),
    /// Embedded default store.
    Sqlite(SqliteConnection),
}

/// The connection pool shared by the request handlers.
pub type Pool = diesel::r2d2::Pool<ConnectionManager<DbConnection>>;

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

#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(c) = conn {
            c.batch_execute(SQLITE_PRAGMAS).map_err(diesel::r2d2::Error::QueryError)?;
        }
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
    diesel::r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(timeout)
        .connection_customizer(Box::new(SqlitePragmas))
        .build(ConnectionManager::new(store.url()))
        .map_err(|e| Error::Unavailable(e.to_string()))
}

/// Brings the store's schema up to date.
pub fn migrate(store: &Store) -> Result<(), Error> {
    match store {
        Store::Postgres(url) => {
            let mut conn = PgConnection::establish(url).map_err(|e| Error::Unavailable(e.to_string()))?;
            conn.run_pending_migrations(POSTGRES_MIGRATIONS).map_err(|e| Error::Migration(e.to_string()))?;
        }
        Store::Sqlite(path) => {
            let mut conn = SqliteConnection::establish(path).map_err(|e| Error::Unavailable(e.to_string()))?;
            // WAL lets readers proceed while one writer writes; it is a property of the file.
            conn.batch_execute("PRAGMA journal_mode = WAL;")?;
            conn.batch_execute(SQLITE_PRAGMAS)?;
            conn.run_pending_migrations(SQLITE_MIGRATIONS).map_err(|e| Error::Migration(e.to_string()))?;
        }
    }
    Ok(())
}

/// Answers when the store does: used by `/readyz`.
pub fn ping(conn: &mut DbConnection) -> Result<(), Error> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

/// True when the directory holds nobody: `concerto demo` loads only into such a store.
pub fn is_empty(conn: &mut DbConnection) -> Result<bool, Error> {
    use crate::schema::professionals;
    use diesel::QueryDsl;
    use diesel::dsl::{exists, select};
    Ok(!select(exists(professionals::table.select(professionals::id))).get_result::<bool>(conn)?)
}

/// Runs `work` in one transaction: all of it is written, or none.
pub fn transaction<T>(conn: &mut DbConnection, work: impl FnOnce(&mut DbConnection) -> Result<T, Error>) -> Result<T, Error> {
    conn.transaction(work)
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
