//! Code lists as data: the code systems the fiche RCP is coded with, each list's versions as
//! loaded by `concerto terminology load`, the pickers' search and the check of a coded field.
//!
//! A list's codes are never deleted: a code its new version drops stays, valid through the day
//! before the load, so a dossier coded with it still reads it. The search finds the codes valid
//! today by code prefix and by label words (`terminology_terms`, one row per word); a query's
//! rarest word leads through that index, and a common one walks the codes in order instead.

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveDateTime};
use concerto_domain::DomainError;
use concerto_domain::ErrorCode;
use concerto_domain::terminology::{self, Change, Entry, Query};
use concerto_domain::text::search_key;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::professionals::prefix_upper_bound;
use crate::schema::{code_systems, terminology_codes as codes, terminology_loads as loads, terminology_terms as terms};
use crate::{DbConnection, Error, Page, PageRequest, db, new_id};

/// Under this many index entries, a query word's codes are read from the word index and only
/// they are probed; above, the codes are walked in order, where matches are then frequent.
const RARE_TERMS: i64 = 2_000;

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
    code_systems::table.find(name).first(conn).optional()?.ok_or_else(|| {
        DomainError::invalid("system", ErrorCode::UnknownSystem, format!("`{name}` is not a code system of this platform")).into()
    })
}

/// The code system `name` with a list loaded: 422 `unknown_system`, or `list_not_loaded` when
/// no version of its list was loaded yet.
pub fn loaded_system(conn: &mut DbConnection, name: &str) -> Result<CodeSystem, Error> {
    let system = system(conn, name)?;
    if system.version.is_none() {
        return Err(DomainError::invalid(
            "system",
            ErrorCode::ListNotLoaded,
            format!("no list of `{name}` is loaded yet; an operator loads it with `concerto terminology load`"),
        )
        .into());
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
                    .set((
                        codes::label.eq(&entry.label),
                        codes::search_label.eq(search_key(&entry.label)),
                        codes::valid_from.eq(entry.valid_from),
                        codes::valid_until.eq(entry.valid_until),
                    ))
                    .execute(c)?;
                diesel::delete(terms::table.filter(terms::system.eq(&list.system)).filter(terms::code.eq(&entry.code))).execute(c)?;
                insert_terms(c, &list.system, std::slice::from_ref(&entry))?;
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
    insert_terms(c, &list.system, &added)?;
    diesel::update(code_systems::table.find(&list.system))
        .set((code_systems::version.eq(&list.version), code_systems::loaded_at.eq(at)))
        .execute(c)?;
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    diesel::insert_into(loads::table)
        .values((
            loads::id.eq(new_id()),
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
                    codes::code_key.eq(terminology::code_key(&e.code)),
                    codes::search_label.eq(search_key(&e.label)),
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

/// Inserts the search words of these codes (see [`terminology::terms`]).
fn insert_terms(c: &mut DbConnection, system: &str, entries: &[Entry]) -> Result<(), Error> {
    let all: Vec<(String, String)> =
        entries.iter().flat_map(|e| terminology::terms(&e.code, &e.label).into_iter().map(|t| (t, e.code.clone()))).collect();
    for chunk in all.chunks(BATCH) {
        let rows: Vec<_> =
            chunk.iter().map(|(term, code)| (terms::system.eq(system), terms::term.eq(term), terms::code.eq(code))).collect();
        match c {
            DbConnection::Postgresql(pg) => diesel::insert_into(terms::table).values(rows).execute(pg)?,
            DbConnection::Sqlite(lite) => diesel::insert_into(terms::table).values(rows).execute(lite)?,
        };
    }
    Ok(())
}

/// `GET /terminology/{system}?q=`: a page of the codes valid on `day` that answer `q` (see
/// [`Query`]; every valid code without one), in code order.
pub fn search(conn: &mut DbConnection, system: &str, q: Option<&str>, day: NaiveDate, page: &PageRequest) -> Result<Page<Code>, Error> {
    db::read_in_autocommit(conn, |c| {
        loaded_system(c, system)?;
        let after = page.after.as_ref().map(|(code, _)| code.clone());
        let parsed = q.and_then(Query::parse);
        // The page's statement, over the codes of `among` when given (in code order).
        let statement = |among: Option<&[String]>| {
            let mut query = codes::table
                .filter(codes::system.eq(system.to_owned()))
                .filter(codes::valid_from.le(day))
                .filter(codes::valid_until.is_null().or(codes::valid_until.ge(day)))
                .select(CODE_COLUMNS)
                .into_boxed();
            if let Some(after) = &after {
                query = query.filter(codes::code.gt(after.clone()));
            }
            if let Some(among) = among {
                query = query.filter(codes::code.eq_any(among.to_vec()));
            }
            if let Some(q) = &parsed {
                // A word starts the code's key or a word of the label (joined by one space).
                let starts_a_word = |w: &String| -> Box<dyn BoxableExpression<codes::table, db::Backend, SqlType = Bool>> {
                    Box::new(
                        codes::code_key
                            .like(format!("{w}%"))
                            .or(codes::search_label.like(format!("{w}%")))
                            .or(codes::search_label.like(format!("% {w}%"))),
                    )
                };
                let by_code: Box<dyn BoxableExpression<codes::table, db::Backend, SqlType = Bool>> =
                    Box::new(codes::code_key.like(format!("{}%", q.code_key)));
                let all_words = q.words.iter().map(starts_a_word).reduce(|all, next| Box::new(all.and(next)));
                query = match all_words {
                    Some(all_words) => query.filter(by_code.or(all_words)),
                    None => query.filter(by_code),
                };
            }
            query.order(codes::code).limit(page.fetch())
        };
        let candidates = match &parsed {
            Some(q) => rare_candidates(c, system, q)?,
            None => None,
        };
        let rows = match candidates {
            None => statement(None).load::<Code>(c)?,
            Some(mut candidates) => {
                // The candidates in code order, a few at a time: the first page's worth usually
                // holds the page; binding every candidate would cost more than the search.
                candidates.retain(|code| after.as_ref().is_none_or(|a| code > a));
                let fetch = usize::try_from(page.fetch()).unwrap_or(1);
                let (mut rows, mut rest, mut chunk) = (Vec::new(), candidates.as_slice(), fetch.max(1));
                while !rest.is_empty() && rows.len() < fetch {
                    let (now, later) = rest.split_at(chunk.min(rest.len()));
                    rows.extend(statement(Some(now)).load::<Code>(c)?);
                    rest = later;
                    chunk *= 2;
                }
                rows.truncate(fetch);
                rows
            }
        };
        Ok(Page::from_rows(rows, page, |r| (r.code.clone(), r.code.clone())))
    })
}

/// The codes that may answer `q`, when few: those under the code's key, and those under every
/// query word that has few index entries (their intersection: every word must match; a
/// word with many is tested on the codes' keys instead). `None` when the code's key or every
/// word is common, and walking the codes in order finds a page sooner.
fn rare_candidates(c: &mut DbConnection, system: &str, q: &Query) -> Result<Option<Vec<String>>, Error> {
    let mut under = |prefix: &str| -> Result<Option<BTreeSet<String>>, Error> {
        let found: Vec<String> = terms::table
            .filter(terms::system.eq(system))
            .filter(terms::term.ge(prefix.to_owned()).and(terms::term.lt(prefix_upper_bound(prefix))))
            .select(terms::code)
            .limit(RARE_TERMS + 1)
            .load(c)?;
        Ok((found.len() <= usize::try_from(RARE_TERMS).unwrap_or(0)).then(|| found.into_iter().collect()))
    };
    let Some(by_code) = under(&q.code_key)? else { return Ok(None) };
    let mut words: Vec<&String> = q.words.iter().collect();
    words.sort();
    words.dedup();
    let mut all_words: Option<BTreeSet<String>> = None;
    for w in words {
        if let Some(codes) = under(w)? {
            all_words = Some(match all_words {
                None => codes,
                Some(before) => before.intersection(&codes).cloned().collect(),
            });
        }
    }
    let Some(all_words) = all_words else { return Ok(None) };
    Ok(Some(by_code.union(&all_words).cloned().collect()))
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

/// Checks many coded fields at once, `(system, field, code)` each, in two statements whatever
/// their number: the systems (422 `unknown_system` / `list_not_loaded` for the first that cannot
/// tell), then every code of those systems valid on `day`; the first code not found answers 422
/// `unknown_code` naming its field and system, as [`check_code`] would.
pub fn check_codes(conn: &mut DbConnection, fields: &[(&str, &'static str, &str)], day: NaiveDate) -> Result<(), Error> {
    if fields.is_empty() {
        return Ok(());
    }
    let mut names: Vec<&str> = fields.iter().map(|(system, _, _)| *system).collect();
    names.sort_unstable();
    names.dedup();
    let known: Vec<CodeSystem> = code_systems::table.filter(code_systems::name.eq_any(&names)).load(conn)?;
    for name in &names {
        match known.iter().find(|s| s.name == *name) {
            None => return system(conn, name).map(|_| ()),
            Some(s) if s.version.is_none() => return loaded_system(conn, name).map(|_| ()),
            Some(_) => {}
        }
    }
    let wanted: Vec<&str> = fields.iter().map(|(_, _, code)| code.trim()).collect();
    let found: Vec<(String, String)> = codes::table
        .filter(codes::system.eq_any(&names))
        .filter(codes::code.eq_any(&wanted))
        .filter(codes::valid_from.le(day))
        .filter(codes::valid_until.is_null().or(codes::valid_until.ge(day)))
        .select((codes::system, codes::code))
        .load(conn)?;
    for (system, field, code) in fields {
        if !found.iter().any(|(s, c)| s == system && c == code.trim()) {
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

/// Codes read at a time by [`stale_search_words`].
const CHECK_PAGE: i64 = 2_000;

/// For `concerto check`: every code whose search keys (`code_key`, `search_label`) or words
/// (`terminology_terms`) are not those its code and label give, as (`system code`, what
/// differs). Read a page of codes at a time.
pub fn stale_search_words(c: &mut DbConnection) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for system in systems(c)? {
        let mut after = String::new();
        loop {
            let page: Vec<(String, String, String, String)> = codes::table
                .filter(codes::system.eq(&system.name))
                .filter(codes::code.gt(&after))
                .order(codes::code)
                .limit(CHECK_PAGE)
                .select((codes::code, codes::label, codes::code_key, codes::search_label))
                .load(c)?;
            let (Some(first), Some(last)) = (page.first(), page.last()) else { break };
            let stored: Vec<(String, String)> = terms::table
                .filter(terms::system.eq(&system.name))
                .filter(terms::code.ge(&first.0).and(terms::code.le(&last.0)))
                .select((terms::code, terms::term))
                .load(c)?;
            let mut words: std::collections::BTreeMap<&str, std::collections::BTreeSet<String>> = std::collections::BTreeMap::new();
            for (code, term) in &stored {
                words.entry(code.as_str()).or_default().insert(term.clone());
            }
            for (code, label, key, folded) in &page {
                let name = format!("{} {code}", system.name);
                if *key != terminology::code_key(code) || *folded != search_key(label) {
                    out.push((name.clone(), format!("search keys {key:?} / {folded:?}, expected from the code and label")));
                }
                let expected = terminology::terms(code, label);
                let found = words.remove(code.as_str()).unwrap_or_default();
                if found != expected {
                    out.push((name, format!("words {expected:?} expected, found {found:?}")));
                }
            }
            after = last.0.clone();
        }
    }
    Ok(out)
}
