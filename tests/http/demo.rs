//! `concerto demo`: the world a newcomer logs in to.

use concerto_api::demo::{self, DEMO_PASSWORD};

use serde_json::json;

use crate::support::TestApp;

#[actix_rt::test]
async fn demo_world_loads_once_and_shows_the_rules_at_work() {
    let app = TestApp::spawn().await;
    let pool = app.pool.clone();
    let printed = actix_web::web::block(move || demo::load(&mut pool.get().unwrap()).map(|w| w.to_string())).await.unwrap().unwrap();
    for username in ["admin", "coord", "dr.martin", "dr.bernard", "dr.petit", "sec.moreau", "sec.roux", "sec.durand"] {
        assert!(printed.contains(username), "{username} not printed:\n{printed}");
        app.login(username, DEMO_PASSWORD).await;
    }
    // A second load refuses a database that holds data.
    let pool = app.pool.clone();
    assert!(actix_web::web::block(move || demo::load(&mut pool.get().unwrap())).await.unwrap().is_err());
    // Its past, dated step by step, is what its records say (`concerto check`).
    let differences = concerto_persistence::check::run(&mut app.pool.get().unwrap()).unwrap();
    assert!(differences.is_empty(), "{differences:?}");

    // Sophie Durand went the seed's way: requested, created, category corrected, affiliated.
    let durand = app.login("sec.durand", DEMO_PASSWORD).await;
    let me = app.get("/api/v1/me", &durand).await.body;
    assert_eq!(me["professional"]["category"], "secretary");
    assert_eq!(me["acting_for"].as_array().unwrap().len(), 1);
    // Anne Roux acts for Dr Petit on both centers: she sees the sessions of both.
    let roux = app.login("sec.roux", DEMO_PASSWORD).await;
    let agenda = app.get("/api/v1/agenda", &roux).await.body;
    let rcps: std::collections::BTreeSet<&str> =
        agenda["items"].as_array().unwrap().iter().map(|s| s["rcp_name"].as_str().unwrap()).collect();
    assert!(rcps.contains("RCP Sénologie Sud") && rcps.contains("RCP Digestive"), "{agenda}");

    // Today's digestive session holds Dr Martin's and Dr Bernard's dossiers. Sophie Durand
    // (secretary of Dr Martin, a participant) sees only his; Julie Moreau acts for Dr Petit,
    // the animateur, and sees both, and the run.
    let today =
        |agenda: &serde_json::Value| agenda["items"].as_array().unwrap().iter().find(|s| s["status"] == "in_progress").cloned().unwrap();
    let durand_today = today(&app.get("/api/v1/agenda", &durand).await.body);
    let names: Vec<&str> =
        durand_today["dossiers"].as_array().unwrap().iter().map(|d| d["patient_family_name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Lefèvre"]);
    let moreau = app.login("sec.moreau", DEMO_PASSWORD).await;
    let moreau_today = today(&app.get("/api/v1/agenda", &moreau).await.body);
    assert_eq!(moreau_today["dossiers"].as_array().unwrap().len(), 2);
    let run = format!("/api/v1/sessions/{}/run", moreau_today["id"].as_str().unwrap());
    assert_eq!(app.get(&run, &moreau).await.status, 200);
    assert_eq!(app.get(&run, &durand).await.status, 403);
    // Dr Martin's tabs: his requests, and the patient he treats (whose report was sent).
    let martin = app.login("dr.martin", DEMO_PASSWORD).await;
    let treating = app.get("/api/v1/me/dossiers?tab=treating", &martin).await.body;
    assert!(treating["items"].as_array().unwrap().iter().any(|d| d["status"] == "validated"), "{treating}");
    let statuses: std::collections::BTreeSet<String> = app.get("/api/v1/me/dossiers?tab=rcp_passages", &martin).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["discussed", "registered", "validated", "withdrawn"].map(String::from).into_iter().collect());

    // The board's rules: today's session is under way, started before now (the last
    // quarter-hour at least half an hour before the load), and lacks its quorum.
    let petit = app.login("dr.petit", DEMO_PASSWORD).await;
    let today = app.get(&run, &petit).await.body;
    assert_eq!(today["attendance"]["quorum"]["met"], false, "{today}");
    assert_eq!(today["attendance"]["present"].as_array().unwrap().len(), 2);
    let starts_at: chrono::DateTime<chrono::Utc> = moreau_today["starts_at"].as_str().unwrap().parse().unwrap();
    let since = chrono::Utc::now() - starts_at;
    assert!(since >= chrono::Duration::minutes(30) && since < chrono::Duration::minutes(50), "started {since} ago");

    // "Log in as `coord` and call `GET /reports/activity`": her center's year (the current month
    // and the twelve before), no parameter; then the digestive board's row alone (in the month
    // of the thoracic board planned in three days, that board's row shows too: one dossier,
    // suppressed, and the digestive row with it so that the total does not give it back).
    let coord = app.login("coord", DEMO_PASSWORD).await;
    let report = app.get("/api/v1/reports/activity", &coord).await;
    assert_eq!(report.status, 200, "{}", report.text);
    let items = report.body["items"].as_array().unwrap();
    let digestive = items.iter().find(|r| r["label"] == "RCP Digestive").unwrap_or_else(|| panic!("{}", report.text));
    let report = app.get(&format!("/api/v1/reports/activity?rcp_id={}", digestive["key"].as_str().unwrap()), &coord).await;
    assert_eq!(report.status, 200, "{}", report.text);
    let [row] = report.body["items"].as_array().unwrap().as_slice() else { panic!("{}", report.text) };
    assert_eq!(row["label"], "RCP Digestive");
    assert_eq!((&row["sessions_held"], &row["dossiers_validated"], &row["reports_sent"]), (&json!(14), &json!(26), &json!(25)), "{row}");
    // Registration to validation about eight days, validation to sending about two.
    let hours = |delay: &str, at: &str| row[delay][at].as_f64().unwrap();
    assert!((190.0..200.0).contains(&hours("validation_delay_hours", "median")), "{row}");
    assert!((240.0..250.0).contains(&hours("validation_delay_hours", "p90")), "{row}");
    assert!((40.0..46.0).contains(&hours("sending_delay_hours", "median")), "{row}");
    assert!((66.0..72.0).contains(&hours("sending_delay_hours", "p90")), "{row}");
    // A board a month with two dossiers: each month is drawn from fewer than five, suppressed.
    let months = app.get("/api/v1/reports/activity?by=month", &coord).await.body;
    let months = months["items"].as_array().unwrap();
    assert!(months.len() >= 12 && months.iter().filter(|m| m["suppressed"] == true).count() >= 11, "{months:?}");
    let specialties = app.get("/api/v1/reports/activity?by=specialty", &coord).await.body;
    assert!(specialties["items"].as_array().unwrap().iter().any(|r| r["key"] == "radiotherapy"), "{specialties}");

    // Last week's board: Sophie Durand sent Dr Martin's report; Dr Bernard's (Mercier) waits for
    // the secretaries who act for him, and for him.
    let to_send = |token: &str| {
        let token = token.to_owned();
        let app = &app;
        async move { app.get("/api/v1/me/reports-to-send", &token).await.body["items"].as_array().unwrap().clone() }
    };
    assert_eq!(to_send(&durand).await.len(), 0);
    let bernard = app.login("dr.bernard", DEMO_PASSWORD).await;
    for token in [&moreau, &roux, &bernard] {
        let waiting = to_send(token).await;
        assert_eq!(waiting.len(), 1, "{waiting:?}");
        assert_eq!(waiting[0]["patient_family_name"], "Mercier", "{waiting:?}");
    }

    // The fiches: Mercier's proposal is non-conform, with its reason; the board's sites show in
    // the activity by tumour site.
    let mercier = to_send(&bernard).await[0]["dossier_id"].as_str().unwrap().to_owned();
    let fiche = app.get(&format!("/api/v1/dossiers/{mercier}"), &bernard).await.body;
    assert_eq!(fiche["fiche"]["framework"]["conform"], false, "{fiche}");
    assert!(fiche["fiche"]["framework"]["nonconformity_reason"].is_string(), "{fiche}");
    assert_eq!(fiche["fiche_missing"], serde_json::json!([]), "{fiche}");
    let sites = app.get("/api/v1/reports/activity?by=tumour_site", &coord).await.body;
    let keys: Vec<&serde_json::Value> = sites["items"].as_array().unwrap().iter().map(|r| &r["key"]).collect();
    assert!(keys.iter().filter(|k| **k != "unknown").count() >= 3, "{sites}");

    // Dr Bernard's holiday cover by Anne Roux is in his history.
    let me = app.get("/api/v1/me", &roux).await.body;
    assert!(me["acting_for"].as_array().unwrap().iter().any(|a| a["dates"]["valid_until"].is_string()), "{me}");
    let bernard_id = app.get("/api/v1/me", &bernard).await.body["professional"]["id"].as_str().unwrap().to_owned();
    let history = app.get(&format!("/api/v1/professionals/{bernard_id}/delegation-history"), &bernard).await.body;
    assert!(history["items"].as_array().unwrap().iter().any(|e| e["action"] == "changed"), "{history}");

    // The administrator has one account request to decide.
    let admin = app.login("admin", DEMO_PASSWORD).await;
    let requests = app.get("/api/v1/account-requests", &admin).await.body;
    let pending: Vec<&serde_json::Value> = requests["items"].as_array().unwrap().iter().filter(|r| r["status"] == "pending").collect();
    assert_eq!(pending.len(), 1, "{requests}");
    assert_eq!(pending[0]["family_name"], "Garnier");
}
