//! `concerto demo`: a small world to log in to, built through the same store functions and
//! rules as the API (the coordinator files the account requests, the administrator fulfils them).

use std::fmt;

use chrono::NaiveDate;
use concerto_domain::dossier::ReportChannel;
use concerto_domain::patient::{Ins, Sex};
use concerto_domain::principal::Principal;
use concerto_domain::professional::{Category, Rpps, luhn_check_digit};
use concerto_domain::profile::ProfileKind;
use concerto_domain::rcp::{MemberRole, SessionAction};
use concerto_persistence::account_requests::{self, NewAccountRequest};
use concerto_persistence::dossiers::{self, DossierChanges, NewDossier};
use concerto_persistence::patients::{self, NewPatient};
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
    db::write(conn, |c| build(c, &hash))
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
    let (martin, martin_account) = person(
        c,
        ("Martin", "Hélène", Category::Physician, Some("1000000001")),
        "dr.martin",
        &[(&north.id, ProfileKind::Physician)],
        "oncologist, 3C Hauts-de-Loire".to_owned(),
    )?;
    let (bernard, bernard_account) = person(
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
    let (moreau, moreau_account) = person(
        c,
        ("Moreau", "Julie", Category::Secretary, None),
        "sec.moreau",
        &[(&north.id, ProfileKind::Secretary)],
        "secretary, member of the group \"Secrétariat oncologie\" (Bernard, Petit)".to_owned(),
    )?;
    let (roux, roux_account) = person(
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
    let fulfilled = account_requests::fulfil(c, &admin, &request.id, "sec.durand", hash)?;
    let (durand, durand_account) = (fulfilled.professional_id, fulfilled.account_id);
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
    let mut staff = Vec::new();
    for account in [&martin_account, &bernard_account, &petit_account, &durand_account, &moreau_account, &roux_account] {
        staff.push(principal_of(c, account)?);
    }
    clinical(c, &admin, &coord, &north.id, &south.id, &staff)?;
    Ok(DemoWorld { accounts: listed })
}

/// RCPs with participants and animateurs, sessions past, running and upcoming, and patients
/// with dossiers in every status, each made by whom the rules allow (a secretary registers for
/// her physician; the requester writes his question; the animateur validates).
fn clinical(
    c: &mut DbConnection,
    admin: &Principal,
    coord: &Principal,
    north: &str,
    south: &str,
    staff: &[Principal],
) -> Result<(), Error> {
    let [martin, bernard, petit, durand, moreau, roux] = staff else {
        return Err(Error::NotFound("demo staff"));
    };
    let id = |p: &Principal| p.professional_id.clone();
    let digestive = rcps::create(c, coord, north, "RCP Digestive", "digestive oncology")?;
    rcps::set_member(c, coord, &digestive.id, &id(petit), MemberRole::Animateur)?;
    rcps::set_member(c, coord, &digestive.id, &id(martin), MemberRole::Participant)?;
    rcps::set_member(c, coord, &digestive.id, &id(bernard), MemberRole::Participant)?;
    let thoracic = rcps::create(c, coord, north, "RCP Thoracique", "thoracic oncology")?;
    rcps::set_member(c, coord, &thoracic.id, &id(bernard), MemberRole::Animateur)?;
    rcps::set_member(c, coord, &thoracic.id, &id(martin), MemberRole::Participant)?;
    rcps::add_manager(c, coord, &thoracic.id, &id(martin))?;
    let breast = rcps::create(c, admin, south, "RCP Sénologie Sud", "breast oncology")?;
    rcps::set_member(c, admin, &breast.id, &id(petit), MemberRole::Animateur)?;

    let session = |c: &mut DbConnection, rcp: &str, days: i64, hour: u32| {
        let day = chrono::Utc::now().date_naive() + chrono::Duration::days(days);
        let at = |h: u32| day.and_hms_opt(h, 0, 0).unwrap_or_default();
        sessions::create(
            c,
            admin,
            rcp,
            &NewSession { starts_at: at(hour), ends_at: Some(at(hour + 2)), location: Some("Salle Pasteur".to_owned()) },
        )
    };
    let patient = |c: &mut DbConnection,
                   by: &Principal,
                   (family, given, born, sex): (&str, &str, (i32, u32, u32), Sex),
                   ins: Option<&str>,
                   treating: Option<&Principal>,
                   correspondents: &[&Principal]| {
        let new = NewPatient {
            family_name: family.to_owned(),
            given_name: given.to_owned(),
            birth_date: NaiveDate::from_ymd_opt(born.0, born.1, born.2).unwrap_or_default(),
            sex,
            birth_place_code: None,
            ins: ins.map(Ins::parse).transpose()?,
            treating_physician_id: treating.map(|p| p.professional_id.clone()),
            correspondent_ids: correspondents.iter().map(|p| p.professional_id.clone()).collect(),
        };
        patients::create(c, by, &new, true).map(|p| p.identity.id)
    };
    let register = |c: &mut DbConnection, by: &Principal, session: &str, patient: &str, requester: &Principal| {
        let new = NewDossier {
            patient_id: patient.to_owned(),
            requester_id: requester.professional_id.clone(),
            clinical_summary: None,
            question: None,
        };
        dossiers::register(c, by, session, &new)
    };
    let write =
        |c: &mut DbConnection, by: &Principal, dossier: &dossiers::Dossier, summary: &str, question: &str, proposal: Option<&str>| {
            let changes = DossierChanges {
                clinical_summary: Some(Some(summary.to_owned())),
                question: Some(Some(question.to_owned())),
                proposal: proposal.map(|p| Some(p.to_owned())),
                withdraw: false,
            };
            dossiers::update(c, by, &dossier.id, Some(dossier.version), &changes)
        };

    let garnier = patient(c, martin, ("Garnier", "Rose", (1952, 3, 14), Sex::Female), Some("261047512345619"), Some(martin), &[bernard])?;
    let lefevre = patient(c, durand, ("Lefèvre", "Jean", (1948, 11, 2), Sex::Male), None, None, &[])?;
    let roussel = patient(c, moreau, ("Roussel", "Odile", (1961, 7, 30), Sex::Female), None, Some(bernard), &[])?;
    let dupuis = patient(c, bernard, ("Dupuis", "Marcel", (1955, 2, 9), Sex::Male), Some("155029901234520"), None, &[martin])?;
    let blanc = patient(c, roux, ("Blanc", "Claire", (1970, 5, 21), Sex::Female), None, Some(petit), &[])?;

    // Last week: Garnier discussed and validated, the report sent by Dr Martin's secretary.
    let past = session(c, &digestive.id, -7, 14)?;
    let d = register(c, durand, &past.id, &garnier, martin)?;
    let d = write(c, martin, &d, "Adénocarcinome du côlon sigmoïde, pT3N1.", "Chimiothérapie adjuvante ?", Some("FOLFOX 6 mois"))?;
    sessions::transition(c, coord, &past.id, SessionAction::Start)?;
    dossiers::validate(c, petit, &d.id, None)?;
    dossiers::send_report(c, durand, &d.id, &[id(martin), id(bernard)], ReportChannel::Mssante)?;
    sessions::transition(c, coord, &past.id, SessionAction::Close)?;

    // Today, running: Lefèvre discussed, Roussel registered by the group's secretary.
    let today = session(c, &digestive.id, 0, 17)?;
    let d = register(c, durand, &today.id, &lefevre, martin)?;
    write(c, martin, &d, "Carcinome hépatocellulaire sur cirrhose.", "Radiofréquence ou résection ?", Some("Résection segmentaire"))?;
    register(c, moreau, &today.id, &roussel, bernard)?;
    sessions::transition(c, coord, &today.id, SessionAction::Start)?;

    // Next week: Dupuis registered by Dr Bernard, Garnier registered then withdrawn.
    let next = session(c, &digestive.id, 7, 14)?;
    register(c, bernard, &next.id, &dupuis, bernard)?;
    let w = register(c, martin, &next.id, &garnier, martin)?;
    dossiers::update(c, martin, &w.id, Some(w.version), &DossierChanges { withdraw: true, ..DossierChanges::default() })?;

    let thoracic_session = session(c, &thoracic.id, 3, 12)?;
    let d = register(c, martin, &thoracic_session.id, &dupuis, martin)?;
    write(c, martin, &d, "Nodule pulmonaire de 18 mm, TEP positive.", "Biopsie ou chirurgie d'emblée ?", None)?;
    let breast_session = session(c, &breast.id, 5, 9)?;
    register(c, roux, &breast_session.id, &blanc, petit)?;
    Ok(())
}
