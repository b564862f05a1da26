//! `concerto demo`: a small world to log in to, built through the same store functions and
//! rules as the API (the coordinator files the account requests, the administrator fulfils them).

use concerto_domain::ErrorCode;
use std::fmt;

use chrono::{Duration, NaiveDate, NaiveDateTime, Timelike};
use concerto_domain::affiliation::Validity;
use concerto_domain::dossier::ReportChannel;
use concerto_domain::fiche::{
    CaseStatus, Diagnosis, FichePatch, Framework, Guideline, Intention, Proposal, Reason, Referral, SURVEILLANCE_ONLY, Treatment,
};
use concerto_domain::id::{CancerCenterId, GroupId, ProfessionalId, RcpId};
use concerto_domain::patient::{Ins, Sex};
use concerto_domain::principal::Principal;
use concerto_domain::professional::{Category, Rpps, luhn_check_digit};
use concerto_domain::profile::ProfileKind;
use concerto_domain::rcp::{MemberRole, SessionAction};
use concerto_domain::specialty::Specialty;
use concerto_persistence::account_requests::{self, NewAccountRequest};
use concerto_persistence::dossiers::{self, DossierChanges, NewDossier};
use concerto_persistence::patients::{self, NewPatient};
use concerto_persistence::professionals::{self, NewProfessional};
use concerto_persistence::sessions::{self, NewSession};
use concerto_persistence::specialties::{self, SpecialtyOf};
use concerto_persistence::{
    DbConnection, Error, accounts, affiliations, attendance, cancer_centers, clock, db, rcps, secretary_groups, terminology,
};

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
        return Err(Error::conflict(ErrorCode::NotEmpty, "the database already holds data; the demo loads into an empty one only"));
    }
    let hash = hash_password(DEMO_PASSWORD).map_err(|e| Error::Unavailable(e.to_string()))?;
    db::write(conn, |c| {
        // The lists first: the fiches the world's dossiers carry are coded from them.
        load_code_lists(c)?;
        build(c, &hash)
    })
}

/// A demo dossier's fiche: its site and morphology, its treatments in order, the digestive
/// guideline, conform unless a reason of non-conformity is given.
fn fiche(
    case_status: CaseStatus,
    site: &str,
    morphology: Option<&str>,
    treatments: &[(&str, &str)],
    nonconformity_reason: Option<&str>,
) -> FichePatch {
    let treatments = (1..)
        .zip(treatments)
        .map(|(order, (code, detail))| Treatment {
            code: (*code).to_owned(),
            order,
            intention: Some(Intention::Curative),
            detail: Some((*detail).to_owned()),
        })
        .collect();
    FichePatch {
        referral: Some(Some(Referral { reasons: vec![Reason::TreatmentProposal], case_status: Some(case_status) })),
        case: None,
        diagnosis: Some(Some(Diagnosis {
            tumour_site: Some(site.to_owned()),
            morphology: morphology.map(str::to_owned),
            ..Diagnosis::default()
        })),
        proposal: Some(Some(Proposal { treatments, ..Proposal::default() })),
        framework: Some(Some(Framework {
            guideline: Some(Guideline {
                name: "Thésaurus national de cancérologie digestive".to_owned(),
                version: Some("2025".to_owned()),
                date: None,
            }),
            conform: Some(nonconformity_reason.is_none()),
            nonconformity_reason: nonconformity_reason.map(str::to_owned),
            trial_proposed: Some(false),
            trial_name: None,
        })),
    }
}

/// The code lists the project ships (`terminology/`), as `concerto terminology load` would
/// load them (again: a list loaded already is left as it is).
pub fn load_code_lists(c: &mut DbConnection) -> Result<(), Error> {
    let known: Vec<String> = terminology::systems(c)?.into_iter().map(|s| s.name).collect();
    let lists = crate::terminology::shipped(&known).map_err(|e| Error::Migration(format!("a shipped code list does not read: {e}")))?;
    let at = clock::now();
    terminology::load(c, &lists, at, at.date())?;
    Ok(())
}

fn build(c: &mut DbConnection, hash: &str) -> Result<DemoWorld, Error> {
    let cal = Calendar::from(concerto_persistence::now());
    // The directory was set up a little more than a year ago, before the first board of the
    // history; the rest of the world is dated step by step in `clinical`.
    let (listed, world) = clock::at(cal.at(-420, 9, 0), || directory(c, hash))?;
    let World { admin, coord, north, south, staff } = world;
    // A request still waiting, so the administrator has something to decide.
    clock::at(cal.at(-2, 11, 5), || {
        account_requests::create(
            c,
            &coord,
            &NewAccountRequest {
                cancer_center_id: north.clone(),
                family_name: "Garnier".to_owned(),
                given_name: "Lucas".to_owned(),
                email: "l.garnier@concerto.example".to_owned(),
                rpps: Some(rpps("1000000004")?),
                expected_profile: ProfileKind::Physician,
            },
        )
    })?;
    clinical(c, &cal, &admin, &coord, &north, &south, &staff)?;
    Ok(DemoWorld { accounts: listed })
}

/// Who the clinical part of the demo acts as.
struct World {
    admin: Principal,
    coord: Principal,
    north: String,
    south: String,
    staff: Vec<Principal>,
}

/// The demo's dates, counted from the moment it is loaded: each step is stored at the time it
/// would have happened (through [`clock::at`]), so delays between registration, validation
/// and sending are hours and days, as on a real board.
struct Calendar {
    now: NaiveDateTime,
}

impl Calendar {
    fn from(now: NaiveDateTime) -> Self {
        Self { now }
    }

    /// `days` from today (UTC), at `hour:minute`.
    fn at(&self, days: i64, hour: u32, minute: u32) -> NaiveDateTime {
        (self.now.date() + Duration::days(days)).and_hms_opt(hour, minute, 0).unwrap_or(self.now)
    }

    /// Today's running session: it started on the last quarter-hour at least half an hour ago,
    /// so whenever the demo is loaded the session is under way, and its start is behind us;
    /// loaded in the first half hour of a day, at midnight, so that it stays today's.
    fn running_session_start(&self) -> NaiveDateTime {
        let t = self.now - Duration::minutes(30);
        let minute = t.minute() - t.minute() % 15;
        let start = t.date().and_hms_opt(t.hour(), minute, 0).unwrap_or(t);
        start.max(self.at(0, 0, 0))
    }
}

/// The platform's directory: centers, professionals, accounts, profiles, delegations.
fn directory(c: &mut DbConnection, hash: &str) -> Result<(Vec<(String, String)>, World), Error> {
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
            professionals::grant_profile(c, &admin, &ProfessionalId::from(prof.id.as_str()), &CancerCenterId::from(*center), *kind)?;
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

    affiliations::add_secretary(c, &coord, &martin, &durand, Validity::default())?;
    affiliations::add_secretary(c, &admin, &petit, &roux, Validity::default())?;
    let group = secretary_groups::create(c, &coord, &north.id, "Secrétariat oncologie")?;
    let group_id = GroupId::from(group.id.as_str());
    secretary_groups::add_member(c, &coord, &group_id, &ProfessionalId::from(moreau.as_str()))?;
    affiliations::add_group(c, &coord, &ProfessionalId::from(bernard.as_str()), &group_id, Validity::default())?;
    affiliations::add_group(c, &coord, &ProfessionalId::from(petit.as_str()), &group_id, Validity::default())?;

    let mut staff = Vec::new();
    for account in [&martin_account, &bernard_account, &petit_account, &durand_account, &moreau_account, &roux_account] {
        staff.push(principal_of(c, account)?);
    }
    Ok((listed, World { admin, coord, north: north.id, south: south.id, staff }))
}

/// RCPs with participants and animateurs, sessions past, running and upcoming, and patients
/// with dossiers in every status, each made by whom the rules allow (a secretary registers for
/// her physician; the requester writes his question; the animateur validates), each at its
/// time: a dossier is registered days before its board, validated during it, its report sent
/// the next days; today's session started half an hour ago.
fn clinical(
    c: &mut DbConnection,
    cal: &Calendar,
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
    let pid = |p: &Principal| ProfessionalId::from(p.professional_id.as_str());
    let (digestive, thoracic, breast) = clock::at(cal.at(-419, 10, 0), || {
        let digestive = rcps::create(c, coord, north, "RCP Digestive", "digestive oncology")?;
        rcps::set_member(c, coord, &RcpId::from(digestive.id.as_str()), &pid(petit), MemberRole::Animateur)?;
        rcps::set_member(c, coord, &RcpId::from(digestive.id.as_str()), &pid(martin), MemberRole::Participant)?;
        rcps::set_member(c, coord, &RcpId::from(digestive.id.as_str()), &pid(bernard), MemberRole::Participant)?;
        let thoracic = rcps::create(c, coord, north, "RCP Thoracique", "thoracic oncology")?;
        rcps::set_member(c, coord, &RcpId::from(thoracic.id.as_str()), &pid(bernard), MemberRole::Animateur)?;
        rcps::set_member(c, coord, &RcpId::from(thoracic.id.as_str()), &pid(martin), MemberRole::Participant)?;
        rcps::add_manager(c, coord, &RcpId::from(thoracic.id.as_str()), &pid(martin))?;
        let breast = rcps::create(c, admin, south, "RCP Sénologie Sud", "breast oncology")?;
        rcps::set_member(c, admin, &RcpId::from(breast.id.as_str()), &pid(petit), MemberRole::Animateur)?;
        // The board's specialties: an oncologist, a radiotherapist, a digestive surgeon.
        for (who, specialty, organ) in [
            (martin, Specialty::MedicalOncology, None),
            (bernard, Specialty::Radiotherapy, None),
            (petit, Specialty::Surgery, Some("digestive")),
        ] {
            specialties::set(c, coord, &id(who), &SpecialtyOf { specialty, subspecialty: organ.map(str::to_owned) })?;
        }
        Ok::<_, Error>((digestive, thoracic, breast))
    })?;

    // A session is planned five weeks ahead, for two hours.
    let session = |c: &mut DbConnection, rcp: &str, starts_at: NaiveDateTime| {
        clock::at(starts_at - Duration::days(35), || {
            sessions::create(
                c,
                admin,
                rcp,
                &NewSession { starts_at, ends_at: Some(starts_at + Duration::hours(2)), location: Some("Salle Pasteur".to_owned()) },
            )
        })
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
    let register = |c: &mut DbConnection, at: NaiveDateTime, by: &Principal, session: &str, patient: &str, requester: &Principal| {
        let new = NewDossier {
            patient_id: patient.to_owned(),
            requester_id: requester.professional_id.clone(),
            clinical_summary: None,
            question: None,
        };
        clock::at(at, || dossiers::register(c, by, session, &new))
    };
    let write = |c: &mut DbConnection,
                 at: NaiveDateTime,
                 by: &Principal,
                 dossier: &dossiers::Dossier,
                 summary: &str,
                 question: &str,
                 proposal: Option<&str>,
                 fiche: FichePatch| {
        let changes = DossierChanges {
            clinical_summary: Some(Some(summary.to_owned())),
            question: Some(Some(question.to_owned())),
            proposal: proposal.map(|p| Some(p.to_owned())),
            withdraw: false,
            fiche: Some(fiche),
        };
        clock::at(at, || dossiers::update(c, by, &dossier.id, Some(dossier.version), &changes).map(|(d, _)| d))
    };
    let transition = |c: &mut DbConnection, at: NaiveDateTime, session: &str, action: SessionAction| {
        clock::at(at, || sessions::transition(c, coord, session, action))
    };

    let (garnier, lefevre, roussel, dupuis, blanc) = clock::at(cal.at(-418, 10, 30), || {
        Ok::<_, Error>((
            patient(c, martin, ("Garnier", "Rose", (1952, 3, 14), Sex::Female), Some("261047512345619"), Some(martin), &[bernard])?,
            patient(c, durand, ("Lefèvre", "Jean", (1948, 11, 2), Sex::Male), None, None, &[])?,
            patient(c, moreau, ("Roussel", "Odile", (1961, 7, 30), Sex::Female), None, Some(bernard), &[])?,
            patient(c, bernard, ("Dupuis", "Marcel", (1955, 2, 9), Sex::Male), Some("155029901234520"), None, &[martin])?,
            patient(c, roux, ("Blanc", "Claire", (1970, 5, 21), Sex::Female), None, Some(petit), &[])?,
        ))
    })?;
    let board = [id(martin), id(bernard), id(petit)];

    // A year of history: a digestive board every four weeks, two dossiers registered a week or
    // so before it, discussed and validated during it with the three specialties present, each
    // report sent to all its default recipients (requester, treating physician, correspondents)
    // one to three days later; so the activity report has months and delays to show.
    let history: [(&String, &[&Principal], &str); 4] =
        [(&garnier, &[martin, bernard], "C18.7"), (&lefevre, &[], "C22.0"), (&roussel, &[bernard], "C25.0"), (&dupuis, &[martin], "C20")];
    for k in 2..=13_i64 {
        let day = -28 * k;
        let held = session(c, &digestive.id, cal.at(day, 14, 0))?;
        let mut ready = Vec::new();
        for (i, requester) in [martin, bernard].into_iter().enumerate() {
            let (patient, others, site) = history[(k as usize + i) % 4];
            let registered = cal.at(day - 6 - k % 4 - i as i64, 9 + 2 * i as u32, 15 * (k % 4) as u32);
            let d = register(c, registered, requester, &held.id, patient, requester)?;
            // Surveillance after a treatment that followed the guideline is registered without
            // discussion (FRCP ORG-128); a chemotherapy is discussed.
            let (proposal, fiche) = if i == 0 {
                ("Surveillance", fiche(CaseStatus::Registered, site, None, &[(SURVEILLANCE_ONLY, "Surveillance selon référentiel")], None))
            } else {
                ("Chimiothérapie", fiche(CaseStatus::Discussed, site, None, &[("C15632", "Chimiothérapie")], None))
            };
            let d = write(
                c,
                registered + Duration::hours(27),
                requester,
                &d,
                "Dossier d'archive.",
                "Conduite à tenir ?",
                Some(proposal),
                fiche,
            )?;
            let mut recipients: Vec<String> = std::iter::once(requester).chain(others.iter().copied()).map(id).collect();
            recipients.sort();
            recipients.dedup();
            ready.push((d, requester, recipients));
        }
        transition(c, cal.at(day, 14, 0), &held.id, SessionAction::Start)?;
        clock::at(cal.at(day, 14, 5), || attendance::record(c, petit, &held.id, &board))?;
        for (i, (d, ..)) in ready.iter().enumerate() {
            clock::at(cal.at(day, 14, 30 + 20 * i as u32), || dossiers::validate(c, petit, &d.id, None))?;
        }
        transition(c, cal.at(day, 16, 0), &held.id, SessionAction::Close)?;
        for (i, (d, requester, recipients)) in ready.iter().enumerate() {
            let sent = cal.at(day + 1 + k % 3, 9 + 3 * i as u32, 10 * (k % 6) as u32);
            clock::at(sent, || dossiers::send_report(c, requester, &d.id, recipients, ReportChannel::Mssante))?;
        }
    }

    // Last week: Garnier (Dr Martin's request, registered by his secretary) and Mercier (Dr
    // Bernard's, registered by the group's secretary) discussed and validated with the board
    // present. Sophie Durand sent Garnier's report the next morning; Mercier's still waits for
    // the secretaries who act for Dr Bernard.
    let past = session(c, &digestive.id, cal.at(-7, 14, 0))?;
    let d = register(c, cal.at(-15, 10, 20), durand, &past.id, &garnier, martin)?;
    let d = write(
        c,
        cal.at(-14, 18, 40),
        martin,
        &d,
        "Adénocarcinome du côlon sigmoïde, pT3N1.",
        "Chimiothérapie adjuvante ?",
        Some("FOLFOX 6 mois"),
        fiche(CaseStatus::Discussed, "C18.7", Some("8140/3"), &[("C15632", "FOLFOX 6 mois")], None),
    )?;
    let mercier =
        clock::at(cal.at(-13, 9, 10), || patient(c, moreau, ("Mercier", "Yvette", (1958, 9, 17), Sex::Female), None, Some(bernard), &[]))?;
    let m = register(c, cal.at(-13, 9, 15), moreau, &past.id, &mercier, bernard)?;
    let m = write(
        c,
        cal.at(-12, 17, 0),
        bernard,
        &m,
        "Métastase hépatique unique d'un cancer rectal opéré.",
        "Radiothérapie stéréotaxique ?",
        Some("Radiothérapie stéréotaxique hépatique"),
        fiche(
            CaseStatus::Discussed,
            "C20",
            Some("8140/3"),
            &[("C15313", "Stéréotaxie hépatique, 3 × 15 Gy")],
            Some("Métastase unique récusée pour la chirurgie par la patiente : radiothérapie stéréotaxique hors référentiel"),
        ),
    )?;
    transition(c, cal.at(-7, 14, 0), &past.id, SessionAction::Start)?;
    clock::at(cal.at(-7, 14, 5), || attendance::record(c, petit, &past.id, &board))?;
    clock::at(cal.at(-7, 14, 35), || dossiers::validate(c, petit, &d.id, None))?;
    clock::at(cal.at(-7, 15, 0), || dossiers::validate(c, petit, &m.id, None))?;
    transition(c, cal.at(-7, 16, 10), &past.id, SessionAction::Close)?;
    clock::at(cal.at(-6, 9, 40), || dossiers::send_report(c, durand, &d.id, &[id(martin), id(bernard)], ReportChannel::Mssante))?;

    // Today, under way since the last quarter-hour at least half an hour ago: Lefèvre
    // discussed, Roussel registered by the group's secretary.
    let start = cal.running_session_start();
    let today = session(c, &digestive.id, start)?;
    let d = register(c, cal.at(-4, 11, 0), durand, &today.id, &lefevre, martin)?;
    write(
        c,
        cal.at(-3, 19, 30),
        martin,
        &d,
        "Carcinome hépatocellulaire sur cirrhose.",
        "Radiofréquence ou résection ?",
        Some("Résection segmentaire"),
        fiche(CaseStatus::Discussed, "C22.0", Some("8170/3"), &[("387713003", "Résection segmentaire")], None),
    )?;
    register(c, cal.at(-2, 16, 45), moreau, &today.id, &roussel, bernard)?;
    transition(c, start, &today.id, SessionAction::Start)?;
    // Dr Bernard is not there yet: no quorum, so nothing can be validated until he comes.
    let recorded = (start + Duration::minutes(5)).min(cal.now);
    clock::at(recorded, || attendance::record(c, petit, &today.id, &[id(martin), id(petit)]))?;

    // Next week: Dupuis registered by Dr Bernard, Garnier registered then withdrawn.
    let next = session(c, &digestive.id, cal.at(7, 14, 0))?;
    register(c, cal.at(-2, 10, 0), bernard, &next.id, &dupuis, bernard)?;
    let w = register(c, cal.at(-1, 9, 30), martin, &next.id, &garnier, martin)?;
    let withdraw = DossierChanges { withdraw: true, ..DossierChanges::default() };
    clock::at(cal.at(-1, 11, 0), || dossiers::update(c, martin, &w.id, Some(w.version), &withdraw))?;

    let thoracic_session = session(c, &thoracic.id, cal.at(3, 12, 0))?;
    let d = register(c, cal.at(-2, 15, 0), martin, &thoracic_session.id, &dupuis, martin)?;
    // Prepared before its board: the reason and the site, the proposal still to come.
    let prepared = FichePatch {
        referral: Some(Some(Referral { reasons: vec![Reason::DiagnosticOpinion], case_status: Some(CaseStatus::Discussed) })),
        diagnosis: Some(Some(Diagnosis { tumour_site: Some("C34.9".to_owned()), ..Diagnosis::default() })),
        ..FichePatch::default()
    };
    write(
        c,
        cal.at(-2, 15, 20),
        martin,
        &d,
        "Nodule pulmonaire de 18 mm, TEP positive.",
        "Biopsie ou chirurgie d'emblée ?",
        None,
        prepared,
    )?;
    let breast_session = session(c, &breast.id, cal.at(5, 9, 0))?;
    register(c, cal.at(-1, 14, 0), roux, &breast_session.id, &blanc, petit)?;

    // Holiday cover: Dr Bernard himself asks Anne Roux to stand in for his secretaries until
    // next week, then extends it by two days; the history shows both.
    let week = cal.now + Duration::days(7);
    clock::at(cal.at(-3, 8, 30), || {
        affiliations::add_secretary(c, bernard, &id(bernard), &id(roux), Validity { valid_from: None, valid_until: Some(week) })
    })?;
    let extended = Validity { valid_from: None, valid_until: Some(week + Duration::days(2)) };
    clock::at(cal.at(-1, 17, 0), || affiliations::add_secretary(c, bernard, &id(bernard), &id(roux), extended))?;
    Ok(())
}
