//! Database administration for the tests (feature `test-support`): a PostgreSQL database of
//! its own for each test, and the outage drills. Not in the server's build.

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::Error;

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

    #[test]
    fn only_plain_names_reach_the_sql() {
        assert!(check_database_name("t_0af3").is_ok());
        for refused in ["", "T", "a\"b", "a;drop", "a b", &"x".repeat(64)] {
            assert!(check_database_name(refused).is_err(), "{refused:?}");
        }
    }
}
