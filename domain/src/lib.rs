//! Concerto's domain: the models of a regional cancer tumor-board platform and the rules that
//! decide who may see and do what. Plain Rust with no IO, so every rule is a pure function that
//! can be read next to the delegation table of `shared/API.md` and tested on its own.

pub mod affiliation;
pub mod cda;
pub mod code_index;
pub mod delegation;
pub mod document;
pub mod dossier;
pub mod error;
pub mod error_code;
pub mod fiche;
pub mod id;
pub mod national;
pub mod patient;
pub mod principal;
pub mod professional;
pub mod profile;
pub mod quorum;
pub mod rcp;
pub mod rules;
pub mod specialty;
pub mod suppression;
pub mod terminology;
pub mod text;

pub use error::DomainError;
pub use error_code::ErrorCode;
