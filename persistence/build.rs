//! Rebuilds the crate when a migration is added or changed: `embed_migrations!` reads the
//! migrations at compile time, and cargo does not otherwise know they are inputs.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
