//! Checkpoints: SQLite's write-ahead log copied back into the database file.

use diesel::RunQueryDsl;

use super::connection::DbConnection;
use crate::Error;

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
