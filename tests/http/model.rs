//! Model-based property test of the delegation rules: random worlds (centers, physicians,
//! secretaries, a group, affiliations, RCP roles, sessions, dossiers) and random sequences of
//! changes; after each step, what the API answers (agenda, session run, dossier reads,
//! validation rights, the `rcp_passages` tab, the board's categories and specialties, the
//! attendance and its quorum as board members are re-categorised and recorded present) must
//! equal what a small
//! reference model, written here straight from the table of API.md and independent of the code
//! in `domain/`, says.
//!
//! `PROPTEST_CASES` sets the number of worlds (150 by default; `make proptest` runs thousands).

use std::collections::{BTreeMap, BTreeSet};

use concerto_domain::affiliation::Validity;
use concerto_domain::patient::Sex;
use concerto_domain::professional::Category;
use concerto_domain::profile::ProfileKind;
use concerto_domain::rcp::MemberRole;
use concerto_persistence::dossiers::{self, NewDossier};
use concerto_persistence::patients::{self, NewPatient};
use concerto_persistence::professionals::NewProfessional;
use concerto_persistence::sessions::NewSession;
use concerto_persistence::{DbConnection, accounts, affiliations, cancer_centers, professionals, rcps, secretary_groups, sessions};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;

use crate::support::{SECRET, TestApp};

const PHYSICIANS: usize = 3;
const SECRETARIES: usize = 2;
const CENTERS: usize = 2;
const RCPS: usize = 3;
/// The board that validates: three physicians of three specialties, outside the delegation
/// model; the first chairs the sessions it runs.
const BOARD: usize = 3;

/// A member role in the model: `None` is "not a member".
type Role = Option<bool>; // Some(true) = animateur, Some(false) = participant

/// The dates of a delegation, relative to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    /// No dates: from its making, until ended.
    Open,
    /// Started, ends later (holiday cover under way).
    Current,
    /// Starts later.
    Future,
    /// Ended already (made as a cover, then its end passed).
    Past,
}

impl Window {
    /// "Before valid_from and from valid_until on, the secretary holds nothing."
    fn grants(self) -> bool {
        matches!(self, Self::Open | Self::Current)
    }
}

/// A delegation in the model: `None` is "no link".
type Link = Option<Window>;

/// The relations the rules depend on, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Relations {
    /// secretary_profile[s][c]: secretary s holds a secretary profile on center c.
    secretary_profile: [[bool; CENTERS]; SECRETARIES],
    /// direct[p][s]: secretary s is affiliated to physician p directly, with these dates.
    direct: [[Link; SECRETARIES]; PHYSICIANS],
    /// The one group (of center 0): its members and the physicians it is affiliated to.
    group_members: [bool; SECRETARIES],
    group_physicians: [Link; PHYSICIANS],
    /// The center of each RCP.
    rcp_center: [usize; RCPS],
    /// role[r][p].
    role: [[Role; PHYSICIANS]; RCPS],
    /// The board: each member a physician still (else a nurse), with his specialty still set.
    board_physician: [bool; BOARD],
    board_specialty: [bool; BOARD],
    /// The sessions in progress (all of them, run by the board), and who of the board is
    /// recorded present in each.
    running: [bool; RCPS],
    present: [[bool; BOARD]; RCPS],
}

/// One change to the relations.
#[derive(Debug, Clone)]
enum Change {
    Affiliate {
        p: usize,
        s: usize,
        link: Link,
    },
    GroupMember {
        s: usize,
        on: bool,
    },
    GroupPhysician {
        p: usize,
        link: Link,
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
    /// A board member other than the chair is re-categorised (a nurse after all, or a physician
    /// again: his specialty is gone either way).
    BoardCategory {
        b: usize,
        physician: bool,
    },
    /// The chair records who of the board is present in session r (refused unless the session
    /// is in progress and every one named is a physician).
    Attend {
        r: usize,
        present: [bool; BOARD],
    },
}

#[derive(Debug, Clone)]
struct Case {
    start: Relations,
    /// Dossiers registered at the start: (rcp, requester), the requester a member then.
    dossiers: Vec<(usize, usize)>,
    /// For each dossier: validated (by a chair outside the model's physicians, the board
    /// present), and its report then sent to its one default recipient, the requester.
    fates: Vec<(bool, bool)>,
    changes: Vec<Change>,
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(None), Just(Some(false)), Just(Some(true))]
}

fn link() -> impl Strategy<Value = Link> {
    prop_oneof![
        6 => Just(None),
        3 => Just(Some(Window::Open)),
        1 => Just(Some(Window::Current)),
        1 => Just(Some(Window::Future)),
        1 => Just(Some(Window::Past)),
    ]
}

fn relations() -> impl Strategy<Value = Relations> {
    (
        proptest::array::uniform2(proptest::array::uniform2(any::<bool>())),
        proptest::array::uniform3(proptest::array::uniform2(link())),
        proptest::array::uniform2(any::<bool>()),
        proptest::array::uniform3(link()),
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
            board_physician: [true; BOARD],
            board_specialty: [true; BOARD],
            running: [false; RCPS],
            present: [[false; BOARD]; RCPS],
        })
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..PHYSICIANS, 0..SECRETARIES, link()).prop_map(|(p, s, link)| Change::Affiliate { p, s, link }),
        (0..SECRETARIES, any::<bool>()).prop_map(|(s, on)| Change::GroupMember { s, on }),
        (0..PHYSICIANS, link()).prop_map(|(p, link)| Change::GroupPhysician { p, link }),
        (0..RCPS, 0..PHYSICIANS, role()).prop_map(|(r, p, role)| Change::SetRole { r, p, role }),
        (0..SECRETARIES, 0..CENTERS, any::<bool>()).prop_map(|(s, c, on)| Change::SecretaryProfile { s, c, on }),
        (0..8usize).prop_map(|n| Change::RequesterLeaves { n }),
        (1..BOARD, prop::bool::weighted(0.3)).prop_map(|(b, physician)| Change::BoardCategory { b, physician }),
        (0..RCPS, proptest::array::uniform3(any::<bool>())).prop_map(|(r, present)| Change::Attend { r, present }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        relations(),
        proptest::collection::vec(((0..RCPS, 0..PHYSICIANS), (prop::bool::weighted(0.4), any::<bool>())), 0..5),
        proptest::collection::vec(change(), 0..5),
    )
        .prop_map(|(start, candidates, changes)| {
            let (dossiers, fates): (Vec<_>, Vec<_>) = candidates
                .into_iter()
                .filter(|((r, p), _)| start.role[*r][*p].is_some())
                .map(|(d, (validated, sent))| (d, (validated, validated && sent)))
                .unzip();
            // Every session runs, chaired by the board's first member, the whole board present
            // (the model's physicians' rights do not depend on the sessions' status).
            let mut start = start;
            start.running = [true; RCPS];
            start.present = [[true; BOARD]; RCPS];
            Case { start, dossiers, fates, changes }
        })
}

// ---- The reference model: the table of API.md, read literally. ----

/// P(S): the physicians secretary `s` acts for, by delegations whose dates grant now.
fn physicians_of(m: &Relations, s: usize) -> Vec<usize> {
    let grants = |l: Link| l.is_some_and(Window::grants);
    (0..PHYSICIANS).filter(|&p| grants(m.direct[p][s]) || (m.group_members[s] && grants(m.group_physicians[p]))).collect()
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

/// The board members a session's attendance shows and counts: those recorded present who are
/// physicians now.
fn model_attendees(m: &Relations, r: usize) -> Vec<usize> {
    (0..BOARD).filter(|&b| m.present[r][b] && m.board_physician[b]).collect()
}

/// The default quorum, three physicians of three specialties: the board's three, each a
/// physician with his specialty (they are three different ones).
fn model_quorum_met(m: &Relations, r: usize) -> bool {
    let present = model_attendees(m, r);
    present.len() == BOARD && present.iter().all(|&b| m.board_specialty[b])
}

/// Whether the chair's attendance of `present` in session r is recorded.
fn model_attendance_accepted(m: &Relations, r: usize, present: &[bool; BOARD]) -> bool {
    m.running[r] && (0..BOARD).all(|b| !present[b] || m.board_physician[b])
}

/// "The dossiers p (or S) can see": the agenda's and the tab's (the model has no treating or
/// correspondent physicians).
fn model_reads_dossier(m: &Relations, v: Viewer, r: usize, requester: usize) -> bool {
    model_sees_dossier(m, v, r, requester) || model_in_tab(m, v, r, requester)
}

fn apply(m: &mut Relations, dossiers: &[(usize, usize)], change: &Change) {
    match *change {
        Change::Affiliate { p, s, link } => m.direct[p][s] = link,
        Change::GroupMember { s, on } => m.group_members[s] = on,
        Change::GroupPhysician { p, link } => m.group_physicians[p] = link,
        Change::SetRole { r, p, role } => m.role[r][p] = role,
        Change::SecretaryProfile { s, c, on } => m.secretary_profile[s][c] = on,
        Change::RequesterLeaves { n } => {
            if let Some(&(r, requester)) = dossiers.get(n % dossiers.len().max(1)) {
                m.role[r][requester] = None;
            }
        }
        Change::BoardCategory { b, physician } => {
            if m.board_physician[b] != physician {
                m.board_physician[b] = physician;
                // Leaving the category clears the specialty; coming back does not restore it.
                m.board_specialty[b] = false;
            }
        }
        Change::Attend { r, present } => {
            if model_attendance_accepted(m, r, &present) {
                m.present[r] = present;
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
    /// dossier id → (validated, report sent)
    fates: BTreeMap<String, (bool, bool)>,
    /// The board's members (the first chairs), and their accounts.
    board: Vec<String>,
    board_accounts: Vec<String>,
}

/// A token as a login would issue it (a new account is in its first token generation), in a
/// login session opened as a login opens it.
fn token(c: &mut DbConnection, account_id: &str) -> String {
    use concerto_persistence::login_sessions::{self, NewSession};
    let now = concerto_persistence::now();
    let new = NewSession {
        account_id: account_id.to_owned(),
        method: "password",
        acr: None,
        client_address: "127.0.0.1".to_owned(),
        user_agent: None,
        refresh_hash: concerto_api::auth::refresh_digest(&uuid::Uuid::new_v4().to_string()),
    };
    let lifetimes = concerto_api::config::SessionSettings::default().lifetimes();
    let session = login_sessions::open(c, &new, lifetimes, now).unwrap();
    concerto_api::auth::TokenKeys::new(SECRET, 3600).issue(account_id, 0, &session, now).unwrap()
}

/// A professional with an account; returns (professional id, account id).
fn person(c: &mut DbConnection, ids: &mut Ids, family: &str, category: Category) -> (String, String) {
    let new = NewProfessional { family_name: family.into(), given_name: "X".into(), rpps: None, email: None, category };
    let prof = professionals::create(c, &ids.admin, &new).unwrap();
    let username = format!("u{}", uuid::Uuid::new_v4().simple());
    // Never logged in with: tokens are minted for the account, as a login would issue them.
    let account = accounts::create(c, &ids.admin, &prof.id, &username, "$argon2id$unused").unwrap();
    ids.tokens.insert(prof.id.clone(), token(c, &account.id));
    (prof.id, account.id)
}

fn set_role(c: &mut DbConnection, ids: &Ids, r: usize, p: usize, role: Role) {
    let (rcp, physician) = (&ids.rcps[r], &ids.physicians[p]);
    match role {
        None => rcps::remove_member(c, &ids.admin, &rcp.as_str().into(), &physician.as_str().into()).unwrap(),
        Some(chair) => {
            let role = if chair { MemberRole::Animateur } else { MemberRole::Participant };
            rcps::set_member(c, &ids.admin, &rcp.as_str().into(), &physician.as_str().into(), role).unwrap();
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
        fates: BTreeMap::new(),
        board: Vec::new(),
        board_accounts: Vec::new(),
    };
    for i in 0..CENTERS {
        let code = format!("C{}", uuid::Uuid::new_v4().simple());
        ids.centers.push(cancer_centers::create(c, &ids.admin, &format!("center {i}"), &code).unwrap().id);
    }
    for i in 0..PHYSICIANS {
        let (id, account) = person(c, &mut ids, &format!("Physician{i}"), Category::Physician);
        professionals::grant_profile(c, &ids.admin, &id.as_str().into(), &ids.centers[0].as_str().into(), ProfileKind::Physician).unwrap();
        ids.physicians.push(id);
        ids.physician_accounts.push(account);
    }
    for s in 0..SECRETARIES {
        let (id, _) = person(c, &mut ids, &format!("Secretary{s}"), Category::Secretary);
        for center in 0..CENTERS {
            if m.secretary_profile[s][center] {
                professionals::grant_profile(
                    c,
                    &ids.admin,
                    &id.as_str().into(),
                    &ids.centers[center].as_str().into(),
                    ProfileKind::Secretary,
                )
                .unwrap();
            }
        }
        ids.secretaries.push(id);
    }
    for p in 0..PHYSICIANS {
        for s in 0..SECRETARIES {
            affiliate(c, &ids, p, s, m.direct[p][s]);
        }
    }
    ids.group = secretary_groups::create(c, &ids.admin, &ids.centers[0], "group").unwrap().id;
    for s in 0..SECRETARIES {
        if m.group_members[s] {
            secretary_groups::add_member(c, &ids.admin, &ids.group.as_str().into(), &ids.secretaries[s].as_str().into()).unwrap();
        }
    }
    for p in 0..PHYSICIANS {
        affiliate_group(c, &ids, p, m.group_physicians[p]);
    }
    let (coordinator, account) = person(c, &mut ids, "Coordinator", Category::Other);
    for center in &ids.centers {
        professionals::grant_profile(c, &ids.admin, &coordinator.as_str().into(), &center.as_str().into(), ProfileKind::CenterCoordinator)
            .unwrap();
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
    for (&(r, requester), &fate) in case.dossiers.iter().zip(&case.fates) {
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
        ids.fates.insert(dossier.id.clone(), fate);
        ids.dossiers.insert(dossier.id, (r, requester));
    }
    validate_some(c, &mut ids);
    ids
}

/// Starts every session, chaired by a board member who is none of the model's physicians (so
/// nobody's rights change), with a quorum of three specialties present, as the board's rules
/// ask; validates the dossiers the case says and sends the reports it says.
fn validate_some(c: &mut DbConnection, ids: &mut Ids) {
    use concerto_domain::specialty::Specialty;
    use concerto_persistence::{attendance, specialties};
    type Fate = (String, (usize, usize), (bool, bool));
    let chosen: Vec<Fate> = ids.dossiers.iter().map(|(id, place)| (id.clone(), *place, ids.fates[id])).collect();
    let mut board = Vec::new();
    for (i, specialty) in [Specialty::Surgery, Specialty::Radiotherapy, Specialty::Pathology].into_iter().enumerate() {
        let (id, account) = person(c, ids, &format!("Board{i}"), Category::Physician);
        for center in ids.centers.clone() {
            professionals::grant_profile(c, &ids.admin, &id.as_str().into(), &center.as_str().into(), ProfileKind::Physician).unwrap();
        }
        specialties::set(c, &ids.admin, &id, &specialties::SpecialtyOf { specialty, subspecialty: None }).unwrap();
        board.push((id, account));
    }
    ids.board = board.iter().map(|(id, _)| id.clone()).collect();
    ids.board_accounts = board.iter().map(|(_, account)| account.clone()).collect();
    let chair = accounts::load_principal(c, &board[0].1).unwrap().unwrap().0;
    let present: Vec<String> = board.iter().map(|(id, _)| id.clone()).collect();
    // The fiches written below are coded from the shipped lists.
    concerto_api::demo::load_code_lists(c).unwrap();
    for r in 0..RCPS {
        rcps::set_member(c, &ids.admin, &ids.rcps[r].as_str().into(), &chair.professional_id.as_str().into(), MemberRole::Animateur)
            .unwrap();
        sessions::transition(c, &ids.admin, &ids.sessions[r], concerto_domain::rcp::SessionAction::Start).unwrap();
        attendance::record(c, &chair, &ids.sessions[r], &present).unwrap();
    }
    for (id, (_, requester), (validated, sent)) in &chosen {
        if *validated {
            let d = dossiers::find(c, id).unwrap();
            let fiche = serde_json::from_value(crate::support::complete_fiche()).unwrap();
            let proposal =
                dossiers::DossierChanges { proposal: Some(Some("RCC".into())), fiche: Some(fiche), ..dossiers::DossierChanges::default() };
            dossiers::update(c, &chair, id, Some(d.version), &proposal).unwrap();
            dossiers::validate(c, &chair, id, None).unwrap();
            if *sent {
                let to = [ids.physicians[*requester].clone()];
                dossiers::send_report(c, &chair, id, &to, concerto_domain::dossier::ReportChannel::Mail).unwrap();
            }
        }
    }
}

fn n() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The dates of a window, as granted now; a `Past` window is granted as a cover under way,
/// then its end is moved into the past (time passing, which no API call can make happen).
fn dates(window: Window) -> Validity {
    let now = concerto_persistence::now();
    let day = chrono::Duration::days(1);
    match window {
        Window::Open => Validity::default(),
        Window::Current | Window::Past => Validity { valid_from: Some(now - day), valid_until: Some(now + day) },
        Window::Future => Validity { valid_from: Some(now + day), valid_until: None },
    }
}

fn ended_an_hour_ago() -> chrono::NaiveDateTime {
    concerto_persistence::now() - chrono::Duration::hours(1)
}

/// Sets (or removes) physician p's direct delegation to secretary s.
fn affiliate(c: &mut DbConnection, ids: &Ids, p: usize, s: usize, link: Link) {
    use concerto_persistence::schema::secretary_affiliations as a;
    use diesel::prelude::*;
    let (physician, secretary) = (&ids.physicians[p], &ids.secretaries[s]);
    match link {
        None => affiliations::remove_secretary(c, &ids.admin, physician, secretary).unwrap(),
        Some(window) => {
            affiliations::add_secretary(c, &ids.admin, physician, secretary, dates(window)).unwrap();
            if window == Window::Past {
                diesel::update(a::table.find((physician, secretary))).set(a::valid_until.eq(ended_an_hour_ago())).execute(c).unwrap();
            }
        }
    }
}

/// Sets (or removes) physician p's delegation to the group.
fn affiliate_group(c: &mut DbConnection, ids: &Ids, p: usize, link: Link) {
    use concerto_persistence::schema::physician_secretary_groups as g;
    use diesel::prelude::*;
    let physician = &ids.physicians[p];
    match link {
        None => affiliations::remove_group(c, &ids.admin, &physician.as_str().into(), &ids.group.as_str().into()).unwrap(),
        Some(window) => {
            affiliations::add_group(c, &ids.admin, &physician.as_str().into(), &ids.group.as_str().into(), dates(window)).unwrap();
            if window == Window::Past {
                diesel::update(g::table.find((physician, &ids.group))).set(g::valid_until.eq(ended_an_hour_ago())).execute(c).unwrap();
            }
        }
    }
}

/// Applies a change to the real world, through the store functions the API calls; for an
/// attendance, whether it was recorded.
fn change_world(c: &mut DbConnection, ids: &Ids, dossiers: &[(usize, usize)], change: &Change) -> Option<bool> {
    let admin = &ids.admin;
    match *change {
        Change::Affiliate { p, s, link } => affiliate(c, ids, p, s, link),
        Change::GroupMember { s, on: true } => {
            secretary_groups::add_member(c, admin, &ids.group.as_str().into(), &ids.secretaries[s].as_str().into()).unwrap()
        }
        Change::GroupMember { s, on: false } => {
            secretary_groups::remove_member(c, admin, &ids.group.as_str().into(), &ids.secretaries[s].as_str().into()).unwrap()
        }
        Change::GroupPhysician { p, link } => affiliate_group(c, ids, p, link),
        Change::SetRole { r, p, role } => set_role(c, ids, r, p, role),
        Change::SecretaryProfile { s, c: center, on } => {
            let (who, at) = (&ids.secretaries[s], &ids.centers[center]);
            if on {
                professionals::grant_profile(c, admin, &who.as_str().into(), &at.as_str().into(), ProfileKind::Secretary).unwrap();
            } else {
                professionals::remove_profile(c, admin, &who.as_str().into(), &at.as_str().into(), ProfileKind::Secretary).unwrap();
            }
        }
        Change::RequesterLeaves { n } => {
            if let Some(&(r, requester)) = dossiers.get(n % dossiers.len().max(1)) {
                set_role(c, ids, r, requester, None);
            }
        }
        Change::BoardCategory { b, physician } => {
            let category = if physician { Category::Physician } else { Category::Nurse };
            professionals::set_category(c, admin, &ids.board[b], category).unwrap();
        }
        Change::Attend { r, present } => {
            use concerto_persistence::attendance;
            let chair = accounts::load_principal(c, &ids.board_accounts[0]).unwrap().unwrap().0;
            let named: Vec<String> = (0..BOARD).filter(|&b| present[b]).map(|b| ids.board[b].clone()).collect();
            return Some(attendance::record(c, &chair, &ids.sessions[r], &named).is_ok());
        }
    }
    None
}

/// The board as the directory and the attendance show it, against the model.
async fn compare_board(app: &TestApp, ids: &Ids, m: &Relations, step: usize) -> Result<(), TestCaseError> {
    let chair = &ids.tokens[&ids.board[0]];
    for b in 0..BOARD {
        let r = app.get(&format!("/api/v1/professionals/{}", ids.board[b]), chair).await;
        let category = if m.board_physician[b] { "physician" } else { "nurse" };
        prop_assert_eq!(r.body["category"].as_str(), Some(category), "board member {} after step {}", b, step);
        prop_assert_eq!(r.body["specialty"].is_string(), m.board_specialty[b], "specialty of board member {} after step {}", b, step);
    }
    for r in (0..RCPS).filter(|&r| m.running[r]) {
        let read = app.get(&format!("/api/v1/sessions/{}/attendance", ids.sessions[r]), chair).await;
        prop_assert_eq!(read.status, 200, "{}", read.text);
        let present: BTreeSet<String> =
            read.body["present"].as_array().unwrap().iter().map(|a| a["professional_id"].as_str().unwrap().to_owned()).collect();
        let expected: BTreeSet<String> = model_attendees(m, r).into_iter().map(|b| ids.board[b].clone()).collect();
        prop_assert_eq!(present, expected, "attendance of rcp {} after step {}", r, step);
        prop_assert_eq!(read.body["quorum"]["met"].as_bool(), Some(model_quorum_met(m, r)), "quorum of rcp {} after step {}", r, step);
    }
    Ok(())
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
            // No proposal yet: a permitted validation stops at 422 (409 once validated), a
            // refused one at 403/404.
            let validate = app.call("POST", &format!("/api/v1/dossiers/{dossier}/validate"), Some(token), Some(json!({}))).await;
            let validated = ids.fates[dossier].0;
            let expected = match (visible, model_runs(m, v, r)) {
                (false, _) => 404,
                (true, true) if validated => 409,
                (true, true) => 422,
                (true, false) => 403,
            };
            prop_assert_eq!(validate.status, expected, "validation of a dossier of rcp {} by {:?} after step {}", r, v, step);
        }
        // The reports to send: validated, not sent, and in the viewer's rcp_passages tab.
        let worklist = app.get("/api/v1/me/reports-to-send?limit=200", token).await;
        prop_assert_eq!(worklist.status, 200);
        let waiting: BTreeSet<String> =
            worklist.body["items"].as_array().unwrap().iter().map(|d| d["dossier_id"].as_str().unwrap().to_owned()).collect();
        let expected: BTreeSet<String> = ids
            .dossiers
            .iter()
            .filter(|(id, (r, requester))| ids.fates[*id] == (true, false) && model_in_tab(m, v, *r, *requester))
            .map(|(id, _)| id.clone())
            .collect();
        prop_assert_eq!(waiting, expected, "reports to send of {:?} after step {}", v, step);
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
        // The dossier search under a name prefix every patient shares: what she may read, no
        // more. The prefix grows common as the worlds pile up, so both of its paths (from what
        // she sees, from the name range) are taken over a run.
        let (mut found, mut cursor) = (BTreeSet::new(), String::new());
        loop {
            let page = app.get(&format!("/api/v1/dossiers?patient=patient&limit=200&cursor={cursor}"), token).await;
            prop_assert_eq!(page.status, 200, "search by {:?}: {}", v, page.text);
            found.extend(page.body["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()));
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        let expected: BTreeSet<String> =
            ids.dossiers.iter().filter(|(_, (r, requester))| model_reads_dossier(m, v, *r, *requester)).map(|(id, _)| id.clone()).collect();
        prop_assert_eq!(found, expected, "dossier search of {:?} after step {}", v, step);
    }
    Ok(())
}

async fn check(app: &TestApp, admin: &concerto_domain::principal::Principal, case: &Case) -> Result<(), TestCaseError> {
    let mut conn = app.pool.get().unwrap();
    let ids = build(&mut conn, admin.clone(), case);
    let mut m = case.start.clone();
    compare(app, &ids, &m, 0).await?;
    compare_board(app, &ids, &m, 0).await?;
    for (step, change) in case.changes.iter().enumerate() {
        let recorded = change_world(&mut conn, &ids, &case.dossiers, change);
        if let (Some(recorded), Change::Attend { r, present }) = (recorded, change) {
            prop_assert_eq!(recorded, model_attendance_accepted(&m, *r, present), "attendance of rcp {} at step {}", r, step + 1);
        }
        apply(&mut m, &case.dossiers, change);
        compare(app, &ids, &m, step + 1).await?;
        compare_board(app, &ids, &m, step + 1).await?;
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
