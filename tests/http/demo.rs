//! `concerto demo`: the world a newcomer logs in to.

use concerto_api::demo::{self, DEMO_PASSWORD};

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

    // The board's rules: today's session lacks its quorum; a year of history for the report.
    let petit = app.login("dr.petit", DEMO_PASSWORD).await;
    let today = app.get(&run, &petit).await.body;
    assert_eq!(today["attendance"]["quorum"]["met"], false, "{today}");
    assert_eq!(today["attendance"]["present"].as_array().unwrap().len(), 2);
    let coord = app.login("coord", DEMO_PASSWORD).await;
    let centers = app.get("/api/v1/cancer-centers", &coord).await.body;
    let north = centers["items"].as_array().unwrap().iter().find(|c| c["code"] == "3C-HDL").unwrap()["id"].as_str().unwrap().to_owned();
    let boards = app.get(&format!("/api/v1/reports/activity?cancer_center_id={north}"), &coord).await.body;
    let held: i64 = boards["items"].as_array().unwrap().iter().filter_map(|m| m["sessions_held"].as_i64()).sum();
    assert!(held >= 13, "{boards}");
    // A board a month with two dossiers: each month is drawn from fewer than five, suppressed.
    let months = app.get(&format!("/api/v1/reports/activity?cancer_center_id={north}&by=month"), &coord).await.body;
    let months = months["items"].as_array().unwrap();
    assert!(months.len() >= 11 && months.iter().filter(|m| m["suppressed"] == true).count() >= 11, "{months:?}");
    let specialties = app.get(&format!("/api/v1/reports/activity?cancer_center_id={north}&by=specialty"), &coord).await.body;
    assert!(specialties["items"].as_array().unwrap().iter().any(|r| r["key"] == "radiotherapy"), "{specialties}");
    // Sophie Durand has reports to send; Dr Bernard's holiday cover by Anne Roux is in his history.
    let waiting = app.get("/api/v1/me/reports-to-send", &durand).await.body;
    assert!(!waiting["items"].as_array().unwrap().is_empty(), "{waiting}");
    let me = app.get("/api/v1/me", &roux).await.body;
    assert!(me["acting_for"].as_array().unwrap().iter().any(|a| a["dates"]["valid_until"].is_string()), "{me}");
    let bernard = app.login("dr.bernard", DEMO_PASSWORD).await;
    let bernard_id = app.get("/api/v1/me", &bernard).await.body["professional"]["id"].as_str().unwrap().to_owned();
    let history = app.get(&format!("/api/v1/professionals/{bernard_id}/delegation-history"), &bernard).await.body;
    assert!(history["items"].as_array().unwrap().iter().any(|e| e["action"] == "changed"), "{history}");
}
