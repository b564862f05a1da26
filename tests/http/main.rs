//! Black-box tests of the HTTP API: a real server, a real database (SQLite, or PostgreSQL when
//! `TEST_POSTGRES_URL` is set), real requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod administration;
mod agenda;
mod audit;
mod board;
mod cda;
mod concurrency;
mod delegations;
mod demo;
mod directory;
mod dossiers;
mod errors;
mod fhir;
mod fiche;
mod hardening;
mod login_sessions;
mod matrix;
mod model;
mod national;
mod oidc;
mod openapi;
mod patients;
mod process;
mod races;
mod region;
mod round_trips;
mod secretary_groups;
mod session;
mod terminology;
mod worklist;
