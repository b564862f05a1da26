//! The one error type of the persistence crate.

use concerto_domain::DomainError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What can go wrong when reading or writing the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The entity does not exist (or the caller may not know it exists).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A domain rule refused the action or the value.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A uniqueness constraint would be broken; `code` names what is already taken.
    #[error("conflict: {code}: {message}")]
    Conflict {
        /// Stable machine string (`username_taken`, `code_taken`, …).
        code: &'static str,
        /// Human-readable explanation.
        message: String,
    },
    /// Patients with the same identity exist (`possible_duplicate`), or the INS is already
    /// held (`ins_taken`): the candidates are named so the caller can pick the right record.
    #[error("{code}: {n} patient(s) with the same identity", n = candidates.len())]
    Duplicates {
        /// `possible_duplicate` or `ins_taken`.
        code: &'static str,
        /// Identity traits of the patients concerned.
        candidates: Vec<crate::patients::PatientIdentity>,
    },
    /// The caller's `If-Match` version is not the current one: someone changed it meanwhile.
    #[error("stale version: the current version is {current}")]
    Stale {
        /// The version now stored.
        current: i32,
    },
    /// A write of medical data came without the version its author read (`If-Match`).
    #[error("this write needs the version it was made from")]
    VersionRequired,
    /// The store could not be reached or no connection was free in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The store cannot grow (disk full) or cannot be written (read-only file); nothing of the
    /// refused work was kept.
    #[error("storage refused the write: {0}")]
    StorageFull(String),
    /// Anything else from the database: a bug or an outage, never the caller's fault.
    #[error("database error: {0}")]
    Database(DieselError),
    /// Migrations could not be applied.
    #[error("migrations failed: {0}")]
    Migration(String),
}

impl Error {
    /// Shorthand for a [`Error::Conflict`].
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into() }
    }
}

impl From<DieselError> for Error {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => Self::Conflict {
                code: "already_exists",
                message: format!("a record with the same unique value already exists ({})", info.message()),
            },
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, info) => {
                Self::Unavailable(info.message().to_owned())
            }
            other => match fault(&other.to_string()) {
                Some(Fault::Full(m)) => Self::StorageFull(m),
                Some(Fault::Gone(m)) => Self::Unavailable(m),
                None => Self::Database(other),
            },
        }
    }
}

impl From<diesel::r2d2::PoolError> for Error {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// A failure of the storage itself rather than of the query, recognised by the drivers' words
/// (SQLite and libpq give these as plain messages, with no error kind of their own).
enum Fault {
    /// Disk full or read-only store: the write cannot be kept.
    Full(String),
    /// The server went away under an open connection.
    Gone(String),
}

fn fault(message: &str) -> Option<Fault> {
    // SQLite rolls a transaction back by itself on a full disk or an I/O error; diesel's own
    // rollback then fails with "no transaction is active" and that error replaces the first.
    // Either way nothing of the transaction was kept.
    const FULL: [&str; 5] = [
        "database or disk is full",
        "No space left on device",
        "attempt to write a readonly database",
        "read-only",
        "cannot rollback - no transaction is active",
    ];
    const GONE: [&str; 4] =
        ["terminating connection", "server closed the connection", "no connection to the server", "connection to server"];
    if FULL.iter().any(|w| message.contains(w)) {
        Some(Fault::Full(message.to_owned()))
    } else if GONE.iter().any(|w| message.contains(w)) {
        Some(Fault::Gone(message.to_owned()))
    } else {
        None
    }
}
