//! Concerto's storage: the diesel schema, the connection pool over PostgreSQL or SQLite, and the
//! repositories. Each repository function runs its reads, the domain rule that decides and the
//! writes in one transaction, so a decision is never taken on data that changed under it.

pub mod account_requests;
pub mod accounts;
pub mod activity;
pub mod activity_counters;
pub mod affiliations;
pub mod agenda;
pub mod attendance;
pub mod audit;
mod cached_sql;
pub mod cancer_centers;
pub mod check;
pub mod clock;
pub mod db;
pub mod delegation_events;
pub mod delegations;
pub mod documents;
pub mod dossiers;
pub mod error;
pub mod fiche;
pub mod identity;
pub mod login_sessions;
pub mod login_throttle;
pub mod oidc;
pub mod page;
pub mod patients;
pub mod professionals;
pub mod rcps;
pub mod read_trail;
#[cfg(feature = "region")]
pub mod region;
pub mod reports;
pub mod reports_to_send;
pub mod run;
pub mod schema;
pub mod scope;
pub mod search;
pub mod secretary_groups;
pub mod sessions;
pub mod specialties;
pub mod terminology;

pub use clock::now;
pub use db::{DbConnection, Pool, Store};
pub use error::Error;
pub use page::{Page, PageRequest};

/// A new random identifier (UUID v4 string).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
