//! The one error type of the persistence crate.

use concerto_domain::DomainError;
use concerto_domain::ErrorCode;
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
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
    /// Patients with the same identity exist (`possible_duplicate`), or the INS is already
    /// held (`ins_taken`): the candidates are named so the caller can pick the right record.
    #[error("{code}: {n} patient(s) with the same identity", n = candidates.len())]
    Duplicates {
        /// `possible_duplicate` or `ins_taken`.
        code: ErrorCode,
        /// Identity traits of the patients concerned.
        candidates: Vec<crate::identity::PatientIdentity>,
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
    /// A stored value that does not read back (a fiche's JSON): a fault of the store, never of
    /// the request.
    #[error("a stored value does not read back: {0}")]
    Stored(String),
}

impl Error {
    /// Shorthand for a [`Error::Conflict`].
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into() }
    }
}

/// The invariants the database holds with a unique index, and the 409 code each answers: the
/// index name as PostgreSQL reports it, the columns as SQLite does.
const UNIQUE_INVARIANTS: &[(&str, &str, ErrorCode, &str)] = &[
    (
        "dossiers_one_per_session",
        "dossiers.session_id, dossiers.patient_id",
        ErrorCode::AlreadyRegistered,
        "this patient is already registered in this session",
    ),
    ("reports_pkey", "reports.dossier_id", ErrorCode::AlreadyValidated, "this dossier is already validated"),
    ("accounts_username_key", "accounts.username", ErrorCode::UsernameTaken, "this username is already used"),
    ("accounts_professional_id_key", "accounts.professional_id", ErrorCode::AccountExists, "this professional already has an account"),
    ("patients_ins_key", "patients.ins", ErrorCode::InsTaken, "another patient holds this INS"),
    ("professionals_rpps_key", "professionals.rpps", ErrorCode::RppsTaken, "a professional with this RPPS number already exists"),
    ("cancer_centers_code_key", "cancer_centers.code", ErrorCode::CodeTaken, "a cancer center with this code already exists"),
    (
        "secretary_groups_cancer_center_id_search_name_key",
        "secretary_groups.cancer_center_id, secretary_groups.search_name",
        ErrorCode::NameTaken,
        "this center already has a secretary group of that name",
    ),
];

/// The conflict a unique violation stands for: the invariant's own code when it is one of
/// [`UNIQUE_INVARIANTS`], `already_exists` otherwise.
fn unique_conflict(info: &dyn diesel::result::DatabaseErrorInformation) -> Error {
    let message = info.message();
    let known = UNIQUE_INVARIANTS.iter().find(|(index, columns, _, _)| {
        info.constraint_name() == Some(index) || message.strip_prefix("UNIQUE constraint failed: ") == Some(columns)
    });
    match known {
        Some((_, _, code, text)) => Error::conflict(*code, *text),
        None => Error::conflict(ErrorCode::AlreadyExists, format!("a record with the same unique value already exists ({message})")),
    }
}

impl From<DieselError> for Error {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => unique_conflict(info.as_ref()),
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, info) => {
                Self::Unavailable(info.message().to_owned())
            }
            // SQLITE_BUSY once `busy_timeout` has run out: the store is busy, not broken; the
            // caller may retry (503 with Retry-After).
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) if is_busy(info.message()) => {
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

/// SQLite's words for a lock it could not get in time (SQLITE_BUSY, SQLITE_LOCKED).
fn is_busy(message: &str) -> bool {
    message.starts_with("database is locked") || message.starts_with("database table is locked") || message.contains("database is busy")
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
