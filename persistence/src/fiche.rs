//! The structured fiche of a dossier (FRCP 2025.01): kept as JSON in a row of its own beside the
//! dossier, with the projections the activity report counts by (the tumour site's category,
//! conformity, the treatment types). Written only inside the dossier's own transactions, after
//! the dossier's conditional update, so a writer that lost the version race writes none of it.

use chrono::NaiveDateTime;
use concerto_domain::fiche::{Fiche, QuorumStatus, missing_for_validation};
use diesel::prelude::*;

use crate::activity_counters::Tracker;
use crate::schema::{dossier_fiches, dossier_treatments};
use crate::{DbConnection, Error};

/// A dossier's fiche as stored, with the quorum recorded at its validation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredFiche {
    /// The fiche; every part absent when nobody filled any in.
    pub fiche: Fiche,
    /// The board's quorum when the dossier was validated, `unknown` before; `None` when no
    /// fiche row is stored yet (what [`replace`] reads to update or insert).
    pub quorum: Option<QuorumStatus>,
}

/// The quorum's storage spelling.
fn quorum_str(q: QuorumStatus) -> &'static str {
    match q {
        QuorumStatus::Reached => "reached",
        QuorumStatus::NotReached => "not_reached",
        QuorumStatus::Unknown => "unknown",
    }
}

/// Reads the quorum's storage spelling.
fn parse_quorum(s: &str) -> QuorumStatus {
    match s {
        "reached" => QuorumStatus::Reached,
        "not_reached" => QuorumStatus::NotReached,
        _ => QuorumStatus::Unknown,
    }
}

/// The fiche of `dossier_id`, empty when none was written (dossiers from before the fiche keep
/// their free text and start with an empty one).
pub fn load(conn: &mut DbConnection, dossier_id: &str) -> Result<StoredFiche, Error> {
    let row = dossier_fiches::table
        .find(dossier_id)
        .select((dossier_fiches::fiche, dossier_fiches::quorum))
        .first::<(String, String)>(conn)
        .optional()?;
    from_row(dossier_id, row)
}

/// The fiche of `dossier_id` from its row (`fiche`, `quorum`), read beside the dossier; empty
/// without one.
pub(crate) fn from_row(dossier_id: &str, row: Option<(String, String)>) -> Result<StoredFiche, Error> {
    let Some((json, quorum)) = row else { return Ok(StoredFiche::default()) };
    let fiche = serde_json::from_str(&json).map_err(|e| Error::Stored(format!("the fiche of dossier {dossier_id}: {e}")))?;
    Ok(StoredFiche { fiche, quorum: Some(parse_quorum(&quorum)) })
}

/// Replaces the fiche of `dossier_id` and its projections, reading first what is stored (for
/// writers outside a dossier's own transaction: the tests, the generator's checks).
/// In a transaction of its own, with the activity counters it changes.
pub fn save(conn: &mut DbConnection, dossier_id: &str, fiche: &Fiche, at: NaiveDateTime) -> Result<(), Error> {
    crate::db::write(conn, |c| {
        let counters = Tracker::dossier_keys(c, None, dossier_id)?;
        let before = load(c, dossier_id)?;
        replace(c, dossier_id, &before, fiche, at)?;
        counters.finish(c)
    })
}

/// Replaces the fiche of `dossier_id`, `before` being what is stored (read with the dossier,
/// under its row lock since the dossier's conditional update): its row is updated in place when
/// it exists, and the treatment types are written again only when they changed. No upsert
/// through the MultiConnection, hence the two paths.
pub fn replace(conn: &mut DbConnection, dossier_id: &str, before: &StoredFiche, fiche: &Fiche, at: NaiveDateTime) -> Result<(), Error> {
    let json = serde_json::to_string(fiche).map_err(|e| Error::Stored(e.to_string()))?;
    let (site, conform, complete) = (fiche.tumour_site_category(), fiche.conform(), missing_for_validation(fiche).is_empty());
    if before.quorum.is_some() {
        diesel::update(dossier_fiches::table.find(dossier_id))
            .set((
                dossier_fiches::fiche.eq(json),
                dossier_fiches::tumour_site.eq(site),
                dossier_fiches::conform.eq(conform),
                dossier_fiches::complete.eq(complete),
                dossier_fiches::updated_at.eq(at),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(dossier_fiches::table)
            .values((
                dossier_fiches::dossier_id.eq(dossier_id),
                dossier_fiches::fiche.eq(json),
                dossier_fiches::tumour_site.eq(site),
                dossier_fiches::conform.eq(conform),
                dossier_fiches::complete.eq(complete),
                dossier_fiches::quorum.eq(quorum_str(QuorumStatus::Unknown)),
                dossier_fiches::updated_at.eq(at),
            ))
            .execute(conn)?;
    }
    let sorted = |f: &Fiche| {
        let mut types: Vec<String> = f.treatment_types().into_iter().map(str::to_owned).collect();
        types.sort_unstable();
        types
    };
    let (old_types, new_types) = (sorted(&before.fiche), sorted(fiche));
    // Only the types that come or go are written: one statement each way at most.
    let gone: Vec<&String> = old_types.iter().filter(|t| !new_types.contains(t)).collect();
    let came: Vec<_> = new_types
        .iter()
        .filter(|t| !old_types.contains(t))
        .map(|code| (dossier_treatments::dossier_id.eq(dossier_id), dossier_treatments::code.eq(code)))
        .collect();
    if !gone.is_empty() {
        diesel::delete(
            dossier_treatments::table.filter(dossier_treatments::dossier_id.eq(dossier_id)).filter(dossier_treatments::code.eq_any(gone)),
        )
        .execute(conn)?;
    }
    if !came.is_empty() {
        // A multi-row insert is said per backend: the MultiConnection cannot (STACK.md).
        match conn {
            DbConnection::Postgresql(pg) => diesel::insert_into(dossier_treatments::table).values(came).execute(pg)?,
            DbConnection::Sqlite(lite) => diesel::insert_into(dossier_treatments::table).values(came).execute(lite)?,
        };
    }
    Ok(())
}

/// Records the board's quorum at the dossier's validation (the fiche exists: validation needs a
/// complete one).
pub fn record_quorum(conn: &mut DbConnection, dossier_id: &str, quorum: QuorumStatus) -> Result<(), Error> {
    diesel::update(dossier_fiches::table.find(dossier_id)).set(dossier_fiches::quorum.eq(quorum_str(quorum))).execute(conn)?;
    Ok(())
}
