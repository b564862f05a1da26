//! `concerto demo`: a small world to log in to, built through the same store functions and
//! rules as the API (the coordinator files the account requests, the administrator fulfils them).

use std::fmt;

use concerto_domain::principal::Principal;
use concerto_domain::professional::{Category, Rpps, luhn_check_digit};
use concerto_domain::profile::ProfileKind;
use concerto_domain::rcp::{MemberRole, SessionAction};
use concerto_persistence::account_requests::{self, NewAccountRequest};
use concerto_persistence::professionals::{self, NewProfessional};
use concerto_persistence::sessions::{self, NewSession};
use concerto_persistence::{DbConnection, Error, accounts, affiliations, cancer_centers, db, rcps, secretary_groups};

use crate::auth::hash_password;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "concerto-demo-2026";

/// What was loaded, printed for the newcomer.
pub struct DemoWorld {
    accounts: Vec<(String, String)>,
}

impl fmt::Display for DemoWorld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Demo world loaded. Every account's password is {DEMO_PASSWORD}")?;
        writeln!(f, "{:<14} who", "username")?;
        for (username, who) in &self.accounts {
            writeln!(f, "{username:<14} {who}")?;
        }
        Ok(())
    }
}

fn rpps(base: &str) -> Result<Rpps, Error> {
    Ok(Rpps::parse(&format!("{base}{}", luhn_check_digit(base)))?)
}

fn principal_of(conn: &mut DbConnection, account_id: &str) -> Result<Principal, Error> {
    accounts::load_principal(conn, account_id)?.map(|(p, _)| p).ok_or(Error::NotFound("account"))
}

/// Loads the demo world into an empty store, all or nothing.
pub fn load(conn: &mut DbConnection) -> Result<DemoWorld, Error> {
    if !db::is_empty(conn)? {
        return Err(Error::conflict("not_empty", "the database already holds data; the demo loads into an empty one only"));
    }
    let hash = hash_password(DEMO_PASSWORD).map_err(|e| Error::Unavailable(e.to_string()))?;
    db::transaction(conn, |c| build(c, &hash))
}

fn build(c: &mut DbConnection, hash: &str) -> Result<DemoWorld, Error> {
    let mut listed = Vec::new();
    let admin_account = accounts::create_platform_admin(c, "admin", hash)?;
    let admin = principal_of(c, &admin_account.id)?;
    listed.push(("admin".to_owned(), "platform administrator (the regional e-health agency)".to_owned()));

    let north = cancer_centers::create(c, &admin, "3C Hauts-de-Loire", "3C-HDL")?;
    let south = cancer_centers::create(c, &admin, "3C Val d'Azur", "3C-VAZ")?;

    // A professional with an account and profiles, created directly by the administrator.
    let mut person = |c: &mut DbConnection,
                      (family, given, category, rpps_base): (&str, &str, Category, Option<&str>),
                      username: &str,
                      profiles: &[(&str, ProfileKind)],
                      who: String|
     -> Result<(String, String), Error> {
        let new = NewProfessional {
            family_name: family.to_owned(),
            given_name: given.to_owned(),
            rpps: rpps_base.map(rpps).transpose()?,
            email: Some(format!("{username}@concerto.example")),
            category,
        };
        let prof = professionals::create(c, &admin, &new)?;
        let account = accounts::create(c, &admin, &prof.id, username, hash)?;
        for (center, kind) in profiles {
            professionals::grant_profile(c, &admin, &prof.id, center, *kind)?;
        }
        listed.push((username.to_owned(), who));
        Ok((prof.id, account.id))
    };
    let (_, coord_account) = person(
        c,
        ("Lemoine", "Claire", Category::Other, None),
        "coord",
        &[(&north.id, ProfileKind::CenterCoordinator)],
        "center coordinator of 3C Hauts-de-Loire".to_owned(),
    )?;
    let (martin, _) = person(
        c,
        ("Martin", "Hélène", Category::Physician, Some("1000000001")),
        "dr.martin",
        &[(&north.id, ProfileKind::Physician)],
        "oncologist, 3C Hauts-de-Loire".to_owned(),
    )?;
    let (bernard, _) = person(
        c,
        ("Bernard", "Paul", Category::Physician, Some("1000000002")),
        "dr.bernard",
        &[(&north.id, ProfileKind::Physician)],
        "radiotherapist, 3C Hauts-de-Loire".to_owned(),
    )?;
    let (petit, petit_account) = person(
        c,
        ("Petit", "Louis", Category::Physician, Some("1000000003")),
        "dr.petit",
        &[(&north.id, ProfileKind::Physician), (&south.id, ProfileKind::Physician)],
        "surgeon, both centers".to_owned(),
    )?;
    let (moreau, _) = person(
        c,
        ("Moreau", "Julie", Category::Secretary, None),
        "sec.moreau",
        &[(&north.id, ProfileKind::Secretary)],
        "secretary, member of the group \"Secrétariat oncologie\" (Bernard, Petit)".to_owned(),
    )?;
    let (roux, _) = person(
        c,
        ("Roux", "Anne", Category::Secretary, None),
        "sec.roux",
        &[(&north.id, ProfileKind::Secretary), (&south.id, ProfileKind::Secretary)],
        "secretary on both centers, secretary of Dr Petit".to_owned(),
    )?;

    // The seed's own route for a new secretary: the 3C asks, the platform creates, the 3C
    // corrects the category, then affiliates her.
    let coord = principal_of(c, &coord_account)?;
    let request = account_requests::create(
        c,
        &coord,
        &NewAccountRequest {
            cancer_center_id: north.id.clone(),
            family_name: "Durand".to_owned(),
            given_name: "Sophie".to_owned(),
            email: "sec.durand@concerto.example".to_owned(),
            rpps: None,
            expected_profile: ProfileKind::Secretary,
        },
    )?;
    let durand = account_requests::fulfil(c, &admin, &request.id, "sec.durand", hash)?.professional_id;
    professionals::set_category(c, &coord, &durand, Category::Secretary)?;
    listed.push(("sec.durand".to_owned(), "secretary of Dr Martin (opened through an account request)".to_owned()));

    affiliations::add_secretary(c, &coord, &martin, &durand)?;
    affiliations::add_secretary(c, &admin, &petit, &roux)?;
    let group = secretary_groups::create(c, &coord, &north.id, "Secrétariat oncologie")?;
    secretary_groups::add_member(c, &coord, &group.id, &moreau)?;
    affiliations::add_group(c, &coord, &bernard, &group.id)?;
    affiliations::add_group(c, &coord, &petit, &group.id)?;

    // A request still waiting, so the administrator has something to decide.
    account_requests::create(
        c,
        &coord,
        &NewAccountRequest {
            cancer_center_id: north.id.clone(),
            family_name: "Garnier".to_owned(),
            given_name: "Lucas".to_owned(),
            email: "l.garnier@concerto.example".to_owned(),
            rpps: Some(rpps("1000000004")?),
            expected_profile: ProfileKind::Physician,
        },
    )?;
    let petit_principal = principal_of(c, &petit_account)?;
    clinical(c, &admin, &coord, &petit_principal, &north.id, &south.id, [&martin, &bernard, &petit])?;
    Ok(DemoWorld { accounts: listed })
}

/// RCPs with participants and animateurs, and sessions past, running and upcoming.
fn clinical(
    c: &mut DbConnection,
    admin: &Principal,
    coord: &Principal,
    south_chair: &Principal,
    north: &str,
    south: &str,
    [martin, bernard, petit]: [&String; 3],
) -> Result<(), Error> {
    let digestive = rcps::create(c, coord, north, "RCP Digestive", "digestive oncology")?;
    rcps::set_member(c, coord, &digestive.id, petit, MemberRole::Animateur)?;
    rcps::set_member(c, coord, &digestive.id, martin, MemberRole::Participant)?;
    rcps::set_member(c, coord, &digestive.id, bernard, MemberRole::Participant)?;
    let thoracic = rcps::create(c, coord, north, "RCP Thoracique", "thoracic oncology")?;
    rcps::set_member(c, coord, &thoracic.id, bernard, MemberRole::Animateur)?;
    rcps::set_member(c, coord, &thoracic.id, martin, MemberRole::Participant)?;
    rcps::add_manager(c, coord, &thoracic.id, martin)?;
    let breast = rcps::create(c, admin, south, "RCP Sénologie Sud", "breast oncology")?;
    rcps::set_member(c, admin, &breast.id, petit, MemberRole::Animateur)?;

    let at = |days: i64, hour: u32| {
        let day = chrono::Utc::now().date_naive() + chrono::Duration::days(days);
        day.and_hms_opt(hour, 0, 0).unwrap_or_default()
    };
    let session = |c: &mut DbConnection, by: &Principal, rcp: &str, days: i64, hour: u32| {
        sessions::create(
            c,
            by,
            rcp,
            &NewSession { starts_at: at(days, hour), ends_at: Some(at(days, hour + 2)), location: Some("Salle Pasteur".to_owned()) },
        )
    };
    let past = session(c, coord, &digestive.id, -7, 14)?;
    sessions::transition(c, coord, &past.id, SessionAction::Start)?;
    sessions::transition(c, coord, &past.id, SessionAction::Close)?;
    let today = session(c, coord, &digestive.id, 0, 17)?;
    sessions::transition(c, coord, &today.id, SessionAction::Start)?;
    session(c, coord, &digestive.id, 7, 14)?;
    session(c, coord, &thoracic.id, 3, 12)?;
    session(c, south_chair, &breast.id, 5, 9)?;
    Ok(())
}
