//! Cancer centers, account requests, accounts, profiles.

use serde_json::json;

use crate::support::{PASSWORD, TestApp, User, assert_problem};

#[actix_rt::test]
async fn centers_are_created_by_the_admin_and_listed_in_pages() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for code in ["B", "A", "C"] {
        let r = app.post("/api/v1/cancer-centers", &admin.token, json!({"name": format!("3C {code}"), "code": code})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["code"], code);
    }
    assert_problem(&app.post("/api/v1/cancer-centers", &admin.token, json!({"name": "again", "code": "A"})).await, 409, "code_taken");
    let first = app.get("/api/v1/cancer-centers?limit=2", &admin.token).await;
    let codes: Vec<&str> = first.body["items"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, vec!["A", "B"]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app.get(&format!("/api/v1/cancer-centers?limit=2&cursor={cursor}"), &admin.token).await;
    assert_eq!(second.body["items"][0]["code"], "C");
    assert_eq!(second.body["next_cursor"], json!(null));

    let center = first.body["items"][0]["id"].as_str().unwrap().to_owned();
    let coord = app.coordinator(&center).await;
    assert_problem(
        &app.post("/api/v1/cancer-centers", &coord.token, json!({"name": "x", "code": "X"})).await,
        403,
        "platform_admin_required",
    );
    assert_eq!(app.get("/api/v1/cancer-centers", &coord.token).await.status, 200);
}

#[actix_rt::test]
async fn account_request_from_the_center_to_a_working_login() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let center = app.center("3C Nord").await;
    let other = app.center("3C Sud").await;
    let coord = app.coordinator(&center).await;
    let request = json!({
        "cancer_center_id": center, "family_name": "Durand", "given_name": "Sophie",
        "email": "s.durand@example.org", "expected_profile": "secretary"
    });
    // Only a coordinator of that center files; the administrator does not.
    let mut foreign = request.clone();
    foreign["cancer_center_id"] = json!(other);
    assert_problem(&app.post("/api/v1/account-requests", &coord.token, foreign).await, 403, "center_coordinator_required");
    assert_problem(&app.post("/api/v1/account-requests", &admin.token, request.clone()).await, 403, "center_coordinator_required");
    let mut bad = request.clone();
    bad["email"] = json!("not-an-email");
    assert_problem(&app.post("/api/v1/account-requests", &coord.token, bad).await, 422, "validation_failed");
    let mut bad_rpps = request.clone();
    bad_rpps["rpps"] = json!("12345678901");
    assert_problem(&app.post("/api/v1/account-requests", &coord.token, bad_rpps).await, 422, "invalid_rpps");

    let filed = app.post("/api/v1/account-requests", &coord.token, request).await;
    assert_eq!(filed.status, 201, "{}", filed.text);
    assert_eq!(filed.body["status"], "pending");
    assert_eq!(filed.body["requested_by"], json!(coord.id));
    let id = filed.id();

    let pending = app.get("/api/v1/account-requests?status=pending", &admin.token).await;
    assert_eq!(pending.body["items"].as_array().unwrap().len(), 1);
    // The coordinator follows her center's requests; a coordinator elsewhere sees none.
    assert_eq!(app.get("/api/v1/account-requests", &coord.token).await.body["items"][0]["id"], json!(id));
    let elsewhere = app.coordinator(&other).await;
    assert_eq!(app.get("/api/v1/account-requests", &elsewhere.token).await.body["items"], json!([]));
    let doc = app.physician("Martin", &center).await;
    assert_problem(&app.get("/api/v1/account-requests", &doc.token).await, 403, "platform_admin_required");

    let fulfil = json!({"username": "s.durand", "initial_password": PASSWORD});
    assert_problem(
        &app.post(&format!("/api/v1/account-requests/{id}/fulfil"), &coord.token, fulfil.clone()).await,
        403,
        "platform_admin_required",
    );
    let done = app.post(&format!("/api/v1/account-requests/{id}/fulfil"), &admin.token, fulfil.clone()).await;
    assert_eq!(done.status, 200, "{}", done.text);
    let professional_id = done.body["professional_id"].as_str().unwrap().to_owned();
    assert_problem(&app.post(&format!("/api/v1/account-requests/{id}/fulfil"), &admin.token, fulfil).await, 409, "request_not_pending");

    // She logs in with the expected profile on the requesting center, as a physician by default.
    let token = app.login("s.durand", PASSWORD).await;
    let me = app.get("/api/v1/me", &token).await.body;
    assert_eq!(me["professional"]["id"], json!(professional_id));
    assert_eq!(me["professional"]["category"], "physician");
    assert_eq!(me["profiles"], json!([{"cancer_center_id": center, "kind": "secretary"}]));
    assert_eq!(app.get("/api/v1/account-requests?status=pending", &admin.token).await.body["items"], json!([]));
    let fulfilled = app.get("/api/v1/account-requests?status=fulfilled", &admin.token).await;
    assert_eq!(fulfilled.body["items"][0]["account_id"], done.body["account_id"]);
}

#[actix_rt::test]
async fn rejected_requests_keep_their_reason_and_a_failed_fulfilment_writes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let center = app.center("3C").await;
    let coord = app.coordinator(&center).await;
    let body = |family: &str| json!({"cancer_center_id": center, "family_name": family, "given_name": "X", "email": "x@example.org", "expected_profile": "physician"});
    let a = app.post("/api/v1/account-requests", &coord.token, body("Alpha")).await.id();
    let b = app.post("/api/v1/account-requests", &coord.token, body("Beta")).await.id();

    assert_problem(
        &app.post(&format!("/api/v1/account-requests/{a}/reject"), &admin.token, json!({"reason": ""})).await,
        422,
        "validation_failed",
    );
    let rejected = app
        .post(&format!("/api/v1/account-requests/{a}/reject"), &admin.token, json!({"reason": "duplicate of an existing account"}))
        .await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    assert_eq!(rejected.body["status"], "rejected");
    assert_eq!(rejected.body["reject_reason"], "duplicate of an existing account");
    assert_problem(
        &app.post(
            &format!("/api/v1/account-requests/{a}/fulfil"),
            &admin.token,
            json!({"username": "alpha", "initial_password": PASSWORD}),
        )
        .await,
        409,
        "request_not_pending",
    );

    // The username is taken: nothing of the fulfilment remains (no professional named Beta).
    let r = app
        .post(
            &format!("/api/v1/account-requests/{b}/fulfil"),
            &admin.token,
            json!({"username": coord.username, "initial_password": PASSWORD}),
        )
        .await;
    assert_problem(&r, 409, "username_taken");
    assert_eq!(app.get("/api/v1/professionals?q=beta", &admin.token).await.body["items"], json!([]));
    assert_eq!(app.get("/api/v1/account-requests?status=pending", &admin.token).await.body["items"][0]["id"], json!(b));
    assert_problem(&app.post("/api/v1/account-requests/nope/reject", &admin.token, json!({"reason": "x"})).await, 404, "not_found");
}

#[actix_rt::test]
async fn accounts_and_profiles_are_the_admins_and_take_effect_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let center = app.center("3C").await;
    let doc = app.physician("Martin", &center).await;
    let r =
        app.post("/api/v1/accounts", &admin.token, json!({"professional_id": doc.id, "username": "second", "password": PASSWORD})).await;
    assert_problem(&r, 409, "account_exists");
    let r = app.post("/api/v1/accounts", &admin.token, json!({"professional_id": "nope", "username": "third", "password": PASSWORD})).await;
    assert_problem(&r, 404, "not_found");
    let r = app.post("/api/v1/accounts", &admin.token, json!({"professional_id": doc.id, "username": "x", "password": "short"})).await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 2);
    assert_problem(
        &app.patch(&format!("/api/v1/accounts/{}", doc.account_id), &doc.token, json!({"active": false})).await,
        403,
        "platform_admin_required",
    );
    assert_problem(&app.patch("/api/v1/accounts/nope", &admin.token, json!({"active": false})).await, 404, "not_found");

    // Profiles: idempotent grant and removal, visible in the next /me.
    let path = format!("/api/v1/professionals/{}/profiles/{center}/center_coordinator", doc.id);
    assert_problem(&app.put(&path, &doc.token, None).await, 403, "platform_admin_required");
    assert_eq!(app.put(&path, &admin.token, None).await.status, 204);
    assert_eq!(app.put(&path, &admin.token, None).await.status, 204);
    assert_eq!(app.me(&doc).await["profiles"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.me(&doc).await["modules"],
        json!(["agenda", "patients", "session_run", "dossiers", "directory", "administration", "reports"])
    );
    assert_eq!(app.delete(&path, &admin.token).await.status, 204);
    assert_eq!(app.delete(&path, &admin.token).await.status, 204);
    assert_eq!(app.me(&doc).await["profiles"], json!([{"cancer_center_id": center, "kind": "physician"}]));
    assert_problem(
        &app.put(&format!("/api/v1/professionals/{}/profiles/{center}/king", doc.id), &admin.token, None).await,
        404,
        "not_found",
    );
    assert_problem(
        &app.put(&format!("/api/v1/professionals/{}/profiles/nope/secretary", doc.id), &admin.token, None).await,
        404,
        "not_found",
    );
}

#[actix_rt::test]
async fn nobody_disables_himself_and_the_platform_always_keeps_an_active_administrator() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // The world is made by `admin`, whom `second` disables below.
    let center = app.center("3C").await;
    let coordinator = app.coordinator(&center).await;
    let successor = app.physician("Successor", &center).await;
    let account = |u: &User| format!("/api/v1/accounts/{}", u.account_id);
    // The only administrator cannot lock himself out; his token and login keep working.
    assert_problem(&app.patch(&account(&admin), &admin.token, json!({"active": false})).await, 409, "cannot_disable_self");
    assert_eq!(app.get("/api/v1/me", &admin.token).await.body["is_platform_admin"], true);
    app.login("admin", PASSWORD).await;
    // Enabling himself changes nothing and is not refused.
    assert_eq!(app.patch(&account(&admin), &admin.token, json!({"active": true})).await.status, 200);

    // With a second administrator, each may disable the other, never himself.
    let second = app.another_admin("second").await;
    assert_problem(&app.patch(&account(&second), &second.token, json!({"active": false})).await, 409, "cannot_disable_self");
    let r = app.patch(&account(&second), &admin.token, json!({"active": false})).await;
    assert_eq!((r.status, &r.body["active"]), (200, &json!(false)), "{}", r.text);
    assert_problem(&app.get("/api/v1/me", &second.token).await, 401, "invalid_token");
    // Disabled already: disabling again leaves the caller active, so it is allowed.
    assert_eq!(app.patch(&account(&second), &admin.token, json!({"active": false})).await.status, 200);
    assert_eq!(app.patch(&account(&second), &admin.token, json!({"active": true})).await.status, 200);
    let second = User { token: app.login("second", PASSWORD).await, ..second };
    assert_eq!(app.patch(&account(&admin), &second.token, json!({"active": false})).await.status, 200);
    assert_problem(&app.get("/api/v1/me", &admin.token).await, 401, "invalid_token");
    assert_problem(&app.patch(&account(&second), &second.token, json!({"active": false})).await, 409, "cannot_disable_self");

    // Being an administrator is the account's, not the professional's: changing his category
    // or his profiles does not take it away.
    let category =
        app.put(&format!("/api/v1/professionals/{}/category", second.id), &second.token, Some(json!({"category": "physician"}))).await;
    assert_eq!(category.status, 200, "{}", category.text);
    let profile = format!("/api/v1/professionals/{}/profiles/{center}/center_coordinator", second.id);
    assert_eq!(app.put(&profile, &second.token, None).await.status, 204);
    assert_eq!(app.delete(&profile, &second.token).await.status, 204);
    assert_eq!(app.get("/api/v1/me", &second.token).await.body["is_platform_admin"], true);

    // A center whose only coordinator is disabled stays administrable: the administrator
    // grants the profile to someone else.
    assert_eq!(app.patch(&account(&coordinator), &second.token, json!({"active": false})).await.status, 200);
    let path = format!("/api/v1/professionals/{}/profiles/{center}/center_coordinator", successor.id);
    assert_eq!(app.put(&path, &second.token, None).await.status, 204);
    assert_eq!(app.get(&format!("/api/v1/reports/activity?cancer_center_id={center}"), &successor.token).await.status, 200);
}
