//! The read trail on SQLite: the audit events of reads, in a file of their own beside the
//! store's (README, "The read trail on SQLite"). The audit trail writes and lists them
//! (`audit`); the pool opens the trail and hands it to its connections (`db`).

use std::sync::{Arc, Mutex, PoisonError};

use diesel::SqliteConnection;
use diesel::connection::{Connection as _, SimpleConnection as _};

use crate::Error;
use crate::db::connection::establish_sqlite;
use crate::db::statements::Counted;

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
/// made each following read start cold, reading its index pages again. A
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

impl ReadTrail {
    /// Opens the read trail of the store at `store_path`, creating its schema when missing.
    pub(crate) fn open(store_path: &str) -> Result<Arc<ReadTrail>, Error> {
        let mut conn = establish_sqlite(&read_trail_path(store_path))?;
        conn.batch_execute(READ_TRAIL_SCHEMA)?;
        conn.set_instrumentation(Counted);
        Ok(Arc::new(ReadTrail(Mutex::new(conn))))
    }

    /// Runs `work` on the trail, in its turn among the pool's connections.
    pub(crate) fn run<T>(&self, work: impl FnOnce(&mut SqliteConnection) -> Result<T, Error>) -> Result<T, Error> {
        let mut conn = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        work(&mut conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_trail_lies_beside_the_store_whatever_its_name() {
        assert_eq!(read_trail_path("concerto.db"), "concerto.db.read-trail");
        assert_eq!(read_trail_path("/var/lib/concerto/x.db"), "/var/lib/concerto/x.db.read-trail");
        assert_eq!(read_trail_path("file:x.db?mode=rwc"), "file:x.db.read-trail?mode=rwc");
        assert_eq!(read_trail_path(":memory:"), ":memory:");
    }
}
