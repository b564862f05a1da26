//! The secretary's day: the validated reports to send, and the multicriteria dossier search.

use serde_json::{Value, json};

use crate::support::{TestApp, User, assert_problem};

/// A board (chair, two participants each with a secretary), a treating physician and a
/// correspondent outside it, and a session in progress with its quorum.
struct Day {
    app: TestApp,
    center: String,
    coord: User,
    chair: User,
    member: User,
    other: User,
    sec_member: User,
    sec_other: User,
    treating: User,
    correspondent: User,
    rcp: String,
    session: String,
}

async fn day() -> Day {
    let app = TestApp::spawn().await;
    let center = app.center("3C Nord").await;
    let coord = app.coordinator(&center).await;
    let chair = app.physician("Chair", &center).await;
    let member = app.physician("Member", &center).await;
    let other = app.physician("Other", &center).await;
    let sec_member = app.secretary("SecMember", &center).await;
    let sec_other = app.secretary("SecOther", &center).await;
    let treating = app.physician("Traitant", &center).await;
    let correspondent = app.physician("Correspondant", &center).await;
    let rcp = app.rcp(&coord, &center, "RCP digestive").await;
    app.member(&coord, &rcp, &chair, "animateur").await;
    app.member(&coord, &rcp, &member, "participant").await;
    app.member(&coord, &rcp, &other, "participant").await;
    app.affiliate(&coord, &member, &sec_member).await;
    app.affiliate(&coord, &other, &sec_other).await;
    let session = app.session(&coord, &rcp, 1).await;
    Day { app, center, coord, chair, member, other, sec_member, sec_other, treating, correspondent, rcp, session }
}

/// The ids a search answers, sorted.
async fn search(app: &TestApp, user: &User, query: &str) -> Vec<String> {
    let r = app.get(&format!("/api/v1/dossiers?{query}"), &user.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut ids: Vec<String> = r.body["items"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

/// Registers, discusses and validates a dossier of `requester` for a new patient.
async fn validated(d: &Day, requester: &User, family: &str, treating: Option<&User>, correspondents: &[&User]) -> (String, String) {
    let patient = d.app.patient(requester, family, treating, correspondents).await;
    let dossier = d.app.dossier(requester, &d.session, &patient, requester).await;
    (patient, dossier)
}

async fn discuss_and_validate(d: &Day, dossier: &str) {
    let path = format!("/api/v1/dossiers/{dossier}");
    let etag = d.app.get(&path, &d.chair.token).await.header("etag").unwrap();
    assert_eq!(
        d.app
            .with_if_match("PATCH", &path, &d.chair.token, &etag, json!({"proposal": "Chirurgie", "fiche": d.app.complete_fiche().await}))
            .await
            .status,
        200
    );
    let v = d.app.post(&format!("{path}/validate"), &d.chair.token, json!({})).await;
    assert_eq!(v.status, 200, "{}", v.text);
}

async fn worklist(app: &TestApp, user: &User) -> Vec<Value> {
    let r = app.get("/api/v1/me/reports-to-send", &user.token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let count = app.get("/api/v1/me/reports-to-send/count", &user.token).await.body["count"].as_u64().unwrap();
    let items = r.body["items"].as_array().unwrap().clone();
    assert_eq!(count as usize, items.len(), "the badge counts the list");
    items
}

async fn start_with_quorum(d: &Day) {
    assert_eq!(d.app.post(&format!("/api/v1/sessions/{}/start", d.session), &d.chair.token, json!({})).await.status, 200);
    d.app.quorum_present(&d.center, &d.session, &d.chair).await;
}

#[actix_rt::test]
async fn validated_reports_wait_until_every_default_recipient_has_them() {
    let d = day().await;
    let (patient, mine) = validated(&d, &d.member, "Dupont", Some(&d.treating), &[&d.correspondent]).await;
    let (_, theirs) = validated(&d, &d.other, "Zorglub", None, &[]).await;
    start_with_quorum(&d).await;
    assert!(worklist(&d.app, &d.sec_member).await.is_empty(), "nothing validated yet");
    discuss_and_validate(&d, &mine).await;
    discuss_and_validate(&d, &theirs).await;

    // Her physician's report waits, with its three default recipients; not the other one's.
    let list = worklist(&d.app, &d.sec_member).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["dossier_id"], json!(mine));
    assert_eq!(list[0]["rcp_name"], "RCP digestive");
    let roles: Vec<(&str, &str, bool)> = list[0]["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["professional_id"].as_str().unwrap(), r["role"].as_str().unwrap(), r["reached"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        roles,
        vec![
            (d.member.id.as_str(), "requester", false),
            (d.treating.id.as_str(), "treating", false),
            (d.correspondent.id.as_str(), "correspondent", false)
        ]
    );
    let names: Vec<&str> = list[0]["recipients"].as_array().unwrap().iter().map(|r| r["display_name"].as_str().unwrap()).collect();
    assert!(
        names[0].ends_with(" MEMBER") && names[1].ends_with(" TRAITANT") && names[2].ends_with(" CORRESPONDANT"),
        "each recipient named: {names:?}"
    );
    assert!(!serde_json::to_string(&worklist(&d.app, &d.sec_member).await).unwrap().contains("Zorglub"));
    // The requester sees his; the chair (who validated) does not: only requesters' reports.
    assert_eq!(worklist(&d.app, &d.member).await.len(), 1);
    assert!(worklist(&d.app, &d.chair).await.is_empty());
    assert_eq!(worklist(&d.app, &d.sec_other).await[0]["dossier_id"], json!(theirs));

    let send = |to: Vec<&str>| json!({"recipient_ids": to, "channel": "mssante"});
    let path = format!("/api/v1/dossiers/{mine}/report/transmissions");
    assert_eq!(d.app.post(&path, &d.sec_member.token, send(vec![&d.member.id, &d.treating.id])).await.status, 201);
    let list = worklist(&d.app, &d.sec_member).await;
    let reached: Vec<bool> = list[0]["recipients"].as_array().unwrap().iter().map(|r| r["reached"].as_bool().unwrap()).collect();
    assert_eq!(reached, vec![true, true, false]);
    assert_eq!(d.app.post(&path, &d.sec_member.token, send(vec![&d.correspondent.id])).await.status, 201);
    assert!(worklist(&d.app, &d.sec_member).await.is_empty(), "sent to all: off the list");

    // A new correspondent of the patient is a new default recipient: the report waits again.
    let newcomer = d.app.physician("Nouveau", &d.center).await;
    let patient_path = format!("/api/v1/patients/{patient}");
    let etag = d.app.get(&patient_path, &d.member.token).await.header("etag").unwrap();
    let body = json!({"correspondent_ids": [d.correspondent.id, newcomer.id]});
    assert_eq!(d.app.with_if_match("PATCH", &patient_path, &d.member.token, &etag, body).await.status, 200);
    let list = worklist(&d.app, &d.sec_member).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["recipients"].as_array().unwrap().len(), 4);
    // The secretary loses her physician: his reports leave her list at once.
    assert_eq!(
        d.app.delete(&format!("/api/v1/professionals/{}/secretaries/{}", d.member.id, d.sec_member.id), &d.coord.token).await.status,
        204
    );
    assert!(worklist(&d.app, &d.sec_member).await.is_empty());
}

#[actix_rt::test]
async fn the_search_finds_only_what_the_caller_may_read() {
    let d = day().await;
    let (_, mine) = validated(&d, &d.member, "Dupont", None, &[]).await;
    let (_, theirs) = validated(&d, &d.other, "Durand", Some(&d.treating), &[]).await;
    let (_, chairs) = validated(&d, &d.chair, "Dubois", None, &[]).await;
    assert_problem(&d.app.get("/api/v1/dossiers", &d.sec_member.token).await, 422, "search_too_broad");
    assert_problem(&d.app.get("/api/v1/dossiers?patient=d", &d.sec_member.token).await, 422, "search_too_broad");
    let rcp = format!("rcp_id={}", d.rcp);
    // A secretary of a participant: her physician's dossiers only, whatever the criteria.
    assert_eq!(search(&d.app, &d.sec_member, &rcp).await, vec![mine.clone()]);
    assert_eq!(search(&d.app, &d.sec_member, "patient=du").await, vec![mine.clone()]);
    assert!(search(&d.app, &d.sec_member, &format!("requester_id={}", d.other.id)).await.is_empty());
    // A member sees the whole RCP; the treating physician (no member) his patient's dossier.
    let mut all = vec![mine.clone(), theirs.clone(), chairs.clone()];
    all.sort();
    assert_eq!(search(&d.app, &d.member, &rcp).await, all);
    assert_eq!(search(&d.app, &d.member, "patient=DUR").await, vec![theirs.clone()]);
    assert_eq!(search(&d.app, &d.treating, &rcp).await, vec![theirs.clone()]);
    assert!(search(&d.app, &d.coord, &rcp).await.is_empty(), "coordinators read no medical data");
    assert_eq!(search(&d.app, &d.member, "status=registered&patient=dub").await, vec![chairs.clone()]);
    assert!(search(&d.app, &d.member, "status=validated").await.is_empty());
    let today = chrono::Utc::now().date_naive();
    assert_eq!(search(&d.app, &d.member, &format!("session_from={today}&session_to={}", today + chrono::Days::new(3))).await, all);
    assert!(search(&d.app, &d.member, &format!("session_to={today}")).await.is_empty());
    // For a spreadsheet.
    let csv = d.app.raw("GET", &format!("/api/v1/dossiers?{rcp}"), Some(&d.sec_member.token), &[("accept", "text/csv")], Vec::new()).await;
    assert_eq!(csv.status, 200);
    assert!(csv.text.starts_with("id,rcp_id,rcp_name,session_starts_at,patient_id,patient_family_name"), "{}", csv.text);
    assert!(csv.text.contains("DUPONT") || csv.text.contains("Dupont"));
    assert!(!csv.text.contains("Durand") && !csv.text.contains("Dubois"), "{}", csv.text);
}

/// Every page of a search, in the order the pages give them.
async fn search_pages(app: &TestApp, user: &User, query: &str) -> Vec<String> {
    let (mut ids, mut cursor) = (Vec::new(), String::new());
    loop {
        let r = app.get(&format!("/api/v1/dossiers?{query}&limit=2&cursor={cursor}"), &user.token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        ids.extend(r.body["items"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap().to_owned()));
        match r.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return ids,
        }
    }
}

/// A dossier made by the test: (id, rank of its session's start, requester, patient's family
/// name, RCP).
type Made = (String, usize, String, String, String);

/// The search starts from what the caller may see when that is small and the name prefix common,
/// and from the name range when the prefix is rare or the caller sees many RCPs whole: either
/// way the answer is what the rules say, newest session first then by id, page after page.
/// Seen from what she sees, the search merges one ordered walk per RCP seen whole and per
/// requester: a second RCP's sessions fall between the first's, and a dossier seen two ways
/// (a member's own request in her RCP) comes once.
#[actix_rt::test]
async fn the_search_answers_the_rules_whether_it_starts_from_the_name_or_from_the_visible() {
    let d = day().await;
    // Dossiers over three sessions of the board; (dossier, session rank, requester, family name).
    let sessions = [d.session.clone(), d.app.session(&d.coord, &d.rcp, 2).await, d.app.session(&d.coord, &d.rcp, 3).await];
    // A second board of the member's and the other's, its sessions created later on the same
    // days: in start order, ranks 0, 1 and 3 are the first board's, 2 and 4 the second's.
    let rcp2 = d.app.rcp(&d.coord, &d.center, "RCP thoracique").await;
    d.app.member(&d.coord, &rcp2, &d.member, "participant").await;
    d.app.member(&d.coord, &rcp2, &d.other, "participant").await;
    let sessions2 = [d.app.session(&d.coord, &rcp2, 2).await, d.app.session(&d.coord, &rcp2, 3).await];
    let ranks = [0, 1, 3];
    let mut all: Vec<Made> = Vec::new();
    let mut treated_patient = String::new();
    for i in 0..12 {
        // Most of the "Martin" name range is the other participant's: large range, few visible.
        let (requester, treating, correspondents): (&User, Option<&User>, Vec<&User>) = match i % 4 {
            0 => (&d.member, None, vec![]),
            1 => (&d.other, Some(&d.treating), vec![]),
            2 => (&d.other, None, vec![&d.correspondent]),
            _ => (&d.other, None, vec![]),
        };
        let family = format!("Martin{i}");
        let patient = d.app.patient(requester, &family, treating, &correspondents).await;
        let dossier = d.app.dossier(requester, &sessions[i % 3], &patient, requester).await;
        if i == 1 {
            treated_patient = patient.clone();
        }
        all.push((dossier, ranks[i % 3], requester.id.clone(), family, d.rcp.clone()));
    }
    for (i, session) in sessions.iter().enumerate() {
        let patient = d.app.patient(&d.member, &format!("Zola{i}"), None, &[]).await;
        let dossier = d.app.dossier(&d.member, session, &patient, &d.member).await;
        all.push((dossier, ranks[i], d.member.id.clone(), format!("Zola{i}"), d.rcp.clone()));
    }
    for j in 0..4 {
        let requester = if j % 2 == 0 { &d.member } else { &d.other };
        let family = format!("Martinot{j}");
        let patient = d.app.patient(requester, &family, None, &[]).await;
        let dossier = d.app.dossier(requester, &sessions2[j % 2], &patient, requester).await;
        all.push((dossier, [2, 4][j % 2], requester.id.clone(), family, rcp2.clone()));
    }
    // A physician of two centers whose secretary works in the first only: she finds his
    // requests on the first center's boards, not on the second's (ranked last, the latest).
    // Those are more than a page of hers (pages of 2): the walk of his requests must go past
    // them, which a walk cut at a page before the test of her centers would not.
    let sud = d.app.center("3C Sud").await;
    let coord_sud = d.app.coordinator(&sud).await;
    let travelling = d.app.user("Voyageur", "physician", &[(&d.center, "physician"), (&sud, "physician")]).await;
    d.app.affiliate(&d.coord, &travelling, &d.sec_member).await;
    d.app.member(&d.coord, &rcp2, &travelling, "participant").await;
    let rcp_sud = d.app.rcp(&coord_sud, &sud, "RCP Sud").await;
    d.app.member(&coord_sud, &rcp_sud, &travelling, "participant").await;
    let session_sud = d.app.session(&coord_sud, &rcp_sud, 4).await;
    let sud_thrice = [(&session_sud, 5, &rcp_sud), (&session_sud, 5, &rcp_sud), (&session_sud, 5, &rcp_sud)];
    for (j, (session, rank, rcp)) in [(&sessions2[0], 2, &rcp2)].into_iter().chain(sud_thrice).enumerate() {
        let family = format!("Martinet{j}");
        let patient = d.app.patient(&travelling, &family, None, &[]).await;
        let dossier = d.app.dossier(&travelling, session, &patient, &travelling).await;
        all.push((dossier, rank, travelling.id.clone(), family, rcp.clone()));
    }
    // A patient whose treating physician is also his correspondent: found once.
    let both = d.app.patient(&d.other, "Martinu", Some(&d.correspondent), &[&d.correspondent]).await;
    let both = d.app.dossier(&d.other, &sessions[0], &both, &d.other).await;
    all.push((both.clone(), 0, d.other.id.clone(), "Martinu".to_owned(), d.rcp.clone()));
    // A common prefix: a hundred more "Martinez" without dossiers put "martin" and "mar" above
    // the search's rare-prefix threshold, so they start from the visible; "martin1", "zo" and
    // "zola1" stay rare and start from the name range.
    for k in 0..100 {
        d.app.patient(&d.other, &format!("Martinez{k}"), None, &[]).await;
    }
    // A physician who sees more RCPs whole than the visible path takes on: the name path.
    let wide = d.app.physician("Large", &d.center).await;
    d.app.member(&d.coord, &d.rcp, &wide, "participant").await;
    for k in 0..11 {
        let rcp = d.app.rcp(&d.coord, &d.center, &format!("RCP {k}")).await;
        d.app.member(&d.coord, &rcp, &wide, "participant").await;
    }
    let treated: Vec<&str> = (0..12).filter(|i| i % 4 == 1).map(|i| all[i].0.as_str()).collect();
    let corresponded: Vec<&str> = (0..12).filter(|i| i % 4 == 2).map(|i| all[i].0.as_str()).collect();
    // What the rules say, in the list's order (later session first, then id).
    let expect = |sees: &dyn Fn(&Made) -> bool, prefix: &str| {
        let mut v: Vec<&Made> = all.iter().filter(|x| sees(x) && x.3.to_lowercase().starts_with(prefix)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.into_iter().map(|x| x.0.clone()).collect::<Vec<_>>()
    };
    let her = |x: &Made| x.2 == d.member.id || (x.2 == travelling.id && x.4 != rcp_sud);
    let whole = |x: &Made| x.4 == d.rcp || x.4 == rcp2;
    let first_board = |x: &Made| x.4 == d.rcp;
    let cases: Vec<(&User, &str, Vec<String>)> = vec![
        // Large name range, few visible: the secretary's physician's dossiers, on both boards.
        (&d.sec_member, "martin", expect(&her, "martin")),
        // Large name range, both boards whole, her own requests seen twice over: each once.
        (&d.member, "martin", expect(&whole, "martin")),
        // The same for the participant who requests most of both boards' dossiers.
        (&d.other, "martin", expect(&whole, "martin")),
        // Narrow name range, the whole RCP visible.
        (&d.member, "martin1", expect(&whole, "martin1")),
        (&d.member, "zo", expect(&whole, "zo")),
        (&d.treating, "martin", expect(&|x| treated.contains(&x.0.as_str()), "martin")),
        (&d.correspondent, "mar", expect(&|x| corresponded.contains(&x.0.as_str()) || x.0 == both, "mar")),
        (&d.coord, "martin", Vec::new()),
        (&wide, "martin", expect(&first_board, "martin")),
        (&wide, "zola1", expect(&first_board, "zola1")),
    ];
    for (user, prefix, expected) in cases {
        assert!(user.id == d.coord.id || !expected.is_empty(), "{prefix}: a case that proves nothing");
        assert_eq!(search_pages(&d.app, user, &format!("patient={prefix}")).await, expected, "{} searching {prefix}", user.id);
    }
    // The criteria on the dossier and the session narrow the visible path as they narrow the other.
    let later = chrono::Utc::now().date_naive() + chrono::Days::new(2);
    let registered_later = |x: &Made| her(x) && x.1 >= 1;
    assert_eq!(
        search_pages(&d.app, &d.sec_member, &format!("session_from={later}&status=registered")).await,
        expect(&registered_later, "")
    );
    assert_eq!(
        search_pages(&d.app, &wide, &format!("session_from={later}&requester_id={}", d.member.id)).await,
        expect(&|x| registered_later(x) && first_board(x), "")
    );
    // A family name corrected after registration takes the patient's dossiers in and out of a
    // common prefix: the visible path tests each dossier's copy of the name, which the database
    // keeps in step with the patient.
    let patient = d.app.patient(&d.member, "Zola9", None, &[]).await;
    let corrected = d.app.dossier(&d.member, &sessions[2], &patient, &d.member).await;
    assert!(!search_pages(&d.app, &d.sec_member, "patient=martin").await.contains(&corrected));
    rename(&d, &patient, "Martin-Zola").await;
    assert!(search_pages(&d.app, &d.sec_member, "patient=martin").await.contains(&corrected), "renamed into the prefix");
    rename(&d, &patient, "Zola-Martin").await;
    assert!(!search_pages(&d.app, &d.sec_member, "patient=martin").await.contains(&corrected), "renamed out of it");
    assert!(search_pages(&d.app, &d.sec_member, "patient=zola-m").await.contains(&corrected));
    // A new treating physician takes the patient's dossiers into his search and out of the
    // former one's: the treating arm walks each dossier's copy of its patient's treating
    // physician, which the database keeps in step with the patient.
    let moved = all[1].0.clone();
    assert!(search_pages(&d.app, &d.treating, "patient=martin").await.contains(&moved));
    assert!(!search_pages(&d.app, &d.correspondent, "patient=martin").await.contains(&moved));
    let path = format!("/api/v1/patients/{treated_patient}");
    let etag = d.app.get(&path, &d.other.token).await.header("etag").unwrap();
    let body = json!({"treating_physician_id": d.correspondent.id});
    let r = d.app.with_if_match("PATCH", &path, &d.other.token, &etag, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!search_pages(&d.app, &d.treating, "patient=martin").await.contains(&moved), "no longer his patient");
    assert!(search_pages(&d.app, &d.correspondent, "patient=martin").await.contains(&moved), "now his patient");
}

/// Corrects a patient's family name, as his physician.
async fn rename(d: &Day, patient: &str, family: &str) {
    let path = format!("/api/v1/patients/{patient}");
    let etag = d.app.get(&path, &d.member.token).await.header("etag").unwrap();
    let r = d.app.with_if_match("PATCH", &path, &d.member.token, &etag, json!({"family_name": family})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}
