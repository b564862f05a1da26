//! Migrations: the embedded migrations of each store, applied at start-up on a plain
//! connection, with the checks a migration needs of the data it finds.

use diesel::connection::SimpleConnection as _;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::connection::{SQLITE_PRAGMAS, Store};
use crate::Error;

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

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

    /// `dossiers.patient_treating_physician_id` is the database's copy of its patient's treating
    /// physician: written by the migration, by the insert trigger, and kept right when the
    /// patient's treating physician changes or a dossier changes patient, whatever the
    /// application writes.
    #[test]
    fn a_dossier_carries_its_patients_treating_physician_whatever_moves() {
        // A store as it was before the column: every migration up to the FHIR provenance index.
        let (_dir, path, mut conn) = store_up_to("000028");
        const PATIENTS: &str = "INSERT INTO patients (id, family_name, given_name, search_family, search_given, birth_date, sex, treating_physician_id, created_by, created_at, version) VALUES";
        const DOSSIER: &str = "INSERT INTO dossiers (id, session_id, rcp_id, patient_id, requester_id, status, version, registered_by, created_at, updated_at) VALUES";
        conn.batch_execute(&format!(
            "INSERT INTO rcp_sessions (id, rcp_id, starts_at, status, created_at) VALUES ('s1', 'r1', '2026-03-02 14:00:00', 'planned', '2026-01-01 00:00:00'); \
             {PATIENTS} ('p1', 'Dupont', 'Ana', 'dupont', 'ana', '1960-01-01', 'female', 'doc1', 'x', '2026-01-01 00:00:00', 1), \
             ('p2', 'Martin', 'Léo', 'martin', 'leo', '1970-01-01', 'male', 'doc2', 'x', '2026-01-01 00:00:00', 1), \
             ('p3', 'Petit', 'Eva', 'petit', 'eva', '1980-01-01', 'female', NULL, 'x', '2026-01-01 00:00:00', 1), \
             ('p4', 'Roux', 'Lou', 'roux', 'lou', '1990-01-01', 'female', 'doc4', 'x', '2026-01-01 00:00:00', 1); \
             {DOSSIER} ('d1', 's1', 'r1', 'p1', 'x', 'registered', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00'), \
             ('d3', 's1', 'r1', 'p3', 'x', 'registered', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        ))
        .unwrap();
        drop(conn);
        migrate(&Store::Sqlite(path.clone())).unwrap();
        let mut conn = SqliteConnection::establish(&path).unwrap();
        conn.batch_execute("PRAGMA foreign_keys = OFF;").unwrap();
        let treating = |conn: &mut SqliteConnection, id: &str| dossier_column(conn, "patient_treating_physician_id", id);
        assert_eq!(treating(&mut conn, "d1").as_deref(), Some("doc1"), "filled by the migration");
        assert_eq!(treating(&mut conn, "d3"), None, "a patient without a treating physician");
        conn.batch_execute(&format!(
            "{DOSSIER} ('d2', 's1', 'r1', 'p2', 'x', 'registered', 1, 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        ))
        .unwrap();
        assert_eq!(treating(&mut conn, "d2").as_deref(), Some("doc2"), "a new dossier, written without it");
        assert_eq!(dossier_column(&mut conn, "patient_search_family", "d2").as_deref(), Some("martin"), "with the other copies");
        conn.batch_execute("UPDATE patients SET treating_physician_id = 'doc9' WHERE id = 'p1'").unwrap();
        assert_eq!(treating(&mut conn, "d1").as_deref(), Some("doc9"), "its patient changed treating physician");
        assert_eq!(treating(&mut conn, "d2").as_deref(), Some("doc2"), "another patient's dossier stays");
        conn.batch_execute("UPDATE patients SET treating_physician_id = NULL WHERE id = 'p1'").unwrap();
        assert_eq!(treating(&mut conn, "d1"), None, "its patient has none any more");
        conn.batch_execute("UPDATE dossiers SET patient_id = 'p4' WHERE id = 'd1'").unwrap();
        assert_eq!(treating(&mut conn, "d1").as_deref(), Some("doc4"), "it changed patient");
        conn.batch_execute("UPDATE dossiers SET patient_treating_physician_id = 'zz' WHERE id = 'd1'").unwrap();
        assert_eq!(treating(&mut conn, "d1").as_deref(), Some("doc4"), "a direct write does not stick");
    }
}

/// `schema.rs` against the schema the SQLite migrations build: what `diesel print-schema` would
/// be diffed against, checked from SQLite's own account of each table (`PRAGMA table_info`), in
/// the suite, with nothing to install.
#[cfg(test)]
mod schema_check {
    use std::collections::BTreeMap;

    use diesel::{Connection, RunQueryDsl, SqliteConnection};

    use super::{Store, migrate};

    /// Columns the migrations add that `schema.rs` leaves out on purpose: copies kept by
    /// triggers, read by the search's SQL only, which diesel's `table!` would cap (16 columns
    /// without `32-column-tables`) and every `dossiers::all_columns` would then carry.
    const LEFT_OUT: &[(&str, &str)] =
        &[("dossiers", "session_starts_at"), ("dossiers", "patient_search_family"), ("dossiers", "patient_treating_physician_id")];

    /// A table as declared: its primary key, and each column's name and diesel type, in order.
    #[derive(Debug, PartialEq, Eq)]
    struct Table {
        primary_key: Vec<String>,
        columns: Vec<(String, String)>,
    }

    /// The tables of `schema.rs`, read from its `diesel::table!` blocks.
    fn declared() -> BTreeMap<String, Table> {
        let source = include_str!("../schema.rs");
        let mut tables = BTreeMap::new();
        for block in source.split("diesel::table! {").skip(1) {
            let mut lines = block.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("#["));
            let head = lines.next().unwrap();
            let (name, rest) = head.split_once(' ').unwrap();
            let key = rest.trim_start_matches('(').split_once(')').unwrap().0;
            let mut columns = Vec::new();
            for line in lines.take_while(|l| *l != "}") {
                let (column, kind) = line.trim_end_matches(',').split_once(" -> ").unwrap();
                columns.push((column.to_owned(), kind.to_owned()));
            }
            let primary_key = key.split(',').map(|k| k.trim().to_owned()).collect();
            tables.insert(name.to_owned(), Table { primary_key, columns });
        }
        tables
    }

    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }

    #[derive(diesel::QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        r#type: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        notnull: bool,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pk: i32,
    }

    /// The diesel type `print-schema` gives a SQLite declared type (the types the migrations use).
    fn diesel_type(declared: &str) -> String {
        match declared.to_ascii_uppercase().as_str() {
            "TEXT" => "Text",
            "TIMESTAMP" => "Timestamp",
            "DATE" => "Date",
            "INTEGER" => "Integer",
            "BIGINT" => "BigInt",
            "BOOLEAN" => "Bool",
            "BLOB" => "Binary",
            other => panic!("no diesel type known for the SQLite type {other}: add it here"),
        }
        .to_owned()
    }

    /// The tables a fresh store holds after every migration, as `schema.rs` would declare them.
    /// A primary-key column is never `Nullable`: SQLite lets a `TEXT PRIMARY KEY` hold NULL
    /// (print-schema says `Nullable<Text>` there), PostgreSQL does not, and no id is ever NULL.
    fn migrated() -> BTreeMap<String, Table> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("schema.db").to_string_lossy().into_owned();
        migrate(&Store::Sqlite(path.clone())).unwrap();
        let mut conn = SqliteConnection::establish(&path).unwrap();
        let names = diesel::sql_query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
        )
        .load::<Name>(&mut conn)
        .unwrap();
        let mut tables = BTreeMap::new();
        for Name { name } in names {
            let mut columns =
                diesel::sql_query(format!("SELECT name, type, \"notnull\", pk FROM pragma_table_info('{name}') ORDER BY cid"))
                    .load::<Column>(&mut conn)
                    .unwrap();
            columns.retain(|c| !LEFT_OUT.contains(&(name.as_str(), c.name.as_str())));
            let mut key: Vec<(i32, String)> = columns.iter().filter(|c| c.pk > 0).map(|c| (c.pk, c.name.clone())).collect();
            key.sort();
            let columns = columns
                .iter()
                .map(|c| {
                    let kind = diesel_type(&c.r#type);
                    (c.name.clone(), if c.notnull || c.pk > 0 { kind } else { format!("Nullable<{kind}>") })
                })
                .collect();
            tables.insert(name, Table { primary_key: key.into_iter().map(|(_, k)| k).collect(), columns });
        }
        tables
    }

    /// A declared table against a migrated one. SQLite's `INTEGER` holds 64 bits: a column that
    /// is `BIGINT` on PostgreSQL is `INTEGER` in the SQLite migrations, and `BigInt` in `schema.rs`.
    fn same(declared: &Table, migrated: &Table) -> bool {
        let wider = |d: &str, m: &str| d == m || d.replace("BigInt", "Integer") == m;
        declared.primary_key == migrated.primary_key
            && declared.columns.len() == migrated.columns.len()
            && declared.columns.iter().zip(&migrated.columns).all(|((dn, dt), (mn, mt))| dn == mn && wider(dt, mt))
    }

    #[test]
    fn schema_rs_declares_what_the_migrations_build() {
        let (declared, migrated) = (declared(), migrated());
        assert!(declared.len() > 20, "schema.rs read wrong: {:?}", declared.keys());
        let names = |m: &BTreeMap<String, Table>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(&declared), names(&migrated), "tables of schema.rs (left) and of the migrations (right)");
        let differences: Vec<String> = migrated
            .iter()
            .filter(|(name, table)| !same(&declared[*name], table))
            .map(|(name, table)| format!("{name}:\n  schema.rs  {:?}\n  migrations {table:?}", declared[name]))
            .collect();
        assert!(differences.is_empty(), "{}", differences.join("\n"));
    }

    #[test]
    fn the_reader_of_schema_rs_sees_every_column() {
        let dossiers = &declared()["dossiers"];
        assert_eq!(dossiers.primary_key, ["id"]);
        assert_eq!(dossiers.columns.first(), Some(&("id".to_owned(), "Text".to_owned())));
        assert_eq!(dossiers.columns.last(), Some(&("first_sent_at".to_owned(), "Nullable<Timestamp>".to_owned())));
        let profiles = &declared()["profiles"];
        assert_eq!(profiles.primary_key, ["professional_id", "cancer_center_id", "kind"]);
    }
}
