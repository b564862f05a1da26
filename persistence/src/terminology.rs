//! Code lists as data: the code systems the fiche RCP is coded with, each list's versions as
//! loaded by `concerto terminology load`, the pickers' search and the check of a coded field.
//!
//! A list's codes are never deleted: a code its new version drops stays, valid through the day
//! before the load, so a dossier coded with it still reads it. The search runs over the list
//! held in memory ([`CodeIndexes`]), one index per loaded version; which version is current comes
//! with the caller's rights (`accounts::load_caller_with_lists`), so a search costs no statement
//! of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{NaiveDate, NaiveDateTime};
use concerto_domain::DomainError;
use concerto_domain::ErrorCode;
use concerto_domain::code_index::CodeIndex;
use concerto_domain::terminology::{self, Change, CurrentList, Entry, Query};
use diesel::prelude::*;

use crate::schema::{code_systems, terminology_codes as codes, terminology_loads as loads};
use crate::{DbConnection, Error, Page, PageRequest, db, new_id};

/// Rows of one multi-row insert: far below both stores' limits on bound parameters.
const BATCH: usize = 500;

/// A code system and the version of its list loaded last.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct CodeSystem {
    /// Its name in the API (`cim10`, `frcp-treatment`, …).
    pub name: String,
    /// What it lists.
    pub label: String,
    /// The code system's OID, when the list is one code system.
    pub oid: Option<String>,
    /// The FRCP value set the list stands for, when it is one.
    pub value_set_oid: Option<String>,
    /// The version loaded last; `None` until a list is loaded.
    pub version: Option<String>,
    /// When that version was loaded.
    pub loaded_at: Option<NaiveDateTime>,
    /// The load that wrote the list as it stands (`terminology_loads.id`): the key of the index
    /// held in memory, new at every load that changes a code.
    pub load_id: Option<String>,
}

/// A code of a list.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Code {
    /// The code system.
    pub system: String,
    /// The code.
    pub code: String,
    /// Its label.
    pub label: String,
    /// First day of validity.
    pub valid_from: NaiveDate,
    /// Last day of validity (inclusive); `None` while the code is in the list.
    pub valid_until: Option<NaiveDate>,
}

const CODE_COLUMNS: (codes::system, codes::code, codes::label, codes::valid_from, codes::valid_until) =
    (codes::system, codes::code, codes::label, codes::valid_from, codes::valid_until);

/// One version of one list, as read from an operator's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListVersion {
    /// The code system.
    pub system: String,
    /// The version's label (the operator's, or the file's name).
    pub version: String,
    /// Where it was read from (file names), for the record of the load.
    pub source: String,
    /// Every code of the version, each once.
    pub entries: Vec<Entry>,
}

/// What loading one list did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The code system.
    pub system: String,
    /// The version loaded.
    pub version: String,
    /// Codes in the version.
    pub codes: usize,
    /// Codes new to the store.
    pub added: usize,
    /// Stored codes whose label or validity changed.
    pub changed: usize,
    /// Stored codes the version no longer holds, now valid through the day before the load.
    pub retired: usize,
    /// True when this very version was loaded already and nothing was written.
    pub already_loaded: bool,
}

/// Every code system, loaded or not, by name.
pub fn systems(conn: &mut DbConnection) -> Result<Vec<CodeSystem>, Error> {
    Ok(code_systems::table.order(code_systems::name).load(conn)?)
}

/// The code system `name`: 422 `unknown_system` when there is none.
pub fn system(conn: &mut DbConnection, name: &str) -> Result<CodeSystem, Error> {
    code_systems::table.find(name).first(conn).optional()?.ok_or_else(|| unknown_system(name))
}

fn unknown_system(name: &str) -> Error {
    DomainError::invalid("system", ErrorCode::UnknownSystem, format!("`{name}` is not a code system of this platform")).into()
}

fn not_loaded(name: &str) -> Error {
    DomainError::invalid(
        "system",
        ErrorCode::ListNotLoaded,
        format!("no list of `{name}` is loaded yet; an operator loads it with `concerto terminology load`"),
    )
    .into()
}

/// The code system `name` with a list loaded: 422 `unknown_system`, or `list_not_loaded` when
/// no version of its list was loaded yet.
pub fn loaded_system(conn: &mut DbConnection, name: &str) -> Result<CodeSystem, Error> {
    let system = system(conn, name)?;
    if system.version.is_none() {
        return Err(not_loaded(name));
    }
    Ok(system)
}

/// Loads these lists in one transaction, each replacing the version of its system loaded
/// before (see [`terminology::plan`]); `at` is the moment of the load, `today` its day in the
/// platform's time zone (the codes a version drops are valid through the day before). A version loaded again
/// unchanged writes nothing.
pub fn load(conn: &mut DbConnection, lists: &[ListVersion], at: NaiveDateTime, today: NaiveDate) -> Result<Vec<Loaded>, Error> {
    db::write(conn, |c| lists.iter().map(|list| load_one(c, list, at, today)).collect())
}

fn load_one(c: &mut DbConnection, list: &ListVersion, at: NaiveDateTime, today: NaiveDate) -> Result<Loaded, Error> {
    let system = system(c, &list.system)?;
    let stored: Vec<Entry> = codes::table
        .filter(codes::system.eq(&list.system))
        .select(CODE_COLUMNS)
        .load::<Code>(c)?
        .into_iter()
        .map(|r| Entry { code: r.code, label: r.label, valid_from: r.valid_from, valid_until: r.valid_until })
        .collect();
    let changes = terminology::plan(&stored, &list.entries, today);
    let mut loaded = Loaded {
        system: list.system.clone(),
        version: list.version.clone(),
        codes: list.entries.len(),
        added: 0,
        changed: 0,
        retired: 0,
        already_loaded: changes.is_empty() && system.version.as_deref() == Some(list.version.as_str()),
    };
    if loaded.already_loaded {
        return Ok(loaded);
    }
    let mut added = Vec::new();
    for change in changes {
        match change {
            Change::Add(entry) => added.push(entry),
            Change::Update(entry) => {
                loaded.changed += 1;
                let key = (codes::system.eq(&list.system), codes::code.eq(&entry.code));
                diesel::update(codes::table.filter(key.0).filter(key.1))
                    .set((codes::label.eq(&entry.label), codes::valid_from.eq(entry.valid_from), codes::valid_until.eq(entry.valid_until)))
                    .execute(c)?;
            }
            Change::Retire { code, valid_until } => {
                loaded.retired += 1;
                diesel::update(codes::table.filter(codes::system.eq(&list.system)).filter(codes::code.eq(&code)))
                    .set(codes::valid_until.eq(Some(valid_until)))
                    .execute(c)?;
            }
        }
    }
    loaded.added = added.len();
    insert_codes(c, &list.system, &added)?;
    let load_id = new_id();
    diesel::update(code_systems::table.find(&list.system))
        .set((code_systems::version.eq(&list.version), code_systems::loaded_at.eq(at), code_systems::load_id.eq(&load_id)))
        .execute(c)?;
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    diesel::insert_into(loads::table)
        .values((
            loads::id.eq(&load_id),
            loads::system.eq(&list.system),
            loads::version.eq(&list.version),
            loads::source.eq(&list.source),
            loads::loaded_at.eq(at),
            loads::codes.eq(count(loaded.codes)),
            loads::added.eq(count(loaded.added)),
            loads::changed.eq(count(loaded.changed)),
            loads::retired.eq(count(loaded.retired)),
        ))
        .execute(c)?;
    Ok(loaded)
}

/// Inserts these codes, many rows a statement: a national list is tens of thousands of codes.
/// The MultiConnection has no multi-row insert, so each store's own connection writes them.
fn insert_codes(c: &mut DbConnection, system: &str, entries: &[Entry]) -> Result<(), Error> {
    for chunk in entries.chunks(BATCH) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|e| {
                (
                    codes::system.eq(system),
                    codes::code.eq(&e.code),
                    codes::label.eq(&e.label),
                    codes::valid_from.eq(e.valid_from),
                    codes::valid_until.eq(e.valid_until),
                )
            })
            .collect();
        match c {
            DbConnection::Postgresql(pg) => diesel::insert_into(codes::table).values(rows).execute(pg)?,
            DbConnection::Sqlite(lite) => diesel::insert_into(codes::table).values(rows).execute(lite)?,
        };
    }
    Ok(())
}

/// The lists held in memory for the pickers' search, one [`CodeIndex`] per code system, each
/// the version whose load it was built from. Shared by every request of a server; an index is
/// built at the first search after a load (any instance's: the current load is read from the
/// store by every search), and a list of 60,000 codes takes about 20 MB.
#[derive(Debug, Default)]
pub struct CodeIndexes {
    held: Mutex<HashMap<String, Arc<HeldIndex>>>,
    /// Taken while an index is built, so that the searches that find it missing build it once.
    building: Mutex<()>,
}

#[derive(Debug)]
struct HeldIndex {
    load_id: Option<String>,
    index: CodeIndex,
}

impl CodeIndexes {
    fn current(&self, system: &str, load_id: Option<&String>) -> Option<Arc<HeldIndex>> {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.get(system).filter(|h| h.load_id.as_ref() == load_id).cloned()
    }

    /// The index of the list of `system` as loaded by `load_id`, built from the store when
    /// this server holds another or none.
    fn index(&self, c: &mut DbConnection, system: &str, load_id: Option<&String>) -> Result<Arc<HeldIndex>, Error> {
        if let Some(held) = self.current(system, load_id) {
            return Ok(held);
        }
        let _building = self.building.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = self.current(system, load_id) {
            return Ok(held);
        }
        // The list and the load that wrote it, read in one snapshot: a load committing in
        // between must not give its codes the key of the version before.
        let built = db::read(c, |c| {
            let stored = loaded_system(c, system)?;
            let entries: Vec<Entry> = codes::table
                .filter(codes::system.eq(system))
                .select((codes::code, codes::label, codes::valid_from, codes::valid_until))
                .load::<(String, String, NaiveDate, Option<NaiveDate>)>(c)?
                .into_iter()
                .map(|(code, label, valid_from, valid_until)| Entry { code, label, valid_from, valid_until })
                .collect();
            Ok::<_, Error>(Arc::new(HeldIndex { load_id: stored.load_id, index: CodeIndex::new(entries) }))
        })?;
        self.held.lock().unwrap_or_else(PoisonError::into_inner).insert(system.to_owned(), Arc::clone(&built));
        Ok(built)
    }
}

/// Builds the index of every loaded list, so that the first searches after a start do not wait
/// for it (`concerto serve` calls it on a thread of its own); answers how many codes it holds.
pub fn warm_up(conn: &mut DbConnection, indexes: &CodeIndexes) -> Result<usize, Error> {
    let mut held = 0;
    for system in systems(conn)?.into_iter().filter(|s| s.version.is_some()) {
        held += indexes.index(conn, &system.name, system.load_id.as_ref())?.index.len();
    }
    Ok(held)
}

/// `GET /terminology/{system}?q=`: a page of the codes valid on `day` that answer `q` (see
/// [`Query`]; every valid code without one), in code order. Which version is current comes from
/// `lists` when the caller's rights brought them (`accounts::load_caller_with_lists`), else from
/// one statement; no other statement, whatever the list's size, once this server holds that
/// version's index (see [`CodeIndexes`]).
pub fn search(
    conn: &mut DbConnection,
    indexes: &CodeIndexes,
    lists: Option<&[CurrentList]>,
    system: &str,
    q: Option<&str>,
    day: NaiveDate,
    page: &PageRequest,
) -> Result<Page<Code>, Error> {
    let load_id = match lists {
        Some(lists) => match lists.iter().find(|l| l.system == system) {
            None => return Err(unknown_system(system)),
            Some(CurrentList { version: None, .. }) => return Err(not_loaded(system)),
            Some(list) => list.load_id.clone(),
        },
        None => db::read_in_autocommit(conn, |c| loaded_system(c, system))?.load_id,
    };
    let held = indexes.index(conn, system, load_id.as_ref())?;
    let after = page.after.as_ref().map(|(code, _)| code.as_str());
    let fetch = usize::try_from(page.fetch()).unwrap_or(1);
    let rows = held
        .index
        .search(q.and_then(Query::parse).as_ref(), day, after, fetch)
        .into_iter()
        .map(|e| Code {
            system: system.to_owned(),
            code: e.code.clone(),
            label: e.label.clone(),
            valid_from: e.valid_from,
            valid_until: e.valid_until,
        })
        .collect();
    Ok(Page::from_rows(rows, page, |r| (r.code.clone(), r.code.clone())))
}

/// The code `code` of `system`, valid or not (a dossier's old code stays readable); 404 when
/// the list never held it.
pub fn find(conn: &mut DbConnection, system: &str, code: &str) -> Result<Code, Error> {
    db::read_in_autocommit(conn, |c| {
        loaded_system(c, system)?;
        codes::table
            .filter(codes::system.eq(system))
            .filter(codes::code.eq(code))
            .select(CODE_COLUMNS)
            .first(c)
            .optional()?
            .ok_or(Error::NotFound("code"))
    })
}

/// True when `code` is a code of `system` valid on `day`; 422 `unknown_system` or
/// `list_not_loaded` when the list cannot tell.
pub fn exists(conn: &mut DbConnection, system: &str, code: &str, day: NaiveDate) -> Result<bool, Error> {
    loaded_system(conn, system)?;
    let found = codes::table
        .filter(codes::system.eq(system))
        .filter(codes::code.eq(code.trim()))
        .filter(codes::valid_from.le(day))
        .filter(codes::valid_until.is_null().or(codes::valid_until.ge(day)))
        .select(codes::code)
        .first::<String>(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Checks the coded field `field`: its value must be a code of `system` valid on `day`, or the
/// answer is 422 `unknown_code` naming the field and the system (`unknown_system` or
/// `list_not_loaded` when the list cannot tell).
pub fn check_code(conn: &mut DbConnection, field: &'static str, system: &str, code: &str, day: NaiveDate) -> Result<(), Error> {
    if exists(conn, system, code, day)? {
        Ok(())
    } else {
        Err(DomainError::invalid(field, ErrorCode::UnknownCode, format!("`{code}` is not a code of `{system}` valid on {day}")).into())
    }
}

/// Checks many coded fields at once, `(system, field, code)` each, in one statement whatever
/// their number: the systems named, each joined to those of the codes sent that it holds valid
/// on `day`. A system missing answers 422 `unknown_system`, one without a list
/// `list_not_loaded` (for the first that cannot tell); the first code not found answers 422
/// `unknown_code` naming its field and system, as [`check_code`] would.
pub fn check_codes(conn: &mut DbConnection, fields: &[(&str, &'static str, &str)], day: NaiveDate) -> Result<(), Error> {
    if fields.is_empty() {
        return Ok(());
    }
    let mut names: Vec<&str> = fields.iter().map(|(system, _, _)| *system).collect();
    names.sort_unstable();
    names.dedup();
    let wanted: Vec<&str> = fields.iter().map(|(_, _, code)| code.trim()).collect();
    // (system, its list's version, a code of it among those sent, valid on `day`)
    let rows: Vec<(String, Option<String>, Option<String>)> = code_systems::table
        .left_join(
            codes::table.on(codes::system
                .eq(code_systems::name)
                .and(codes::code.eq_any(&wanted))
                .and(codes::valid_from.le(day))
                .and(codes::valid_until.is_null().or(codes::valid_until.ge(day)))),
        )
        .filter(code_systems::name.eq_any(&names))
        .select((code_systems::name, code_systems::version, codes::code.nullable()))
        .load(conn)?;
    for name in &names {
        match rows.iter().find(|(s, _, _)| s == name) {
            None => return Err(unknown_system(name)),
            Some((_, None, _)) => return Err(not_loaded(name)),
            Some(_) => {}
        }
    }
    for (system, field, code) in fields {
        if !rows.iter().any(|(s, _, c)| s == system && c.as_deref() == Some(code.trim())) {
            return Err(DomainError::invalid(
                field,
                ErrorCode::UnknownCode,
                format!("`{code}` is not a code of `{system}` valid on {day}"),
            )
            .into());
        }
    }
    Ok(())
}

/// One version of a list as it was loaded.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Load {
    /// The version's name.
    pub version: String,
    /// The files it was read from.
    pub source: String,
    /// When it was loaded.
    pub loaded_at: NaiveDateTime,
    /// Codes in the version.
    pub codes: i32,
    /// Codes new to the store.
    pub added: i32,
    /// Stored codes whose label or validity changed.
    pub changed: i32,
    /// Stored codes the version no longer held.
    pub retired: i32,
}

/// The versions of `system` loaded so far, newest first.
pub fn loads(conn: &mut DbConnection, system: &str) -> Result<Vec<Load>, Error> {
    Ok(loads::table
        .filter(loads::system.eq(system))
        .order((loads::loaded_at.desc(), loads::id.desc()))
        .select((loads::version, loads::source, loads::loaded_at, loads::codes, loads::added, loads::changed, loads::retired))
        .load(conn)?)
}
