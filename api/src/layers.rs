//! The order of the modules of `api`, `persistence` and `domain`, lowest first, checked against
//! what each module's source names (`crate::…`, and `super::…` within a folder module: `routes`,
//! `db`): a module may use only modules below it, so no two modules import each other and a
//! newcomer reads them bottom-up. A new module fails this test until it takes its place.

use std::collections::BTreeSet;
use std::path::Path;

/// The domain modules, lowest first: text and errors, the directory's values, who the caller
/// is, the boards and the clinical data, then the rules that decide over all of them.
const DOMAIN: &[&str] = &[
    "text",
    "id",
    "error_code",
    "error",
    "terminology",
    "code_index",
    "specialty",
    "profile",
    "professional",
    "affiliation",
    "principal",
    "rcp",
    "quorum",
    "dossier",
    "fiche",
    "cda",
    "national",
    "document",
    "patient",
    "suppression",
    "rules",
    "delegation",
];

/// The persistence modules, lowest first, in groups: the store, the directory, the boards, the
/// clinical data, the tools.
const PERSISTENCE: &[&str] = &[
    // The store.
    "schema",
    "clock",
    "cached_sql",
    "identity",
    "error",
    "page",
    // The store: a connection, its statements, the read trail (the audit's events of reads on
    // SQLite, which the pool opens), migrations, the pool, checkpoints, transactions.
    "db::connection",
    "db::statements",
    "read_trail",
    "db::migrations",
    "db::pool",
    "db::checkpoint",
    "db::transaction",
    "db::admin",
    "db",
    "scope",
    "delegation_events",
    // The directory and its audit trail.
    "cancer_centers",
    "professionals",
    "secretary_groups",
    "affiliations",
    "specialties",
    "accounts",
    "account_requests",
    "delegations",
    "login_throttle",
    "audit",
    "login_sessions",
    "oidc",
    // The code lists that the boards' settings and the fiche are coded with.
    "terminology",
    // The boards: the activity counters first, which the boards' and the dossiers' writes keep.
    "activity_counters",
    "rcps",
    "sessions",
    "attendance",
    "activity",
    "reports",
    // Patients and dossiers.
    "reports_to_send",
    "patients",
    "documents",
    "fiche",
    "dossiers",
    "agenda",
    "run",
    "search",
    // Tools.
    "check",
    "region",
];

/// The api modules, lowest first: settings and wire shapes, errors and bodies, who calls and
/// the state, then the routes (one per resource) and the document that lists them.
const API: &[&str] = &[
    "config",
    "oidc",
    "precondition",
    "views",
    "error",
    "json",
    "auth",
    "caller",
    "state",
    "throttle",
    "terminology",
    "demo",
    "routes::common",
    "routes::health",
    "routes::fallback",
    "routes::board",
    "routes::delegations",
    "routes::professionals",
    "routes::administration",
    "routes::audit",
    "routes::secretary_groups",
    "routes::rcps",
    "routes::session",
    "routes::oidc",
    "routes::patients",
    "routes::documents",
    "routes::dossiers",
    "routes::reports",
    "routes::reports_to_send",
    "routes::search",
    "routes::sessions",
    "routes::terminology",
    "routes",
    "fhir::resources",
    "fhir::outcome",
    "fhir",
    "openapi",
];

/// What the crate root re-exports, by the module it comes from.
const ROOT_ITEMS: &[(&str, &str)] = &[
    ("DbConnection", "db"),
    ("Pool", "db"),
    ("Store", "db"),
    ("Error", "error"),
    ("Page", "page"),
    ("PageRequest", "page"),
    ("now", "clock"),
    ("DomainError", "error"),
    ("ErrorCode", "error_code"),
];

/// The modules a source names through `crate::` (and, in a folder module's file, `super::`),
/// outside its tests. `folder` is the folder module the source belongs to (`routes`, `db`); a
/// path into a folder module names its submodule when `order` lists it, the folder otherwise.
fn named_modules(source: &str, folder: Option<&str>, order: &[&str]) -> BTreeSet<String> {
    let source = source.split("#[cfg(test)]").next().unwrap_or_default();
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let mut names = BTreeSet::new();
    let prefixes: &[&str] = if folder.is_some() { &["crate::", "super::"] } else { &["crate::"] };
    for (at, prefix) in prefixes.iter().flat_map(|p| source.match_indices(p)) {
        let rest = &source[at + prefix.len()..];
        let rest = match folder {
            Some(folder) if prefix == "super::" => format!("{folder}::{rest}"),
            _ => rest.to_owned(),
        };
        let rest = rest.as_str();
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a, b::{c, d}, e as f}`: the first identifier of each top-level item.
            let (mut depth, mut item_start) = (0usize, true);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphabetic() || c == '_') => {
                        names.insert(ident(&group[i..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let first = ident(rest);
            let inner = rest.get(first.len()..).and_then(|r| r.strip_prefix("::")).map(ident).unwrap_or_default();
            let submodule = format!("{first}::{inner}");
            names.insert(if order.contains(&submodule.as_str()) { submodule } else { first });
        }
    }
    names.into_iter().map(|n| ROOT_ITEMS.iter().find(|(item, _)| *item == n).map_or(n, |(_, module)| (*module).to_owned())).collect()
}

/// Every module of `dir` against `order`: the problems found. A folder with a `mod.rs` is a
/// module (`routes`, `db`) whose files are its submodules (`routes::board`, `db::pool`).
fn check(dir: &Path, order: &[&str]) -> Vec<String> {
    let rank = |m: &str| order.iter().position(|o| *o == m);
    let mut problems = Vec::new();
    let list = |d: &Path| -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(d).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
        files.sort();
        files
    };
    let folders: Vec<String> = list(dir)
        .into_iter()
        .filter(|p| p.join("mod.rs").is_file())
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .collect();
    let files = list(dir)
        .into_iter()
        .map(|p| (p, None))
        .chain(folders.iter().flat_map(|f| list(&dir.join(f)).into_iter().map(move |p| (p, Some(f.as_str())))));
    for (path, folder) in files {
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else { continue };
        if path.extension().is_none_or(|e| e != "rs") || (folder.is_none() && ["lib", "main", "layers"].contains(&stem.as_str())) {
            continue;
        }
        let module = match (folder, stem.as_str()) {
            (Some(folder), "mod") => folder.to_owned(),
            (Some(folder), _) => format!("{folder}::{stem}"),
            (None, _) => stem,
        };
        let Some(own) = rank(&module) else {
            problems.push(format!("{module}: not in the declared order"));
            continue;
        };
        let source = std::fs::read_to_string(&path).unwrap_or_default();
        for used in named_modules(&source, folder, order) {
            match rank(&used) {
                Some(r) if r >= own && used != module => problems.push(format!("{module} uses {used}, which is not below it")),
                _ => {}
            }
        }
    }
    problems
}

#[test]
fn each_module_uses_only_modules_below_it() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = check(&here.join("src"), API);
    problems.extend(check(&here.join("../persistence/src"), PERSISTENCE).into_iter().map(|p| format!("persistence: {p}")));
    problems.extend(check(&here.join("../domain/src"), DOMAIN).into_iter().map(|p| format!("domain: {p}")));
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_reader_finds_grouped_renamed_and_re_exported_names() {
    let source = "use crate::{db, Error, audit::{self, Trail}, professionals as directory};\nfn f() { crate::dossiers::find(); }\n#[cfg(test)]\nuse crate::region;";
    let found: Vec<String> = named_modules(source, None, PERSISTENCE).into_iter().collect();
    assert_eq!(found, ["audit", "db", "dossiers", "error", "professionals"]);
    let route = "use super::common::{List, Paging};\nuse crate::routes::dossiers::View;\nuse crate::state::AppState;";
    let found: Vec<String> = named_modules(route, Some("routes"), API).into_iter().collect();
    assert_eq!(found, ["routes::common", "routes::dossiers", "state"]);
    let store = "use super::pool::writer_turn_of;\nuse crate::db::connection::SQLITE_PRAGMAS;\nfn f() { crate::db::write(); }";
    let found: Vec<String> = named_modules(store, Some("db"), PERSISTENCE).into_iter().collect();
    assert_eq!(found, ["db", "db::connection", "db::pool"]);
}
