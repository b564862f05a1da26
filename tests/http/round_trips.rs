//! Round trips: the SQL statements a request sends, counted by the connections' instrumentation,
//! and the connections it checks out of the pool. A list must cost a fixed number of statements
//! whatever the size of its page (no query per row or per RCP shown), at most six besides
//! `BEGIN`/`COMMIT`, one checkout and one blocking call: the caller's rights and the list share a
//! connection and a trip to the blocking pool.

use serde_json::json;

use crate::support::{TestApp, User, on_postgres};

/// What one GET cost, asserting it answers 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cost {
    /// Statements besides transaction control.
    statements: u64,
    /// Transaction control statements (`BEGIN`, `COMMIT`, …).
    transaction: u64,
    /// Connections checked out of the pool.
    checkouts: u64,
    /// Pieces of work run on the blocking pool.
    blocking_calls: u64,
}

async fn cost_of(app: &TestApp, path: &str, user: &User) -> Cost {
    let (before, checkouts, blocking_calls) = (app.statements.get(), app.checkouts.get(), app.blocking_calls.get());
    let r = app.get(path, &user.token).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    let sent = app.statements.get().since(before);
    Cost {
        statements: sent.besides_transactions(),
        transaction: sent.transaction,
        checkouts: app.checkouts.get() - checkouts,
        blocking_calls: app.blocking_calls.get() - blocking_calls,
    }
}

/// What the secretary, the animateur and the requester read, with their costs.
async fn costs(app: &TestApp, sec: &User, chair: &User, requester: &User, session: &str, dossier: &str) -> Vec<(&'static str, Cost)> {
    vec![
        ("agenda (secretary)", cost_of(app, "/api/v1/agenda", sec).await),
        ("rcp_passages (secretary)", cost_of(app, "/api/v1/me/dossiers?tab=rcp_passages&limit=200", sec).await),
        ("agenda (animateur)", cost_of(app, "/api/v1/agenda", chair).await),
        ("session run", cost_of(app, &format!("/api/v1/sessions/{session}/run"), chair).await),
        ("/me (secretary)", cost_of(app, "/api/v1/me", sec).await),
        ("dossier read (secretary)", cost_of(app, &format!("/api/v1/dossiers/{dossier}"), sec).await),
        ("reports to send (secretary)", cost_of(app, "/api/v1/me/reports-to-send?limit=200", sec).await),
        ("reports to send (requester)", cost_of(app, "/api/v1/me/reports-to-send?limit=200", requester).await),
        ("reports to send count (secretary)", cost_of(app, "/api/v1/me/reports-to-send/count", sec).await),
        ("dossier search (secretary)", cost_of(app, "/api/v1/dossiers?patient=Pa&limit=200", sec).await),
    ]
}

/// A new RCP chaired by `chair` whose session, started with its quorum, validated a dossier of
/// each physician for a new patient of his, with a treating physician and correspondents to name.
async fn validated_reports(app: &TestApp, coord: &User, center: &str, chair: &User, physicians: &[User], day: i64) {
    let rcp = app.rcp(coord, center, &format!("RCP validated {day}")).await;
    app.member(coord, &rcp, chair, "animateur").await;
    for doc in physicians {
        app.member(coord, &rcp, doc, "participant").await;
    }
    let session = app.session(coord, &rcp, day).await;
    let mut dossiers = Vec::new();
    for (k, doc) in physicians.iter().enumerate() {
        let (treating, correspondent) = (&physicians[(k + 1) % physicians.len()], &physicians[(k + 2) % physicians.len()]);
        let patient = app.patient(doc, &format!("Pastel{day}{k}"), Some(treating), &[correspondent, chair]).await;
        dossiers.push(app.dossier(doc, &session, &patient, doc).await);
    }
    assert_eq!(app.post(&format!("/api/v1/sessions/{session}/start"), &chair.token, json!({})).await.status, 200);
    app.quorum_present(center, &session, chair).await;
    for dossier in dossiers {
        let path = format!("/api/v1/dossiers/{dossier}");
        let etag = app.get(&path, &chair.token).await.header("etag").unwrap();
        let r = app
            .with_if_match("PATCH", &path, &chair.token, &etag, json!({"proposal": "Chirurgie", "fiche": app.complete_fiche().await}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = app.post(&format!("{path}/validate"), &chair.token, json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

#[actix_rt::test]
async fn lists_cost_a_bounded_number_of_statements_as_the_page_grows() {
    let app = TestApp::spawn().await;
    let center = app.center("3C").await;
    let coord = app.coordinator(&center).await;
    let chair = app.physician("Chair", &center).await;
    let sec = app.secretary("Durand", &center).await;
    let mut physicians = Vec::new();
    for name in ["Martin", "Bernard", "Petit"] {
        let doc = app.physician(name, &center).await;
        app.affiliate(&coord, &doc, &sec).await;
        physicians.push(doc);
    }
    // A secretary of an animateur and of participants: every branch of the agenda's filter.
    app.affiliate(&coord, &chair, &sec).await;
    let rcp = app.rcp(&coord, &center, "RCP 0").await;
    app.member(&coord, &rcp, &chair, "animateur").await;
    app.member(&coord, &rcp, &physicians[0], "participant").await;
    let session = app.session(&coord, &rcp, 1).await;
    let patient = app.patient(&physicians[0], "Pasteur", None, &[]).await;
    let dossier = app.dossier(&physicians[0], &session, &patient, &physicians[0]).await;
    validated_reports(&app, &coord, &center, &chair, &physicians, 30).await;
    let small = costs(&app, &sec, &chair, &physicians[0], &session, &dossier).await;

    // Ten times more: RCPs where only a participant of hers sits, sessions, dossiers by several
    // requesters.
    for i in 1..6 {
        let rcp = app.rcp(&coord, &center, &format!("RCP {i}")).await;
        app.member(&coord, &rcp, &physicians[i % 3], "participant").await;
        app.member(&coord, &rcp, &physicians[(i + 1) % 3], "participant").await;
        for day in 1..3 {
            let s = app.session(&coord, &rcp, day + i64::try_from(i).unwrap()).await;
            for (k, doc) in [&physicians[i % 3], &physicians[(i + 1) % 3]].into_iter().enumerate() {
                let patient = app.patient(doc, &format!("Patient{i}{day}{k}"), None, &[]).await;
                app.dossier(doc, &s, &patient, doc).await;
            }
        }
    }
    for k in 0..4 {
        let patient = app.patient(&chair, &format!("Run{k}"), None, &[]).await;
        app.dossier(&chair, &session, &patient, &chair).await;
    }
    validated_reports(&app, &coord, &center, &chair, &physicians, 31).await;
    validated_reports(&app, &coord, &center, &chair, &physicians, 32).await;
    let agenda = app.get("/api/v1/agenda", &sec.token).await;
    let shown: usize = agenda.body["items"].as_array().unwrap().iter().map(|s| s["dossiers"].as_array().unwrap().len()).sum();
    assert!(shown >= 25, "the grown agenda shows {shown} dossiers: {}", agenda.text);
    let waiting = app.get("/api/v1/me/reports-to-send?limit=200", &sec.token).await;
    assert_eq!(waiting.body["items"].as_array().unwrap().len(), 9, "{}", waiting.text);
    let found = app.get("/api/v1/dossiers?patient=Pa&limit=200", &sec.token).await;
    assert!(found.body["items"].as_array().unwrap().len() >= 30, "the grown search finds {}", found.text);
    let large = costs(&app, &sec, &chair, &physicians[0], &session, &dossier).await;

    eprintln!("costs: {large:?}");
    assert_eq!(small, large, "a list's statements must not grow with its page");
    for (what, cost) in &large {
        assert!(cost.statements <= 6, "{what} sends {} statements besides BEGIN/COMMIT", cost.statements);
        assert_eq!(cost.checkouts, 1, "{what} checks out {} pooled connections", cost.checkouts);
        // Reading the rights in a blocking call of their own cost a SQLite dossier read a tenth
        // of its throughput (bench/RESULTS.md, tenth round).
        assert_eq!(cost.blocking_calls, 1, "{what} makes {} blocking calls", cost.blocking_calls);
    }
    // The counter counts: the rights are one statement (all of `/me`), and a list reads its page
    // after them.
    for (what, cost) in &large {
        if what.starts_with("/me") {
            assert_eq!(cost.statements, 1, "{what} reads the rights in one statement");
        } else {
            assert!(cost.statements >= 2, "{what}: {cost:?}");
        }
    }
    // On PostgreSQL a read with its own plans needs no transaction (`db::read_in_autocommit`):
    // `BEGIN` and `COMMIT` were two of its round trips. SQLite reads in a snapshot.
    for (what, cost) in &large {
        if ["dossier read (secretary)", "session run"].contains(what) {
            if on_postgres() {
                assert_eq!(cost.transaction, 0, "{what} opens a transaction on PostgreSQL: {cost:?}");
            } else {
                assert!(cost.transaction >= 2, "{what} reads in a snapshot on SQLite: {cost:?}");
            }
        }
    }
}
