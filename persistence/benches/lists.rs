//! `make bench`: how the permission-filtered lists cost as the store grows.
//!
//! Builds a center with `BENCH_PHYSICIANS` physicians (default 200) in 40 RCPs of 8 members,
//! weekly sessions (enough for about 20 dossiers each, as real boards hold) and
//! `BENCH_DOSSIERS` dossiers (default 20 000), all through the
//! same store functions the API calls (rules, audit and all). A secretary acting for 5
//! physicians then reads her agenda and her `rcp_passages` tab, and an animateur the run of a
//! session; each is timed over 200 reads. Runs on SQLite (a temp file) or on PostgreSQL when
//! `BENCH_POSTGRES_URL` names a server (a database is created and dropped).
//!
//! What to look for: the per-read times stay flat when `BENCH_DOSSIERS` grows tenfold, since
//! every list is an index lookup on the caller's scope, not a scan.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use concerto_domain::patient::Sex;
use concerto_domain::principal::Principal;
use concerto_domain::professional::Category;
use concerto_domain::profile::ProfileKind;
use concerto_domain::rcp::MemberRole;
use concerto_persistence::dossiers::{self, NewDossier, Tab};
use concerto_persistence::patients::{self, NewPatient};
use concerto_persistence::professionals::{self, NewProfessional};
use concerto_persistence::sessions::{self, NewSession};
use concerto_persistence::{DbConnection, PageRequest, Store, accounts, affiliations, cancer_centers, db, rcps, scope};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A tiny deterministic generator: the same world on every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

fn person(c: &mut DbConnection, admin: &Principal, family: &str, category: Category, center: &str, kind: ProfileKind) -> Result<Principal> {
    let new = NewProfessional { family_name: family.into(), given_name: "B".into(), rpps: None, email: None, category };
    let prof = professionals::create(c, admin, &new)?;
    professionals::grant_profile(c, admin, &prof.id, center, kind)?;
    let account = accounts::create(c, admin, &prof.id, &format!("u{}", prof.id), "$argon2id$unused")?;
    Ok(accounts::load_principal(c, &account.id)?.ok_or("no principal")?.0)
}

fn time(label: &str, runs: usize, mut f: impl FnMut() -> Result<usize>) -> Result<()> {
    let mut samples = Vec::with_capacity(runs);
    let mut rows = 0;
    for _ in 0..runs {
        let start = Instant::now();
        rows = f()?;
        samples.push(start.elapsed());
    }
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / u32::try_from(runs)?;
    let p95 = samples[runs * 95 / 100];
    println!("{label:<44} {rows:>6} rows   mean {:>8.3} ms   p95 {:>8.3} ms", ms(mean), ms(p95));
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> Result<()> {
    let physicians = env("BENCH_PHYSICIANS", 200);
    let dossier_count = env("BENCH_DOSSIERS", 20_000);
    let dir = tempfile::tempdir()?;
    let pg = std::env::var("BENCH_POSTGRES_URL").ok().filter(|u| !u.is_empty());
    let name = format!("concerto_bench_{}", std::process::id());
    let store = match &pg {
        Some(admin_url) => {
            db::create_postgres_database(admin_url, &name)?;
            let (server, _) = admin_url.rsplit_once('/').ok_or("BENCH_POSTGRES_URL must end with /<database>")?;
            Store::Postgres(format!("{server}/{name}"))
        }
        None => Store::Sqlite(dir.path().join("bench.db").to_string_lossy().into_owned()),
    };
    let result = run(&store, physicians, dossier_count);
    if let Some(admin_url) = &pg {
        db::drop_postgres_database(admin_url, &name)?;
    }
    result
}

fn run(store: &Store, physician_count: usize, dossier_count: usize) -> Result<()> {
    let pool = db::connect(store, 2)?;
    let c = &mut pool.get()?;
    let build = Instant::now();
    let admin_account = accounts::create_platform_admin(c, "admin", "$argon2id$unused")?;
    let admin = accounts::load_principal(c, &admin_account.id)?.ok_or("no admin")?.0;
    let center = cancer_centers::create(c, &admin, "3C Bench", "BENCH")?.id;
    let mut rng = Lcg(42);
    let mut doctors: Vec<Principal> = Vec::new();
    for i in 0..physician_count {
        doctors.push(person(c, &admin, &format!("Physician{i}"), Category::Physician, &center, ProfileKind::Physician)?);
    }
    let sessions_per_rcp = i64::try_from((dossier_count / (40 * 20)).max(10))?;
    let mut boards = Vec::new();
    for r in 0..40 {
        let rcp = rcps::create(c, &admin, &center, &format!("RCP {r}"), "bench")?.id;
        let mut members = Vec::new();
        while members.len() < 8.min(physician_count) {
            let d = rng.below(physician_count);
            if !members.contains(&d) {
                let role = if members.is_empty() { MemberRole::Animateur } else { MemberRole::Participant };
                rcps::set_member(c, &admin, &rcp, &doctors[d].professional_id, role)?;
                members.push(d);
            }
        }
        let mut slots = Vec::new();
        for s in 0..sessions_per_rcp {
            let starts_at = (Utc::now() + chrono::Duration::days(1 + 7 * s)).naive_utc();
            slots.push(sessions::create(c, &admin, &rcp, &NewSession { starts_at, ends_at: None, location: None })?.id);
        }
        boards.push((members, slots));
    }
    for i in 0..dossier_count {
        let (members, slots) = &boards[rng.below(boards.len())];
        let requester = &doctors[members[rng.below(members.len())]];
        let birth_date = NaiveDate::from_ymd_opt(
            1940 + i32::try_from(rng.below(60))?,
            1 + u32::try_from(rng.below(12))?,
            1 + u32::try_from(rng.below(28))?,
        )
        .ok_or("date")?;
        let patient = NewPatient {
            family_name: format!("Patient{i}"),
            given_name: "P".into(),
            birth_date,
            sex: Sex::Unknown,
            birth_place_code: None,
            ins: None,
            treating_physician_id: None,
            correspondent_ids: Vec::new(),
        };
        let patient = patients::create(c, requester, &patient, true)?;
        let new = NewDossier {
            patient_id: patient.identity.id,
            requester_id: requester.professional_id.clone(),
            clinical_summary: None,
            question: None,
        };
        dossiers::register(c, requester, &slots[rng.below(slots.len())], &new)?;
    }
    let secretary = person(c, &admin, "Secretary", Category::Secretary, &center, ProfileKind::Secretary)?;
    for doctor in doctors.iter().take(5) {
        affiliations::add_secretary(c, &admin, &doctor.professional_id, &secretary.professional_id)?;
    }
    let secretary = accounts::load_principal(c, &secretary.account_id)?.ok_or("no secretary")?.0;
    println!(
        "world: {physician_count} physicians, 40 RCPs, {} sessions, {dossier_count} dossiers on {} (built in {:.1} s)",
        40 * sessions_per_rcp,
        match store {
            Store::Postgres(_) => "PostgreSQL",
            Store::Sqlite(_) => "SQLite",
        },
        build.elapsed().as_secs_f64()
    );

    let (from, to) = (Utc::now().naive_utc(), (Utc::now() + chrono::Duration::days(61)).naive_utc());
    time("clinical scope of a secretary (5 physicians)", 200, || Ok(scope::load(c, &secretary)?.session_rcps().len()))?;
    time("agenda of a secretary, next 60 days", 200, || {
        Ok(sessions::agenda(c, &secretary, from, to, &PageRequest::first(50))?.items.iter().map(|e| e.dossiers.len()).sum())
    })?;
    time("rcp_passages tab of a secretary, 50 dossiers", 200, || {
        Ok(dossiers::tab(c, &secretary, Tab::RcpPassages, &PageRequest::first(50))?.items.len())
    })?;
    // Memberships are read by the scope on each call, not carried by the principal.
    let animateur = &doctors[boards[0].0[0]];
    let session = boards[0].1[0].clone();
    time("session run by its animateur", 200, || Ok(sessions::run(c, animateur, &session)?.dossiers.len()))?;
    time("agenda of a physician, next 60 days", 200, || {
        Ok(sessions::agenda(c, animateur, from, to, &PageRequest::first(50))?.items.iter().map(|e| e.dossiers.len()).sum())
    })?;
    Ok(())
}
