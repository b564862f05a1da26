//! Model-based property test of the delegation rules: random worlds (centers, physicians,
//! secretaries, a group, affiliations, RCP roles, sessions, dossiers) and random sequences of
//! changes; after each step, what the API answers (agenda, session run, dossier reads,
//! validation rights, the `rcp_passages` tab) must equal what a small
//! reference model, written here straight from the table of API.md and independent of the code
//! in `domain/`, says.
//!
//! `PROPTEST_CASES` sets the number of worlds (150 by default; `make proptest` runs thousands).

use std::collections::{BTreeMap, BTreeSet};

use concerto_domain::patient::Sex;
use concerto_domain::professional::Category;
use concerto_domain::profile::ProfileKind;
use concerto_domain::rcp::MemberRole;
use concerto_persistence::dossiers::{self, NewDossier};
use concerto_persistence::patients::{self, NewPatient};
use concerto_persistence::professionals::NewProfessional;
use concerto_persistence::sessions::NewSession;
use concerto_persistence::{DbConnection, accounts, affiliations, cancer_centers, professionals, rcps, secretary_groups, sessions};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;

use crate::support::{SECRET, TestApp};

const PHYSICIANS: usize = 3;
const SECRETARIES: usize = 2;
const CENTERS: usize = 2;
const RCPS: usize = 3;

/// A member role in the model: `None` is "not a member".
type Role = Option<bool>; // Some(true) = animateur, Some(false) = participant

/// The relations the rules depend on, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Relations {
    /// secretary_profile[s][c]: secretary s holds a secretary profile on center c.
    secretary_profile: [[bool; CENTERS]; SECRETARIES],
    /// direct[p][s]: secretary s is affiliated to physician p directly.
    direct: [[bool; SECRETARIES]; PHYSICIANS],
    /// The one group (of center 0): its members and the physicians it is affiliated to.
    group_members: [bool; SECRETARIES],
    group_physicians: [bool; PHYSICIANS],
    /// The center of each RCP.
    rcp_center: [usize; RCPS],
    /// role[r][p].
    role: [[Role; PHYSICIANS]; RCPS],
}

/// One change to the relations.
#[derive(Debug, Clone)]
enum Change {
    Affiliate {
        p: usize,
        s: usize,
        on: bool,
    },
    GroupMember {
        s: usize,
        on: bool,
    },
    GroupPhysician {
        p: usize,
        on: bool,
    },
    SetRole {
        r: usize,
        p: usize,
        role: Role,
    },
    SecretaryProfile {
        s: usize,
        c: usize,
        on: bool,
    },
    /// The requester of the n-th dossier (modulo their number) leaves its RCP; the dossier stays
    /// in the session (the case of a physician changing team).
    RequesterLeaves {
        n: usize,
    },
}

#[derive(Debug, Clone)]
struct Case {
    start: Relations,
    /// Dossiers registered at the start: (rcp, requester), the requester a member then.
    dossiers: Vec<(usize, usize)>,
    changes: Vec<Change>,
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(None), Just(Some(false)), Just(Some(true))]
}

fn relations() -> impl Strategy<Value = Relations> {
    (
        proptest::array::uniform2(proptest::array::uniform2(any::<bool>())),
        proptest::array::uniform3(proptest::array::uniform2(prop::bool::weighted(0.4))),
        proptest::array::uniform2(any::<bool>()),
        proptest::array::uniform3(prop::bool::weighted(0.4)),
        proptest::array::uniform3(0..CENTERS),
        proptest::array::uniform3(proptest::array::uniform3(role())),
    )
        .prop_map(|(secretary_profile, direct, group_members, group_physicians, rcp_center, role)| Relations {
            secretary_profile,
            direct,
            group_members,
            group_physicians,
            rcp_center,
            role,
        })
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..PHYSICIANS, 0..SECRETARIES, any::<bool>()).prop_map(|(p, s, on)| Change::Affiliate { p, s, on }),
        (0..SECRETARIES, any::<bool>()).prop_map(|(s, on)| Change::GroupMember { s, on }),
        (0..PHYSICIANS, any::<bool>()).prop_map(|(p, on)| Change::GroupPhysician { p, on }),
        (0..RCPS, 0..PHYSICIANS, role()).prop_map(|(r, p, role)| Change::SetRole { r, p, role }),
        (0..SECRETARIES, 0..CENTERS, any::<bool>()).prop_map(|(s, c, on)| Change::SecretaryProfile { s, c, on }),
        (0..8usize).prop_map(|n| Change::RequesterLeaves { n }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (relations(), proptest::collection::vec((0..RCPS, 0..PHYSICIANS), 0..5), proptest::collection::vec(change(), 0..5)).prop_map(
        |(start, candidates, changes)| {
            let dossiers = candidates.into_iter().filter(|(r, p)| start.role[*r][*p].is_some()).collect();
            Case { start, dossiers, changes }
        },
    )
}

// ---- The reference model: the table of API.md, read literally. ----

/// P(S): the physicians secretary `s` acts for.
fn physicians_of(m: &Relations, s: usize) -> Vec<usize> {
    (0..PHYSICIANS).filter(|&p| m.direct[p][s] || (m.group_members[s] && m.group_physicians[p])).collect()
}

/// A viewer: physician p or secretary s.
#[derive(Debug, Clone, Copy)]
enum Viewer {
    Physician(usize),
    Secretary(usize),
}

/// Agenda, which sessions: a physician's RCPs; a secretary's: RCPs of her centers where one of
/// her physicians is a member.
fn model_sees_session(m: &Relations, v: Viewer, r: usize) -> bool {
    match v {
        Viewer::Physician(p) => m.role[r][p].is_some(),
        Viewer::Secretary(s) => m.secretary_profile[s][m.rcp_center[r]] && physicians_of(m, s).iter().any(|&p| m.role[r][p].is_some()),
    }
}

/// Agenda, which dossiers: all for a member physician; for a secretary all through an
/// animateur, else those whose requester is one of hers, "whether or not that requester is
/// still a member of the RCP".
fn model_sees_dossier(m: &Relations, v: Viewer, r: usize, requester: usize) -> bool {
    match v {
        Viewer::Physician(p) => m.role[r][p].is_some(),
        Viewer::Secretary(s) => {
            let mine = physicians_of(m, s);
            model_sees_session(m, v, r) && (mine.iter().any(|&p| m.role[r][p] == Some(true)) || mine.contains(&requester))
        }
    }
}

/// Session run: animateurs, and secretaries of an animateur on the RCP's center.
fn model_runs(m: &Relations, v: Viewer, r: usize) -> bool {
    match v {
        Viewer::Physician(p) => m.role[r][p] == Some(true),
        Viewer::Secretary(s) => m.secretary_profile[s][m.rcp_center[r]] && physicians_of(m, s).iter().any(|&p| m.role[r][p] == Some(true)),
    }
}

/// Dossiers tab `rcp_passages`: a physician's own requests; a secretary's physicians' requests
/// in the RCPs of the centers where she holds a secretary profile.
fn model_in_tab(m: &Relations, v: Viewer, r: usize, requester: usize) -> bool {
    match v {
        Viewer::Physician(p) => p == requester,
        Viewer::Secretary(s) => m.secretary_profile[s][m.rcp_center[r]] && physicians_of(m, s).contains(&requester),
    }
}

/// "The dossiers p (or S) can see": the agenda's and the tab's (the model has no treating or
/// correspondent physicians).
fn model_reads_dossier(m: &Relations, v: Viewer, r: usize, requester: usize) -> bool {
    model_sees_dossier(m, v, r, requester) || model_in_tab(m, v, r, requester)
}

fn apply(m: &mut Relations, dossiers: &[(usize, usize)], change: &Change) {
    match *change {
        Change::Affiliate { p, s, on } => m.direct[p][s] = on,
        Change::GroupMember { s, on } => m.group_members[s] = on,
        Change::GroupPhysician { p, on } => m.group_physicians[p] = on,
        Change::SetRole { r, p, role } => m.role[r][p] = role,
        Change::SecretaryProfile { s, c, on } => m.secretary_profile[s][c] = on,
        Change::RequesterLeaves { n } => {
            if let Some(&(r, requester)) = dossiers.get(n % dossiers.len().max(1)) {
                m.role[r][requester] = None;
            }
        }
    }
}

// ---- The real world, built through the store and queried over HTTP. ----

struct Ids {
    admin: concerto_domain::principal::Principal,
    centers: Vec<String>,
    physicians: Vec<String>,
    physician_accounts: Vec<String>,
    secretaries: Vec<String>,
    tokens: BTreeMap<String, String>,
    group: String,
    rcps: Vec<String>,
    sessions: Vec<String>,
    /// dossier id → (rcp index, requester index)
    dossiers: BTreeMap<String, (usize, usize)>,
    /// dossier id → its patient's family name (unique per world)
    patients: BTreeMap<String, String>,
}

fn token(account_id: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": account_id, "iss": "concerto", "iat": now, "exp": now + 3600});
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET)).unwrap()
}

/// A professional with an account; returns (professional id, account id).
fn person(c: &mut DbConnection, ids: &mut Ids, family: &str, category: Category) -> (String, String) {
    let new = NewProfessional { family_name: family.into(), given_name: "X".into(), rpps: None, email: None, category };
    let prof = professionals::create(c, &ids.admin, &new).unwrap();
    let username = format!("u{}", uuid::Uuid::new_v4().simple());
    // Never logged in with: tokens are minted for the account, as a login would issue them.
    let account = accounts::create(c, &ids.admin, &prof.id, &username, "$argon2id$unused").unwrap();
    ids.tokens.insert(prof.id.clone(), token(&account.id));
    (prof.id, account.id)
}

fn set_role(c: &mut DbConnection, ids: &Ids, r: usize, p: usize, role: Role) {
    let (rcp, physician) = (&ids.rcps[r], &ids.physicians[p]);
    match role {
        None => rcps::remove_member(c, &ids.admin, rcp, physician).unwrap(),
        Some(chair) => {
            let role = if chair { MemberRole::Animateur } else { MemberRole::Participant };
            rcps::set_member(c, &ids.admin, rcp, physician, role).unwrap();
        }
    }
}

fn build(c: &mut DbConnection, admin: concerto_domain::principal::Principal, case: &Case) -> Ids {
    let m = &case.start;
    let mut ids = Ids {
        admin,
        centers: Vec::new(),
        physicians: Vec::new(),
        physician_accounts: Vec::new(),
        secretaries: Vec::new(),
        tokens: BTreeMap::new(),
        group: String::new(),
        rcps: Vec::new(),
        sessions: Vec::new(),
        dossiers: BTreeMap::new(),
        patients: BTreeMap::new(),
    };
    for i in 0..CENTERS {
        let code = format!("C{}", uuid::Uuid::new_v4().simple());
        ids.centers.push(cancer_centers::create(c, &ids.admin, &format!("center {i}"), &code).unwrap().id);
    }
    for i in 0..PHYSICIANS {
        let (id, account) = person(c, &mut ids, &format!("Physician{i}"), Category::Physician);
        professionals::grant_profile(c, &ids.admin, &id, &ids.centers[0], ProfileKind::Physician).unwrap();
        ids.physicians.push(id);
        ids.physician_accounts.push(account);
    }
    for s in 0..SECRETARIES {
        let (id, _) = person(c, &mut ids, &format!("Secretary{s}"), Category::Secretary);
        for center in 0..CENTERS {
            if m.secretary_profile[s][center] {
                professionals::grant_profile(c, &ids.admin, &id, &ids.centers[center], ProfileKind::Secretary).unwrap();
            }
        }
        ids.secretaries.push(id);
    }
    for p in 0..PHYSICIANS {
        for s in 0..SECRETARIES {
            if m.direct[p][s] {
                affiliations::add_secretary(c, &ids.admin, &ids.physicians[p], &ids.secretaries[s]).unwrap();
            }
        }
    }
    ids.group = secretary_groups::create(c, &ids.admin, &ids.centers[0], "group").unwrap().id;
    for s in 0..SECRETARIES {
        if m.group_members[s] {
            secretary_groups::add_member(c, &ids.admin, &ids.group, &ids.secretaries[s]).unwrap();
        }
    }
    for p in 0..PHYSICIANS {
        if m.group_physicians[p] {
            affiliations::add_group(c, &ids.admin, &ids.physicians[p], &ids.group).unwrap();
        }
    }
    let (coordinator, account) = person(c, &mut ids, "Coordinator", Category::Other);
    for center in &ids.centers {
        professionals::grant_profile(c, &ids.admin, &coordinator, center, ProfileKind::CenterCoordinator).unwrap();
    }
    let coordinator = accounts::load_principal(c, &account).unwrap().unwrap().0;
    for r in 0..RCPS {
        let rcp = rcps::create(c, &ids.admin, &ids.centers[m.rcp_center[r]], &format!("rcp {r}"), "x").unwrap();
        ids.rcps.push(rcp.id);
        for p in 0..PHYSICIANS {
            if m.role[r][p].is_some() {
                set_role(c, &ids, r, p, m.role[r][p]);
            }
        }
        let starts_at = (chrono::Utc::now() + chrono::Duration::days(1 + r as i64)).naive_utc();
        let session = sessions::create(c, &coordinator, &ids.rcps[r], &NewSession { starts_at, ends_at: None, location: None }).unwrap();
        ids.sessions.push(session.id);
    }
    // Each dossier registered by its requester, a member at the time, for a patient he adds.
    for &(r, requester) in &case.dossiers {
        let by = accounts::load_principal(c, &ids.physician_accounts[requester]).unwrap().unwrap().0;
        let family_name = format!("Patient{}", n());
        let identity = NewPatient {
            family_name: family_name.clone(),
            given_name: "X".into(),
            birth_date: chrono::NaiveDate::from_ymd_opt(1960, 1, 1).unwrap(),
            sex: Sex::Unknown,
            birth_place_code: None,
            ins: None,
            treating_physician_id: None,
            correspondent_ids: Vec::new(),
        };
        let patient = patients::create(c, &by, &identity, true).unwrap();
        let new = NewDossier {
            patient_id: patient.identity.id,
            requester_id: by.professional_id.clone(),
            clinical_summary: None,
            question: None,
        };
        let dossier = dossiers::register(c, &by, &ids.sessions[r], &new).unwrap();
        ids.patients.insert(dossier.id.clone(), family_name);
        ids.dossiers.insert(dossier.id, (r, requester));
    }
    ids
}

fn n() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Applies a change to the real world, through the store functions the API calls.
fn change_world(c: &mut DbConnection, ids: &Ids, dossiers: &[(usize, usize)], change: &Change) {
    let admin = &ids.admin;
    match *change {
        Change::Affiliate { p, s, on: true } => affiliations::add_secretary(c, admin, &ids.physicians[p], &ids.secretaries[s]).unwrap(),
        Change::Affiliate { p, s, on: false } => affiliations::remove_secretary(c, admin, &ids.physicians[p], &ids.secretaries[s]).unwrap(),
        Change::GroupMember { s, on: true } => secretary_groups::add_member(c, admin, &ids.group, &ids.secretaries[s]).unwrap(),
        Change::GroupMember { s, on: false } => secretary_groups::remove_member(c, admin, &ids.group, &ids.secretaries[s]).unwrap(),
        Change::GroupPhysician { p, on: true } => affiliations::add_group(c, admin, &ids.physicians[p], &ids.group).unwrap(),
        Change::GroupPhysician { p, on: false } => affiliations::remove_group(c, admin, &ids.physicians[p], &ids.group).unwrap(),
        Change::SetRole { r, p, role } => set_role(c, ids, r, p, role),
        Change::SecretaryProfile { s, c: center, on } => {
            let (who, at) = (&ids.secretaries[s], &ids.centers[center]);
            if on {
                professionals::grant_profile(c, admin, who, at, ProfileKind::Secretary).unwrap();
            } else {
                professionals::remove_profile(c, admin, who, at, ProfileKind::Secretary).unwrap();
            }
        }
        Change::RequesterLeaves { n } => {
            if let Some(&(r, requester)) = dossiers.get(n % dossiers.len().max(1)) {
                set_role(c, ids, r, requester, None);
            }
        }
    }
}

/// Compares every viewer's agenda and session runs with the model.
async fn compare(app: &TestApp, ids: &Ids, m: &Relations, step: usize) -> Result<(), TestCaseError> {
    let viewers = (0..PHYSICIANS).map(Viewer::Physician).chain((0..SECRETARIES).map(Viewer::Secretary));
    for v in viewers {
        let id = match v {
            Viewer::Physician(p) => &ids.physicians[p],
            Viewer::Secretary(s) => &ids.secretaries[s],
        };
        let token = &ids.tokens[id];
        let agenda = app.get("/api/v1/agenda?limit=200", token).await;
        prop_assert_eq!(agenda.status, 200);
        let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for item in agenda.body["items"].as_array().unwrap() {
            let dossiers = item["dossiers"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
            seen.insert(item["id"].as_str().unwrap().to_owned(), dossiers);
        }
        let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in (0..RCPS).filter(|&r| model_sees_session(m, v, r)) {
            let dossiers = ids
                .dossiers
                .iter()
                .filter(|(_, (dr, requester))| *dr == r && model_sees_dossier(m, v, r, *requester))
                .map(|(id, _)| id.clone())
                .collect();
            expected.insert(ids.sessions[r].clone(), dossiers);
        }
        prop_assert_eq!(&seen, &expected, "agenda of {:?} after step {}", v, step);
        // Nothing of a dossier she may not see leaks into the body: not its id, not its patient.
        let shown: BTreeSet<&String> = expected.values().flatten().collect();
        for (id, patient) in ids.dossiers.iter().filter(|(id, _)| !shown.contains(id)).map(|(id, _)| (id, &ids.patients[id])) {
            prop_assert!(!agenda.text.contains(id.as_str()) && !agenda.text.contains(patient.as_str()), "agenda of {:?} leaks {}", v, id);
        }
        for r in 0..RCPS {
            let run = app.get(&format!("/api/v1/sessions/{}/run", ids.sessions[r]), token).await;
            let expected = if model_runs(m, v, r) { 200 } else { 403 };
            prop_assert_eq!(run.status, expected, "run of rcp {} by {:?} after step {}", r, v, step);
            if run.status == 200 {
                let all: BTreeSet<String> =
                    run.body["dossiers"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
                let of_rcp: BTreeSet<String> = ids.dossiers.iter().filter(|(_, (dr, _))| *dr == r).map(|(id, _)| id.clone()).collect();
                prop_assert_eq!(all, of_rcp, "the run shows every dossier of the session");
            }
        }
        for (dossier, &(r, requester)) in &ids.dossiers {
            let read = app.get(&format!("/api/v1/dossiers/{dossier}"), token).await;
            let visible = model_reads_dossier(m, v, r, requester);
            prop_assert_eq!(read.status, if visible { 200 } else { 404 }, "read of a dossier of rcp {} by {:?} after step {}", r, v, step);
            // No proposal yet: a permitted validation stops at 422, a refused one at 403/404.
            let validate = app.call("POST", &format!("/api/v1/dossiers/{dossier}/validate"), Some(token), Some(json!({}))).await;
            let expected = match (visible, model_runs(m, v, r)) {
                (false, _) => 404,
                (true, true) => 422,
                (true, false) => 403,
            };
            prop_assert_eq!(validate.status, expected, "validation of a dossier of rcp {} by {:?} after step {}", r, v, step);
        }
        let tab = app.get("/api/v1/me/dossiers?tab=rcp_passages&limit=200", token).await;
        // The dossiers module belongs to physicians and secretaries: someone of category
        // secretary with no secretary profile left has no tab at all.
        if let Viewer::Secretary(s) = v
            && !m.secretary_profile[s].iter().any(|&on| on)
        {
            prop_assert_eq!(tab.status, 403, "tab of a secretary without profile");
            continue;
        }
        prop_assert_eq!(tab.status, 200);
        let listed: BTreeSet<String> = tab.body["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
        let expected: BTreeSet<String> =
            ids.dossiers.iter().filter(|(_, (r, requester))| model_in_tab(m, v, *r, *requester)).map(|(id, _)| id.clone()).collect();
        prop_assert_eq!(listed, expected, "rcp_passages tab of {:?} after step {}", v, step);
    }
    Ok(())
}

async fn check(app: &TestApp, admin: &concerto_domain::principal::Principal, case: &Case) -> Result<(), TestCaseError> {
    let mut conn = app.pool.get().unwrap();
    let ids = build(&mut conn, admin.clone(), case);
    let mut m = case.start.clone();
    compare(app, &ids, &m, 0).await?;
    for (step, change) in case.changes.iter().enumerate() {
        change_world(&mut conn, &ids, &case.dossiers, change);
        apply(&mut m, &case.dossiers, change);
        compare(app, &ids, &m, step + 1).await?;
    }
    Ok(())
}

#[test]
fn api_answers_as_the_delegation_table_says() {
    let system = actix_rt::System::new();
    let app = system.block_on(TestApp::spawn());
    let admin = system.block_on(app.admin());
    let admin = {
        let mut conn = app.pool.get().unwrap();
        accounts::load_principal(&mut conn, &admin.account_id).unwrap().unwrap().0
    };
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(150);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let result = runner.run(&case(), |case| system.block_on(check(&app, &admin, &case)));
    if let Err(e) = result {
        panic!("{e}");
    }
}
