//! The connection: the store chosen from `DATABASE_URL`, and what any connection is asked
//! outside a repository (is it SQLite, does it answer, does it hold anybody).

use diesel::connection::SimpleConnection as _;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};

use crate::Error;

/// Settings applied to every SQLite connection: without a busy timeout, parallel writers get
/// "database is locked"; foreign keys are off by default in SQLite. Memory: each connection's
/// page cache keeps SQLite's default of 2 MiB (the pool holds 10); the bundled library is built
/// without memory statistics and with a page cache per connection (`.cargo/config.toml`), since
/// their process-wide mutexes serialized the pool's connections, so a
/// process-wide soft heap limit would no longer be enforced and is not set.
pub(crate) const SQLITE_PRAGMAS: &str =
    "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 67108864;";

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

/// Opens a plain SQLite connection (no pool) with the settings every connection gets.
pub(crate) fn establish_sqlite(path: &str) -> Result<SqliteConnection, Error> {
    let mut conn = SqliteConnection::establish(path).map_err(|e| Error::Unavailable(e.to_string()))?;
    conn.batch_execute(SQLITE_PRAGMAS)?;
    Ok(conn)
}

/// True on the embedded store.
pub fn is_sqlite(conn: &DbConnection) -> bool {
    matches!(conn, DbConnection::Sqlite(_))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The bundled SQLite is the one `.cargo/config.toml` asks for: a build without these flags
    /// (another workspace root, a system library) would still pass every other test while it
    /// prepared every list again on each call and serialized the pool on its mutexes.
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

    #[test]
    fn a_url_names_its_store() {
        assert_eq!(Store::from_url("postgres://h/db"), Store::Postgres("postgres://h/db".into()));
        assert_eq!(Store::from_url("postgresql://h/db"), Store::Postgres("postgresql://h/db".into()));
        assert_eq!(Store::from_url("sqlite://x.db"), Store::Sqlite("x.db".into()));
        assert_eq!(Store::from_url("x.db").url(), "x.db");
    }
}
