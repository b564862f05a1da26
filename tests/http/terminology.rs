//! Code lists: `concerto terminology load` as an operator runs it over the test's store, and the
//! pickers' search `GET /terminology/{system}` (issue 27, item 2).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use concerto_domain::terminology::Query;
use concerto_persistence::terminology;
use serde_json::Value;

use crate::support::{TestApp, assert_problem};

/// The lists the project ships.
fn shipped() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../terminology");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "csv")).collect();
    files.sort();
    files
}

/// Runs `concerto terminology load` over `app`'s store.
fn load(app: &TestApp, files: &[PathBuf], options: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_concerto"))
        .args(["terminology", "load"])
        .args(options)
        .args(files)
        .env("DATABASE_URL", app.store.url())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A CSV file in `dir` with these rows under the header.
fn csv(dir: &Path, name: &str, rows: &[String]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("system,code,label,valid_from,valid_until\n{}\n", rows.join("\n"))).unwrap();
    path
}

/// The codes of a search answer, each page followed to the last with pages of `limit`.
async fn all_codes(app: &TestApp, token: &str, system: &str, q: &str, limit: usize) -> Vec<String> {
    let mut codes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q: String =
            q.bytes().map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") }).collect();
        let mut path = format!("/api/v1/terminology/{system}?limit={limit}&q={q}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = app.get(&path, token).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let items = r.body["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        codes.extend(items.iter().map(|i| i["code"].as_str().unwrap().to_owned()));
        match r.body["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(items.len(), limit, "a page short of its limit announces another");
                cursor = Some(c.to_owned());
            }
            None => break,
        }
    }
    codes
}

async fn codes_of(app: &TestApp, token: &str, system: &str, q: &str) -> Vec<String> {
    all_codes(app, token, system, q, 200).await
}

#[actix_rt::test]
async fn the_pickers_find_codes_by_prefix_and_by_label_words_whatever_the_accents() {
    let app = TestApp::spawn().await;
    let center = app.center("Centre").await;
    let secretary = app.secretary("Durand", &center).await;
    let token = secretary.token.as_str();

    assert_problem(&app.get("/api/v1/terminology/cim10?q=sein", token).await, 422, "list_not_loaded");
    assert_problem(&app.get("/api/v1/terminology/icd-11", token).await, 422, "unknown_system");
    let out = load(&app, &shipped(), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("terminology: loaded frcp-treatment version frcp-treatment: 18 codes, 18 added"), "{}", stdout(&out));
    assert_problem(&app.get("/api/v1/terminology/icd-11?q=sein", token).await, 422, "unknown_system");

    let r = app.get("/api/v1/terminology/frcp-treatment?q=RADIOTHE", token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["items"][0],
        serde_json::json!({"system": "frcp-treatment", "code": "C15313", "label": "Radiothérapie", "valid_from": "2025-01-01", "valid_until": null})
    );
    assert_eq!(r.body["next_cursor"], Value::Null);
    assert_eq!(codes_of(&app, token, "frcp-treatment", "radio").await, ["C15313", "C63334"]);
    assert_eq!(codes_of(&app, token, "frcp-treatment", "fenetre").await, ["MED-556"]);
    assert_eq!(codes_of(&app, token, "frcp-treatment", "thérap").await, ["C93352", "MED-556"]);
    assert_eq!(codes_of(&app, token, "frcp-treatment", "soins").await, ["C15252", "C15747"]);
    assert_eq!(codes_of(&app, token, "frcp-treatment", "").await.len(), 18);
    assert_eq!(codes_of(&app, token, "cim10", "c18").await, ["C18.0", "C18.2", "C18.7", "C18.9"]);
    assert_eq!(codes_of(&app, token, "cim10", "C18.7").await, ["C18.7"]);
    assert_eq!(codes_of(&app, token, "cim10", "c187").await, ["C18.7"]);
    assert_eq!(codes_of(&app, token, "cim10", "COLON maligne").await, ["C18.2", "C18.7", "C18.9"]);
    assert_eq!(codes_of(&app, token, "cim10", "hépato").await, ["C22.0"]);
    assert!(codes_of(&app, token, "cim10", "olon").await.is_empty(), "a word is matched from its start");
    assert_eq!(codes_of(&app, token, "cim-o-3", "8500/3").await, ["8500/3"]);
    assert_eq!(codes_of(&app, token, "cim-o-3", "epidermoide").await, ["8070/3"]);
    assert_eq!(codes_of(&app, token, "frcp-rcp-nature", "").await, ["ORG-117", "ORG-132"]);

    // Pages: every code once, in code order, with or without a query.
    let every = codes_of(&app, token, "cim10", "").await;
    assert_eq!(every.len(), 16);
    assert!(every.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(all_codes(&app, token, "cim10", "", 5).await, every);
    let tumours = codes_of(&app, token, "cim10", "tumeur").await;
    assert_eq!(tumours.len(), 15);
    assert_eq!(all_codes(&app, token, "cim10", "tumeur", 4).await, tumours);
    assert_problem(&app.get("/api/v1/terminology/cim10?limit=0", token).await, 422, "invalid_limit");
    assert_problem(&app.get("/api/v1/terminology/cim10?cursor=zz", token).await, 422, "invalid_cursor");
}

#[actix_rt::test]
async fn a_new_version_retires_the_codes_it_drops_and_loading_it_again_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let dir = tempfile::tempdir().unwrap();
    let row = |code: &str, label: &str| format!("cim10,{code},\"{label}\",2025-01-01,");
    let v1 = csv(dir.path(), "cim10-v1.csv", &[row("C50.9", "Sein"), row("C61", "Prostate"), row("C20", "Rectum")]);
    let v2 = csv(dir.path(), "cim10-v2.csv", &[row("C50.9", "Sein, sans précision"), row("C20", "Rectum")]);

    let out = load(&app, std::slice::from_ref(&v1), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("loaded cim10 version cim10-v1: 3 codes, 3 added, 0 changed, 0 retired"), "{}", stdout(&out));
    // The server now holds v1 in memory; each load below is another process's, as an
    // operator's on a running platform: the searches after it must answer the new version.
    assert_eq!(codes_of(&app, &admin.token, "cim10", "").await, ["C20", "C50.9", "C61"]);
    assert!(codes_of(&app, &admin.token, "cim10", "precision").await.is_empty());
    let out = load(&app, std::slice::from_ref(&v2), &["--list-version", "2026"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("loaded cim10 version 2026: 2 codes, 0 added, 1 changed, 1 retired"), "{}", stdout(&out));
    assert_eq!(codes_of(&app, &admin.token, "cim10", "").await, ["C20", "C50.9"]);
    assert_eq!(codes_of(&app, &admin.token, "cim10", "precision").await, ["C50.9"]);
    assert!(codes_of(&app, &admin.token, "cim10", "prostate").await.is_empty());

    // The dropped code stays, valid through the day before the load: a dossier coded with it
    // reads it, and no new coding may use it.
    let mut conn = app.pool.get().unwrap();
    let today = chrono::Utc::now().with_timezone(&concerto_api::config::DEFAULT_TIME_ZONE).date_naive();
    let dropped = terminology::find(&mut conn, "cim10", "C61").unwrap();
    let yesterday = today.pred_opt().unwrap();
    assert_eq!((dropped.label.as_str(), dropped.valid_until), ("Prostate", Some(yesterday)));
    terminology::check_code(&mut conn, "diagnosis.topography", "cim10", "C61", yesterday).unwrap();
    let refused = terminology::check_code(&mut conn, "diagnosis.topography", "cim10", "C61", today).unwrap_err();
    assert!(refused.to_string().contains("cim10"), "{refused}");
    match refused {
        concerto_persistence::Error::Domain(concerto_domain::DomainError::Invalid { code, field, .. }) => {
            assert_eq!((code, field), (concerto_domain::ErrorCode::UnknownCode, "diagnosis.topography"));
        }
        other => panic!("expected unknown_code, got {other:?}"),
    }
    terminology::check_code(&mut conn, "diagnosis.topography", "cim10", "C20", today).unwrap();
    let unloaded = terminology::check_code(&mut conn, "diagnosis.morphology", "cim-o-3", "8140/3", today).unwrap_err();
    assert!(matches!(
        unloaded,
        concerto_persistence::Error::Domain(concerto_domain::DomainError::Invalid { code: concerto_domain::ErrorCode::ListNotLoaded, .. })
    ));

    // Loaded twice: nothing changes, nothing is recorded again.
    let out = load(&app, std::slice::from_ref(&v2), &["--list-version", "2026"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("cim10 version 2026 is loaded already (2 codes); nothing changed"), "{}", stdout(&out));
    let versions: Vec<String> = terminology::loads(&mut conn, "cim10").unwrap().into_iter().map(|l| l.version).collect();
    assert_eq!(versions, ["2026", "cim10-v1"]);
    assert_eq!(terminology::system(&mut conn, "cim10").unwrap().version.as_deref(), Some("2026"));

    // The code comes back with v1 again.
    let out = load(&app, std::slice::from_ref(&v1), &[]);
    assert!(stdout(&out).contains("3 codes, 0 added, 2 changed, 0 retired"), "{}", stdout(&out));
    assert_eq!(codes_of(&app, &admin.token, "cim10", "").await, ["C20", "C50.9", "C61"]);

    assert!(codes_of(&app, &admin.token, "cim10", "precision").await.is_empty(), "v1's label again");
    assert_eq!(codes_of(&app, &admin.token, "cim10", "prostate").await, ["C61"]);
}

#[actix_rt::test]
async fn a_bad_line_is_named_and_nothing_of_the_load_is_kept() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let dir = tempfile::tempdir().unwrap();
    let good = csv(dir.path(), "organs.csv", &["frcp-organ,DIG-COLON,Côlon,2025-01-01,".to_owned()]);
    let bad = csv(dir.path(), "bad.csv", &["cim10,C20,Rectum,2025-01-01,".to_owned(), "cim10,C61,Prostate,01/01/2025,".to_owned()]);
    let out = load(&app, &[good.clone(), bad], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv:3: valid_from `01/01/2025` is not a day"), "{err}");
    let unknown = csv(dir.path(), "unknown.csv", &["icd11,X,Y,2025-01-01,".to_owned()]);
    let err = String::from_utf8_lossy(&load(&app, &[unknown], &[]).stderr).into_owned();
    assert!(err.contains("unknown.csv:2: unknown system `icd11`"), "{err}");
    assert_problem(&app.get("/api/v1/terminology/frcp-organ", &admin.token).await, 422, "list_not_loaded");
    assert_problem(&app.get("/api/v1/terminology/cim10", &admin.token).await, 422, "list_not_loaded");
}

/// The search's two ways (a rare word leads through the word index; a common one walks the codes
/// in order) answer what the domain's rule says, page after page.
#[actix_rt::test]
async fn a_large_list_answers_every_query_as_the_rule_says() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let dir = tempfile::tempdir().unwrap();
    let words = ["tumeur", "maligne", "bénigne", "côlon", "sein", "rein", "foie", "œsophage"];
    let entries: Vec<(String, String)> = (0..2500)
        .map(|i: usize| {
            let label = format!("{} {} {} n{i}", words[i % 8], words[(i / 8) % 8], words[(i / 64) % 8]);
            (format!("X{:02}.{}", i / 10, i % 10), label)
        })
        .collect();
    let rows: Vec<String> = entries.iter().map(|(code, label)| format!("cim10,{code},{label},2025-01-01,")).collect();
    let out = load(&app, &[csv(dir.path(), "big.csv", &rows)], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // As `concerto serve` does at start-up: the lists built before any search.
    let (pool, indexes) = (app.pool.clone(), std::sync::Arc::clone(&app.code_indexes));
    let held = actix_web::web::block(move || terminology::warm_up(&mut pool.get().unwrap(), &indexes)).await.unwrap().unwrap();
    assert_eq!(held, 2500);
    let before = app.statements.get();
    assert_eq!(app.get("/api/v1/terminology/cim10?q=tumeur&limit=5", &admin.token).await.status, 200);
    assert_eq!(app.statements.get().since(before).besides_transactions(), 1, "the first search finds the list built");
    for q in ["x1", "X10.5", "x105", "tumeur", "sein rein", "oesophage benigne foie", "n14", "n149", "x", "n1 sein", "zzz"] {
        let query = Query::parse(q).unwrap();
        let mut expected: Vec<String> = entries.iter().filter(|(c, l)| query.matches(c, l)).map(|(c, _)| c.clone()).collect();
        expected.sort();
        assert_eq!(all_codes(&app, &admin.token, "cim10", q, 97).await, expected, "q={q}");
    }
    // The list is held in memory: a search costs the one statement of `/me`, whatever the query
    // finds, since the lists' current versions come with the caller's rights.
    for q in ["tumeur", "x1", "oesophage+benigne+foie", "zzz", ""] {
        let before = app.statements.get();
        let r = app.get(&format!("/api/v1/terminology/cim10?q={q}&limit=50"), &admin.token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(app.statements.get().since(before).besides_transactions(), 1, "q={q}");
    }
}

#[actix_rt::test]
async fn the_demo_loads_the_shipped_lists() {
    let app = TestApp::spawn().await;
    let pool = app.pool.clone();
    actix_web::web::block(move || concerto_api::demo::load(&mut pool.get().unwrap()).map(|_| ())).await.unwrap().unwrap();
    let token = app.login("sec.durand", concerto_api::demo::DEMO_PASSWORD).await;
    assert_eq!(codes_of(&app, &token, "frcp-treatment", "").await.len(), 18);
    assert_eq!(codes_of(&app, &token, "cim10", "rectum").await, ["C20"]);
}
