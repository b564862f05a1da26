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
}
