//! Round trips: the SQL statements a request sends, counted by the connections' instrumentation.
//! A list must cost a fixed number of statements whatever the size of its page (no query per
//! row or per RCP shown), and at most six besides `BEGIN`/`COMMIT`.

use crate::support::{TestApp, User};

/// The statements (besides transaction control) that one GET sends, asserting it answers 200.
async fn statements_of(app: &TestApp, path: &str, user: &User) -> u64 {
    let before = app.statements.get();
    let r = app.get(path, &user.token).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    app.statements.get().since(before).besides_transactions()
}

/// What the secretary, the animateur and the requester read, with their costs.
async fn costs(app: &TestApp, sec: &User, chair: &User, session: &str, dossier: &str) -> Vec<(&'static str, u64)> {
    vec![
        ("agenda (secretary)", statements_of(app, "/api/v1/agenda", sec).await),
        ("rcp_passages (secretary)", statements_of(app, "/api/v1/me/dossiers?tab=rcp_passages&limit=200", sec).await),
        ("agenda (animateur)", statements_of(app, "/api/v1/agenda", chair).await),
        ("session run", statements_of(app, &format!("/api/v1/sessions/{session}/run"), chair).await),
        ("/me (secretary)", statements_of(app, "/api/v1/me", sec).await),
        ("dossier read (secretary)", statements_of(app, &format!("/api/v1/dossiers/{dossier}"), sec).await),
    ]
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
    let patient = app.patient(&physicians[0], "Dupont", None, &[]).await;
    let dossier = app.dossier(&physicians[0], &session, &patient, &physicians[0]).await;
    let small = costs(&app, &sec, &chair, &session, &dossier).await;

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
    let agenda = app.get("/api/v1/agenda", &sec.token).await;
    let shown: usize = agenda.body["items"].as_array().unwrap().iter().map(|s| s["dossiers"].as_array().unwrap().len()).sum();
    assert!(shown >= 25, "the grown agenda shows {shown} dossiers: {}", agenda.text);
    let large = costs(&app, &sec, &chair, &session, &dossier).await;

    eprintln!("statements besides BEGIN/COMMIT: {large:?}");
    assert_eq!(small, large, "a list's statements must not grow with its page");
    for (what, n) in &large {
        assert!(*n <= 6, "{what} sends {n} statements besides BEGIN/COMMIT");
    }
    // The counter counts: a list reads the rights, the page and writes its audit event.
    assert!(large.iter().all(|(_, n)| *n >= 2), "{large:?}");
}
