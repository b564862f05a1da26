//! Transactions: the one that writes (a writer from its `BEGIN` on SQLite, in its pool's turn),
//! the one that reads, PostgreSQL's plan modes, and the read trail's statements.

use std::sync::PoisonError;

use diesel::{Connection, SqliteConnection};

use super::connection::{DbConnection, is_sqlite};
use super::pool::{read_trail_of, writer_turn_of};
use crate::Error;

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

/// SQLite only: runs `work` on the pool's read trail ([`crate::read_trail::ReadTrail`]), in its
/// turn; `None` on PostgreSQL, which keeps one trail. Each statement of `work` is a transaction
/// of its own.
pub fn on_read_trail<T>(conn: &mut DbConnection, work: impl FnOnce(&mut SqliteConnection) -> Result<T, Error>) -> Result<Option<T>, Error> {
    if !is_sqlite(conn) {
        return Ok(None);
    }
    let trail = read_trail_of(conn).ok_or_else(|| Error::Unavailable("a SQLite connection without its read trail".to_owned()))?;
    trail.run(work).map(Some)
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
    /// set in the round trip of the `BEGIN`). For the lists whose plans are index walks that do
    /// not depend on the values: planning them with `IN`/`ANY` lists afresh on every call cost
    /// as much as running them.
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
    // Only a SQLite pool has a writers' turn.
    let turn = writer_turn_of(conn);
    let sqlite = match conn {
        DbConnection::Sqlite(sqlite) => sqlite,
        DbConnection::Postgresql(pg) if plans == Plans::Kept => {
            // `SET LOCAL` ends with the transaction; sent with `BEGIN`, it costs no round trip.
            AnsiTransactionManager::begin_transaction_sql(pg, "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan")?;
            return finish(conn, work);
        }
        DbConnection::Postgresql(_) => return conn.transaction(work),
    };
    // A pool's writers queue on its mutex before asking SQLite for its lock: a waiter wakes the
    // moment the writer before it commits, whereas SQLite's busy handler polls with sleeps of up
    // to 100 ms, which stretched the tail of every audited read under load. `busy_timeout`
    // still arbitrates with other pools and processes (the CLI, a second instance), and is all a
    // connection outside a pool has.
    let _turn = turn.as_ref().map(|t| t.lock().unwrap_or_else(PoisonError::into_inner));
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
/// own). Its `BEGIN` and `COMMIT` were two of a dossier read's five round trips, for nothing.
/// Inside a transaction already, a savepoint.
pub fn read_in_autocommit<T>(conn: &mut DbConnection, work: impl FnOnce(&mut DbConnection) -> Result<T, Error>) -> Result<T, Error> {
    if is_sqlite(conn) || in_transaction(conn)? { read(conn, work) } else { work(conn) }
}

/// True when `conn` is inside a transaction already (the demo world is built in one).
fn in_transaction(conn: &mut DbConnection) -> Result<bool, Error> {
    use diesel::connection::TransactionManager;
    Ok(<DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn).transaction_depth()?.is_some())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, mpsc};
    use std::time::Duration;

    use diesel::RunQueryDsl;

    use super::*;
    use crate::db::{Pool, Store, connect};

    fn sqlite_pool(dir: &tempfile::TempDir, name: &str) -> Pool {
        connect(&Store::Sqlite(dir.path().join(name).to_string_lossy().into_owned()), 2).unwrap()
    }

    /// The writers' turn is the pool's: a writer on one store runs to its commit while a writer
    /// of another pool in the same process holds its own turn (and its store's write lock). With
    /// one turn for the process, the second writer would wait for the first, which waits for it:
    /// the bound on that wait only keeps such a failure from hanging the suite.
    #[test]
    fn a_writer_on_one_pool_does_not_wait_for_a_writer_on_another() {
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = (sqlite_pool(&dir, "one.db"), sqlite_pool(&dir, "two.db"));
        let mut held = one.get().unwrap();
        write(&mut held, |c| {
            diesel::sql_query("CREATE TABLE first_writer (x INTEGER)").execute(c)?;
            let (done, finished) = mpsc::channel();
            let other = std::thread::spawn(move || {
                let mut conn = two.get().unwrap();
                let wrote = write(&mut conn, |c| Ok(diesel::sql_query("CREATE TABLE second_writer (x INTEGER)").execute(c)?));
                done.send(wrote.is_ok()).unwrap();
            });
            assert_eq!(finished.recv_timeout(Duration::from_secs(60)), Ok(true), "the other pool's writer waited for this one");
            other.join().unwrap();
            Ok(())
        })
        .unwrap();
    }

    /// Within a pool, every connection takes the same turn; another pool's is another.
    #[test]
    fn the_connections_of_a_pool_share_one_turn() {
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = (sqlite_pool(&dir, "one.db"), sqlite_pool(&dir, "two.db"));
        let (mut a, mut b, mut c) = (one.get().unwrap(), one.get().unwrap(), two.get().unwrap());
        let (a, b, c) = (writer_turn_of(&mut a).unwrap(), writer_turn_of(&mut b).unwrap(), writer_turn_of(&mut c).unwrap());
        assert!(Arc::ptr_eq(&a, &b), "two connections of one pool");
        assert!(!Arc::ptr_eq(&a, &c), "two pools");
    }
}
