//! The benchmark region (`concerto generate`): coherent enough to drive the scenarios through the
//! API, and the same for the same seed.

use concerto_persistence::region;

use crate::support::{PASSWORD, TestApp};

async fn generated(app: &TestApp, seed: u64) -> region::Landmarks {
    let hash = concerto_api::auth::hash_password(PASSWORD).unwrap();
    let mut conn = app.pool.get().unwrap();
    region::generate(&mut conn, 400, seed, &hash, &mut |_, _| {}).unwrap()
}

#[actix_rt::test]
async fn a_generated_region_answers_the_bench_scenarios_and_repeats_for_a_seed() {
    let app = TestApp::spawn().await;
    let marks = generated(&app, 7).await;
    let extra: usize = region::ROW_COST_RUNS.iter().sum();
    assert_eq!(marks.dossiers, 400 + extra);
    let sec = app.login(&marks.secretary, PASSWORD).await;
    let me = app.get("/api/v1/me", &sec).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["acting_for"].as_array().unwrap().len(), 5, "a secretary of 5 physicians: {}", me.text);
    let agenda = app.get("/api/v1/agenda", &sec).await;
    assert_eq!(agenda.status, 200, "{}", agenda.text);
    assert!(!agenda.body["items"].as_array().unwrap().is_empty(), "her physicians' boards meet: {}", agenda.text);
    assert_eq!(app.get("/api/v1/me/dossiers?tab=rcp_passages", &sec).await.status, 200);
    let chair = app.login(&marks.animateur, PASSWORD).await;
    let run = app.get(&format!("/api/v1/sessions/{}/run", marks.current_session), &chair).await;
    assert_eq!(run.status, 200, "{}", run.text);
    assert_eq!(run.body["dossiers"].as_array().map(Vec::len), Some(region::DOSSIERS_PER_SESSION), "{}", run.text);
    assert_eq!(app.get(&format!("/api/v1/dossiers/{}", marks.dossier), &chair).await.status, 200);

    // The heavy secretary: 5 physicians, one of them the animateur of a board whose every dossier
    // she sees in her agenda and whose runs she opens, the three far ahead at their sizes.
    let heavy = app.login(region::HEAVY_SECRETARY, PASSWORD).await;
    let me = app.get("/api/v1/me", &heavy).await;
    assert_eq!(me.body["acting_for"].as_array().map(Vec::len), Some(5), "{}", me.text);
    let agenda = app.get("/api/v1/agenda", &heavy).await;
    let board = agenda.body["items"].as_array().unwrap().iter().find(|s| s["id"] == marks.heavy_session.as_str());
    let board = board.unwrap_or_else(|| panic!("her animateur's board meets this week: {}", agenda.text));
    assert_eq!(board["dossiers"].as_array().map(Vec::len), Some(region::DOSSIERS_PER_SESSION), "{}", agenda.text);
    let run = app.get(&format!("/api/v1/sessions/{}/run", marks.heavy_session), &heavy).await;
    assert_eq!(run.body["dossiers"].as_array().map(Vec::len), Some(region::DOSSIERS_PER_SESSION), "{}", run.text);
    assert_eq!(marks.row_cost_sessions.len(), region::ROW_COST_RUNS.len());
    for (session, size) in marks.row_cost_sessions.iter().zip(region::ROW_COST_RUNS) {
        let run = app.get(&format!("/api/v1/sessions/{session}/run"), &heavy).await;
        assert_eq!(run.body["dossiers"].as_array().map(Vec::len), Some(size), "{}", run.text);
    }
    let tab = app.get("/api/v1/me/dossiers?tab=rcp_passages&limit=115", &heavy).await;
    assert_eq!(tab.body["items"].as_array().map(Vec::len), Some(115), "{}", tab.text);
    // Its derived records are what its sources say: the worklist, the first sendings, the
    // history of the links it inserted set-based.
    let differences = concerto_persistence::check::run(&mut app.pool.get().unwrap()).unwrap();
    assert!(differences.is_empty(), "{:?}", &differences[..differences.len().min(5)]);

    // Its dossiers carry fiche projections: activity by tumour site and by proposal type.
    let admin = app.admin().await;
    let year = "from=2000-01-01&to=2100-01-01";
    let by_site = app.get(&format!("/api/v1/reports/activity?by=tumour_site&{year}"), &admin.token).await;
    let sites: Vec<&str> = by_site.body["items"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert!(sites.contains(&"C34") && sites.contains(&"C50") && !sites.contains(&"unknown"), "{}", by_site.text);
    let total: i64 = by_site.body["items"].as_array().unwrap().iter().map(|r| r["dossiers_registered"].as_i64().unwrap_or(0)).sum();
    assert!(total > 300, "{}", by_site.text);
    let by_type = app.get(&format!("/api/v1/reports/activity?by=proposal_type&{year}"), &admin.token).await;
    let surgery = by_type.body["items"].as_array().unwrap().iter().find(|r| r["key"] == "387713003").unwrap();
    let share = surgery["conform_share"].as_f64().unwrap();
    assert!(share > 0.5 && share < 1.0, "{}", by_type.text);

    let again = generated(&TestApp::spawn().await, 7).await;
    assert_eq!((&again.current_session, &again.dossier, &again.secretary), (&marks.current_session, &marks.dossier, &marks.secretary));
    assert_eq!((&again.heavy_session, &again.row_cost_sessions), (&marks.heavy_session, &marks.row_cost_sessions));
}
