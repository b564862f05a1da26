//! A generated region for benchmarks: 15 centers, 150 RCPs, 2,000 physicians, 400 secretaries
//! (each of 5 physicians, some through groups), weekly sessions, patients and dossiers requested
//! with a skew (a few physicians request most), about 20 dossiers a session. Besides them a heavy
//! secretary (issue 30): 5 physicians, one the animateur of a weekly board, so that her default
//! agenda holds about 35 sessions and 110 dossiers; and three sessions of that board far ahead
//! holding 10, 50 and 115 dossiers, the run's pages for the cost per row. Deterministic for a
//! seed; written set-based (multi-row inserts) in one transaction.

use chrono::{Duration, NaiveDate};
use concerto_domain::text::search_key;
use diesel::prelude::*;

use crate::schema::{
    accounts, cancer_centers, dossier_fiches, dossier_treatments, dossiers, patients, physician_secretary_groups, professionals, profiles,
    rcp_members, rcp_sessions, rcps, report_transmission_recipients, report_transmissions, reports_to_send, secretary_affiliations,
    secretary_group_members, secretary_groups, session_quorum,
};
use crate::{DbConnection, Error, now};

/// Centers of the region.
pub const CENTERS: usize = 15;
/// RCPs per center.
pub const RCPS_PER_CENTER: usize = 10;
/// Physicians of the region.
pub const PHYSICIANS: usize = 2_000;
/// Secretaries of the region.
pub const SECRETARIES: usize = 400;
/// Dossiers in a session.
pub const DOSSIERS_PER_SESSION: usize = 20;
/// Weeks of sessions ahead of today.
const WEEKS_AHEAD: usize = 4;
/// The heavy secretary's center: not center 0, whose boards and secretary the other landmarks
/// are (and whose first board the bench's registrations add sessions to).
const HEAVY_CENTER: usize = 1;
/// The heavy secretary's username.
pub const HEAVY_SECRETARY: &str = "sech";
/// Dossiers of the heavy board's sessions far ahead (more than a year, outside any agenda's
/// period from today): the session run at three page sizes.
pub const ROW_COST_RUNS: [usize; 3] = [10, 50, 115];

/// What the generator made that a benchmark drives: ids of typical callers and resources.
#[derive(Debug, Clone, Default)]
pub struct Landmarks {
    /// Username of a secretary of exactly 5 physicians, all participants (not animateurs).
    pub secretary: String,
    /// Username of an animateur of `rcp`.
    pub animateur: String,
    /// Username of a physician who requests many dossiers (the head of the skew).
    pub busy_physician: String,
    /// The animateur's RCP.
    pub rcp: String,
    /// A session of `rcp` this week (its run).
    pub current_session: String,
    /// A planned session of `rcp` (for registrations).
    pub planned_session: String,
    /// A dossier of `current_session` requested by `busy_physician`.
    pub dossier: String,
    /// The busy physician's professional id.
    pub busy_physician_id: String,
    /// Dossiers written.
    pub dossiers: usize,
    /// Sessions written.
    pub sessions: usize,
    /// Username of the animateur among the heavy secretary's physicians ([`HEAVY_SECRETARY`]).
    pub heavy_animateur: String,
    /// The heavy animateur's board, on the heavy secretary's center.
    pub heavy_rcp: String,
    /// The heavy board's session this week (its run).
    pub heavy_session: String,
    /// The heavy board's sessions far ahead, with [`ROW_COST_RUNS`] dossiers each.
    pub row_cost_sessions: Vec<String>,
}

/// splitmix64: a tiny deterministic generator, enough for a benchmark's data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }

    /// A skewed pick in `0..n`: low indices far more often (the busy requesters).
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u * u) * n as f64) as usize % n.max(1)
    }

    fn id(&mut self) -> String {
        uuid::Uuid::from_u64_pair(self.next(), self.next()).to_string()
    }
}

/// Runs one insert on whichever backend: multi-row `VALUES` exist on each backend's own
/// connection, not through the `MultiConnection`.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            DbConnection::Postgresql(c) => diesel::insert_into($table).values($rows).execute(c),
            DbConnection::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    };
}

/// A board's organ, its tumour sites with their weights, its usual treatments.
type BoardKind = (&'static str, &'static [(&'static str, usize)], &'static [&'static str]);

/// The boards' organs, in turn: the RCP's organ (`frcp-organ`) and its dossiers' tumour sites
/// (CIM-10, with their weights out of 100) and usual treatments (`frcp-treatment`).
const BOARD_KINDS: [BoardKind; 4] = [
    ("DIG-COLON", &[("C18.7", 45), ("C20", 25), ("C25.0", 15), ("C16.9", 10), ("C22.0", 5)], &["387713003", "C15632", "C93352"]),
    ("THO-POUMON", &[("C34.1", 85), ("C45.0", 10), ("C38.4", 5)], &["387713003", "C15632", "C15313", "C15262"]),
    ("SEIN-SEIN", &[("C50.4", 95), ("D05.1", 5)], &["387713003", "C15313", "C547", "C15632"]),
    ("URO-PROST", &[("C61", 60), ("C67.9", 25), ("C64", 15)], &["387713003", "C15313", "C547", "MED-226"]),
];

/// A generated dossier's fiche: its tumour site drawn from its board's distribution, one or two
/// of the board's treatments, and, once validated, conform to its guideline nine times in ten.
fn generated_fiche(rng: &mut Rng, kind: usize, validated: bool) -> concerto_domain::fiche::Fiche {
    use concerto_domain::fiche::{Diagnosis, Fiche, Framework, Guideline, Proposal, Treatment};
    let (_, sites, treatments) = BOARD_KINDS[kind % BOARD_KINDS.len()];
    let mut draw = rng.below(100);
    let mut site = sites[0].0;
    for (code, weight) in sites {
        if draw < *weight {
            site = code;
            break;
        }
        draw -= weight;
    }
    let first = rng.below(treatments.len());
    let mut codes = vec![treatments[first]];
    if rng.below(3) == 0 {
        codes.push(treatments[(first + 1) % treatments.len()]);
    }
    let conform = rng.below(10) != 0;
    Fiche {
        diagnosis: Some(Diagnosis { tumour_site: Some(site.to_owned()), ..Diagnosis::default() }),
        proposal: validated.then(|| Proposal {
            treatments: codes
                .iter()
                .enumerate()
                .map(|(i, c)| Treatment { code: (*c).to_owned(), order: u8::try_from(i + 1).unwrap_or(1), intention: None, detail: None })
                .collect(),
            ..Proposal::default()
        }),
        framework: validated.then(|| Framework {
            guideline: Some(Guideline { name: "INCa".to_owned(), version: None, date: None }),
            conform: Some(conform),
            nonconformity_reason: (!conform).then(|| "Choix du patient".to_owned()),
            ..Framework::default()
        }),
        ..Fiche::default()
    }
}

/// Rows per multi-row insert: under SQLite's 32,766 bound parameters with 13 columns.
const BATCH: usize = 2_000;

/// Fills an empty store with a region of about `dossiers` dossiers; every account's password
/// hash is `password_hash` (hashed once by the caller: argon2 is slow). `progress` is called
/// with the dossiers written so far.
pub fn generate(
    conn: &mut DbConnection,
    dossier_target: usize,
    seed: u64,
    password_hash: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Landmarks, Error> {
    if let DbConnection::Sqlite(c) = conn {
        // Random UUID keys land all over the indexes: with SQLite's default 2 MB page cache, the
        // inserts of a large region spend their time re-reading index pages.
        diesel::connection::SimpleConnection::batch_execute(c, "PRAGMA cache_size = -524288;")?;
    }
    let landmarks = conn.transaction(|c| generate_in(c, dossier_target, seed, password_hash, progress))?;
    // The activity counters, from what was written set-based.
    crate::activity_counters::rebuild(conn)?;
    Ok(landmarks)
}

fn generate_in(
    c: &mut DbConnection,
    dossier_target: usize,
    seed: u64,
    password_hash: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Landmarks, Error> {
    let mut rng = Rng(seed);
    let at = now();
    let today = at.date().and_hms_opt(14, 0, 0).unwrap_or(at);

    let centers: Vec<String> = (0..CENTERS).map(|_| rng.id()).collect();
    let rows: Vec<_> = centers
        .iter()
        .enumerate()
        .map(|(i, id)| {
            (
                cancer_centers::id.eq(id.clone()),
                cancer_centers::name.eq(format!("3C {i}")),
                cancer_centers::code.eq(format!("R{i}")),
                cancer_centers::created_at.eq(at),
            )
        })
        .collect();
    insert_rows!(c, cancer_centers::table, &rows)?;

    // Professionals: physicians then secretaries, each on one center (i % CENTERS).
    let physicians: Vec<String> = (0..PHYSICIANS).map(|_| rng.id()).collect();
    let secretaries: Vec<String> = (0..SECRETARIES).map(|_| rng.id()).collect();
    let people: Vec<(String, String, &str, usize)> = physicians
        .iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), format!("dr{i}"), "physician", i % CENTERS))
        .chain(secretaries.iter().enumerate().map(|(i, id)| (id.clone(), format!("sec{i}"), "secretary", i % CENTERS)))
        .collect();
    for chunk in people.chunks(BATCH) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(id, username, category, _)| {
                let family = format!("Nom{username}");
                let given = "Camille".to_owned();
                (
                    professionals::id.eq(id.clone()),
                    professionals::search_name.eq(search_key(&format!("{family} {given}"))),
                    professionals::search_name_given_first.eq(search_key(&format!("{given} {family}"))),
                    professionals::family_name.eq(family),
                    professionals::given_name.eq(given),
                    professionals::category.eq(*category),
                    professionals::created_at.eq(at),
                )
            })
            .collect();
        insert_rows!(c, professionals::table, &rows)?;
        let rows: Vec<_> = chunk
            .iter()
            .map(|(id, _, category, center)| {
                (
                    profiles::professional_id.eq(id.clone()),
                    profiles::cancer_center_id.eq(centers[*center].clone()),
                    profiles::kind.eq(*category),
                    profiles::granted_at.eq(at),
                )
            })
            .collect();
        insert_rows!(c, profiles::table, &rows)?;
        let rows: Vec<_> = chunk
            .iter()
            .map(|(id, username, _, _)| {
                (
                    accounts::id.eq(format!("acc-{id}")),
                    accounts::professional_id.eq(id.clone()),
                    accounts::username.eq(username.clone()),
                    accounts::password_hash.eq(password_hash),
                    accounts::is_platform_admin.eq(false),
                    accounts::active.eq(true),
                    accounts::created_at.eq(at),
                )
            })
            .collect();
        insert_rows!(c, accounts::table, &rows)?;
    }

    // Physicians of a center, by center.
    let by_center: Vec<Vec<usize>> = (0..CENTERS).map(|k| (0..PHYSICIANS).filter(|i| i % CENTERS == k).collect()).collect();

    // RCPs: 10 per center, each with 2 animateurs and 12 participants among the center's
    // physicians (slices that overlap, so a physician sits on one or two boards).
    let mut rcp_ids = Vec::new();
    let mut rcp_members_of: Vec<Vec<usize>> = Vec::new();
    let (mut rcp_rows, mut member_rows) = (Vec::new(), Vec::new());
    for (k, center) in centers.iter().enumerate() {
        let docs = &by_center[k];
        for r in 0..RCPS_PER_CENTER {
            let id = rng.id();
            rcp_rows.push((
                rcps::id.eq(id.clone()),
                rcps::cancer_center_id.eq(center.clone()),
                rcps::name.eq(format!("RCP {k}-{r}")),
                rcps::specialty.eq("digestive"),
                rcps::nature.eq(Some("ORG-117")),
                rcps::organ.eq(Some(BOARD_KINDS[r % BOARD_KINDS.len()].0)),
                rcps::created_at.eq(at),
            ));
            let members: Vec<usize> = (0..14).map(|j| docs[(r * 13 + j) % docs.len()]).collect();
            for (j, m) in members.iter().enumerate() {
                member_rows.push((
                    rcp_members::rcp_id.eq(id.clone()),
                    rcp_members::professional_id.eq(physicians[*m].clone()),
                    rcp_members::role.eq(if j < 2 { "animateur" } else { "participant" }),
                    rcp_members::added_at.eq(at),
                ));
            }
            rcp_ids.push(id);
            rcp_members_of.push(members);
        }
    }
    // The heavy secretary's physicians: the first animateur of her center's first board, and the
    // busiest participant (the third of a slice, the skew's head after the animateurs) of boards
    // 1, 3, 5 and 7, each also a participant of the board after his: 9 boards, 4 sessions each
    // ahead, all the animateur's board's dossiers and her participants' own requests.
    let heavy_board = HEAVY_CENTER * RCPS_PER_CENTER;
    let mut heavy_physicians = vec![rcp_members_of[heavy_board][0]];
    for b in [1, 3, 5, 7] {
        let doc = rcp_members_of[heavy_board + b][2];
        let next = heavy_board + b + 1;
        member_rows.push((
            rcp_members::rcp_id.eq(rcp_ids[next].clone()),
            rcp_members::professional_id.eq(physicians[doc].clone()),
            rcp_members::role.eq("participant"),
            rcp_members::added_at.eq(at),
        ));
        rcp_members_of[next].push(doc);
        heavy_physicians.push(doc);
    }
    insert_rows!(c, rcps::table, &rcp_rows)?;
    for chunk in member_rows.chunks(BATCH) {
        insert_rows!(c, rcp_members::table, chunk)?;
    }

    // Secretaries: 5 physicians each on her center, participants of the center's boards; one
    // secretary in four also belongs to her center's group, which holds 3 more physicians.
    let mut affiliations = std::collections::BTreeSet::new();
    let mut group_rows = Vec::new();
    let mut group_member_rows = Vec::new();
    let mut group_physician_rows = Vec::new();
    let mut group_of_center = Vec::new();
    for (k, center) in centers.iter().enumerate() {
        let group = rng.id();
        group_rows.push((
            secretary_groups::id.eq(group.clone()),
            secretary_groups::cancer_center_id.eq(center.clone()),
            secretary_groups::name.eq(format!("Secrétariat {k}")),
            secretary_groups::search_name.eq(format!("secretariat {k}")),
            secretary_groups::created_at.eq(at),
        ));
        for j in 0..3 {
            let doc = by_center[k][by_center[k].len() - 1 - j];
            group_physician_rows.push((
                physician_secretary_groups::physician_id.eq(physicians[doc].clone()),
                physician_secretary_groups::group_id.eq(group.clone()),
                physician_secretary_groups::added_at.eq(at),
            ));
        }
        group_of_center.push(group);
    }
    for (s, sec) in secretaries.iter().enumerate() {
        let k = s % CENTERS;
        let docs = &by_center[k];
        // Participants: skip each board's two animateurs (the first two of each slice of 13).
        let nth = s / CENTERS;
        let picks: Vec<usize> = (0..5).map(|j| docs[(nth * 13 + 2 + j * 2) % docs.len()]).collect();
        affiliations.extend(picks.into_iter().map(|doc| (doc, s)));
        if s % 4 == 3 {
            group_member_rows.push((
                secretary_group_members::group_id.eq(group_of_center[k].clone()),
                secretary_group_members::secretary_id.eq(sec.clone()),
                secretary_group_members::added_at.eq(at),
            ));
        }
    }
    // The heavy secretary's ids come from a generator of their own, so that every other row of
    // a seed's region is what it was before her.
    let mut side = Rng(seed ^ 0x4845_4156_5953_4543);
    let heavy_secretary = side.id();
    insert_rows!(
        c,
        professionals::table,
        &vec![(
            professionals::id.eq(heavy_secretary.clone()),
            professionals::search_name.eq(search_key("Nomsech Camille")),
            professionals::search_name_given_first.eq(search_key("Camille Nomsech")),
            professionals::family_name.eq("Nomsech"),
            professionals::given_name.eq("Camille"),
            professionals::category.eq("secretary"),
            professionals::created_at.eq(at),
        )]
    )?;
    insert_rows!(
        c,
        profiles::table,
        &vec![(
            profiles::professional_id.eq(heavy_secretary.clone()),
            profiles::cancer_center_id.eq(centers[HEAVY_CENTER].clone()),
            profiles::kind.eq("secretary"),
            profiles::granted_at.eq(at),
        )]
    )?;
    insert_rows!(
        c,
        accounts::table,
        &vec![(
            accounts::id.eq(format!("acc-{heavy_secretary}")),
            accounts::professional_id.eq(heavy_secretary.clone()),
            accounts::username.eq(HEAVY_SECRETARY),
            accounts::password_hash.eq(password_hash),
            accounts::is_platform_admin.eq(false),
            accounts::active.eq(true),
            accounts::created_at.eq(at),
        )]
    )?;
    let affiliation_rows: Vec<_> = affiliations
        .into_iter()
        .map(|(doc, s)| (physicians[doc].clone(), secretaries[s].clone()))
        .chain(heavy_physicians.iter().map(|doc| (physicians[*doc].clone(), heavy_secretary.clone())))
        .map(|(doc, sec)| {
            (
                secretary_affiliations::physician_id.eq(doc),
                secretary_affiliations::secretary_id.eq(sec),
                secretary_affiliations::added_at.eq(at),
            )
        })
        .collect();
    insert_rows!(c, secretary_groups::table, &group_rows)?;
    insert_rows!(c, physician_secretary_groups::table, &group_physician_rows)?;
    insert_rows!(c, secretary_group_members::table, &group_member_rows)?;
    for chunk in affiliation_rows.chunks(BATCH) {
        insert_rows!(c, secretary_affiliations::table, chunk)?;
    }
    crate::delegation_events::record_links_without_history(c, "generator")?;

    // Sessions: weekly per RCP, as many weeks back as the dossiers need, 4 ahead.
    let per_week = rcp_ids.len() * DOSSIERS_PER_SESSION;
    let weeks = dossier_target.div_ceil(per_week).max(WEEKS_AHEAD + 1);
    let first_week = today - Duration::weeks(i64::try_from(weeks - WEEKS_AHEAD).unwrap_or(0));
    let mut landmarks = Landmarks::default();
    let (rcp0, members0) = (&rcp_ids[0], &rcp_members_of[0]);
    landmarks.rcp = rcp0.clone();
    landmarks.animateur = format!("dr{}", members0[0]);
    landmarks.busy_physician = format!("dr{}", members0[2]);
    landmarks.busy_physician_id = physicians[members0[2]].clone();
    landmarks.secretary = "sec0".to_owned();
    landmarks.heavy_rcp = rcp_ids[heavy_board].clone();
    landmarks.heavy_animateur = format!("dr{}", heavy_physicians[0]);
    // The last four weeks' reports wait to be sent (the secretaries' worklist); older ones were
    // sent to their requester one to three days after the board.
    let backlog = today - Duration::weeks(4);
    let mut written = 0;
    let mut patient_no = 0usize;
    // The current week first, then outwards: the sessions around today are full whatever the
    // size asked, and the history holds what remains.
    let current = weeks - WEEKS_AHEAD;
    let mut order: Vec<usize> = (0..weeks).collect();
    order.sort_by_key(|w| (w.abs_diff(current), *w));
    for week in order {
        let mut session_rows = Vec::new();
        let mut patient_rows = Vec::new();
        let mut dossier_rows = Vec::new();
        let mut quorum_rows = Vec::new();
        let mut transmission_rows = Vec::new();
        let mut recipient_rows = Vec::new();
        let mut fiche_rows = Vec::new();
        let mut treatment_rows = Vec::new();
        for (r, rcp) in rcp_ids.iter().enumerate() {
            let starts_at =
                first_week + Duration::weeks(i64::try_from(week).unwrap_or(0)) + Duration::hours(i64::try_from(r % 8).unwrap_or(0));
            let future = starts_at > today;
            let session = rng.id();
            session_rows.push((
                rcp_sessions::id.eq(session.clone()),
                rcp_sessions::rcp_id.eq(rcp.clone()),
                rcp_sessions::starts_at.eq(starts_at),
                rcp_sessions::ends_at.eq(Some(starts_at + Duration::hours(2))),
                rcp_sessions::location.eq(Some("Salle 1")),
                rcp_sessions::status.eq(if future { "planned" } else { "closed" }),
                rcp_sessions::created_at.eq(at),
            ));
            // Two boards in three were quorate.
            let quorate = !future && (week + r) % 3 != 0;
            if quorate {
                quorum_rows.push((session_quorum::session_id.eq(session.clone()), session_quorum::reached_at.eq(starts_at)));
            }
            if r == 0 && week == current {
                landmarks.current_session = session.clone();
            }
            if r == 0 && week == weeks - 1 {
                landmarks.planned_session = session.clone();
            }
            if r == heavy_board && week == current {
                landmarks.heavy_session = session.clone();
            }
            for n in 0..DOSSIERS_PER_SESSION {
                if written >= dossier_target {
                    break;
                }
                let members = &rcp_members_of[r];
                let requester = members[rng.skewed(members.len())];
                let patient = rng.id();
                let created = starts_at - Duration::days(7) + Duration::microseconds(i64::try_from(n).unwrap_or(0));
                patient_no += 1;
                let family = format!("Patient{patient_no}");
                let birth = NaiveDate::from_ymd_opt(
                    1940 + i32::try_from(rng.below(60)).unwrap_or(0),
                    1 + u32::try_from(rng.below(12)).unwrap_or(0),
                    1 + u32::try_from(rng.below(28)).unwrap_or(0),
                )
                .unwrap_or_default();
                patient_rows.push((
                    patients::id.eq(patient.clone()),
                    patients::search_family.eq(search_key(&family)),
                    patients::family_name.eq(family),
                    patients::given_name.eq("Jeanne"),
                    patients::search_given.eq("jeanne"),
                    patients::birth_date.eq(birth),
                    patients::sex.eq("female"),
                    patients::treating_physician_id.eq(Some(physicians[requester].clone())),
                    patients::created_by.eq(physicians[requester].clone()),
                    patients::created_at.eq(created),
                    patients::version.eq(1),
                ));
                let id = rng.id();
                // A dossier of the current session, the busy physician's when he has one there.
                if landmarks.current_session == session
                    && (landmarks.dossier.is_empty() || physicians[requester] == landmarks.busy_physician_id)
                {
                    landmarks.dossier = id.clone();
                }
                // Past boards validated their dossiers an hour into the session.
                let validated = (!future).then(|| starts_at + Duration::hours(1) + Duration::microseconds(i64::try_from(n).unwrap_or(0)));
                let first_sent =
                    validated.filter(|v| *v < backlog).map(|v| v + Duration::hours(i64::try_from(24 + rng.below(48)).unwrap_or(24)));
                if let Some(sent_at) = first_sent {
                    let t = rng.id();
                    transmission_rows.push((
                        report_transmissions::id.eq(t.clone()),
                        report_transmissions::dossier_id.eq(id.clone()),
                        report_transmissions::channel.eq("mssante"),
                        report_transmissions::sent_by.eq(physicians[requester].clone()),
                        report_transmissions::sent_at.eq(sent_at),
                    ));
                    recipient_rows.push((
                        report_transmission_recipients::transmission_id.eq(t),
                        report_transmission_recipients::recipient_id.eq(physicians[requester].clone()),
                    ));
                }
                let fiche = generated_fiche(&mut rng, r % RCPS_PER_CENTER, !future);
                for code in fiche.treatment_types() {
                    treatment_rows.push((dossier_treatments::dossier_id.eq(id.clone()), dossier_treatments::code.eq(code.to_owned())));
                }
                fiche_rows.push((
                    dossier_fiches::dossier_id.eq(id.clone()),
                    dossier_fiches::fiche.eq(serde_json::to_string(&fiche).map_err(|e| Error::Stored(e.to_string()))?),
                    dossier_fiches::tumour_site.eq(fiche.tumour_site_category()),
                    dossier_fiches::conform.eq(fiche.conform()),
                    dossier_fiches::complete.eq(concerto_domain::fiche::missing_for_validation(&fiche).is_empty()),
                    dossier_fiches::quorum.eq(match (future, quorate) {
                        (true, _) => "unknown",
                        (false, true) => "reached",
                        (false, false) => "not_reached",
                    }),
                    dossier_fiches::updated_at.eq(created),
                ));
                dossier_rows.push((
                    dossiers::id.eq(id),
                    dossiers::session_id.eq(session.clone()),
                    dossiers::rcp_id.eq(rcp.clone()),
                    dossiers::patient_id.eq(patient),
                    dossiers::requester_id.eq(physicians[requester].clone()),
                    dossiers::status.eq(if future { "registered" } else { "validated" }),
                    dossiers::question.eq(Some("Quelle stratégie thérapeutique ?")),
                    dossiers::version.eq(1),
                    dossiers::registered_by.eq(physicians[requester].clone()),
                    dossiers::created_at.eq(created),
                    dossiers::updated_at.eq(created),
                    dossiers::validated_at.eq(validated),
                    dossiers::first_sent_at.eq(first_sent),
                ));
                written += 1;
            }
        }
        insert_rows!(c, rcp_sessions::table, &session_rows)?;
        for chunk in patient_rows.chunks(BATCH) {
            insert_rows!(c, patients::table, chunk)?;
        }
        for chunk in dossier_rows.chunks(BATCH) {
            insert_rows!(c, dossiers::table, chunk)?;
        }
        for chunk in fiche_rows.chunks(BATCH) {
            insert_rows!(c, dossier_fiches::table, chunk)?;
        }
        for chunk in treatment_rows.chunks(BATCH) {
            insert_rows!(c, dossier_treatments::table, chunk)?;
        }
        insert_rows!(c, session_quorum::table, &quorum_rows)?;
        for chunk in transmission_rows.chunks(BATCH) {
            insert_rows!(c, report_transmissions::table, chunk)?;
        }
        for chunk in recipient_rows.chunks(BATCH) {
            insert_rows!(c, report_transmission_recipients::table, chunk)?;
        }
        landmarks.sessions += session_rows.len();
        progress(written, dossier_target);
    }
    row_cost_sessions(c, &mut side, &mut landmarks, &physicians[heavy_physicians[0]], first_week, today)?;
    landmarks.dossiers += written;
    diesel::insert_into(reports_to_send::table)
        .values(dossiers::table.filter(dossiers::status.eq("validated")).filter(dossiers::validated_at.ge(backlog)).select((
            dossiers::id,
            dossiers::requester_id,
            dossiers::validated_at.assume_not_null(),
        )))
        .into_columns((reports_to_send::dossier_id, reports_to_send::requester_id, reports_to_send::validated_at))
        .execute(c)?;
    Ok(landmarks)
}

/// The heavy board's sessions more than a year ahead with [`ROW_COST_RUNS`] dossiers each,
/// requested by its animateur and registered before the region's first week (so that they are
/// at the end of every tab and in no agenda of the coming year).
fn row_cost_sessions(
    c: &mut DbConnection,
    rng: &mut Rng,
    landmarks: &mut Landmarks,
    requester: &str,
    first_week: chrono::NaiveDateTime,
    today: chrono::NaiveDateTime,
) -> Result<(), Error> {
    let (mut session_rows, mut patient_rows, mut dossier_rows, mut fiche_rows) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut patient_no = 0usize;
    for (i, size) in ROW_COST_RUNS.iter().enumerate() {
        let starts_at = today + Duration::days(400) + Duration::weeks(i64::try_from(i).unwrap_or(0));
        let session = rng.id();
        session_rows.push((
            rcp_sessions::id.eq(session.clone()),
            rcp_sessions::rcp_id.eq(landmarks.heavy_rcp.clone()),
            rcp_sessions::starts_at.eq(starts_at),
            rcp_sessions::ends_at.eq(Some(starts_at + Duration::hours(2))),
            rcp_sessions::location.eq(Some("Salle 1")),
            rcp_sessions::status.eq("planned"),
            rcp_sessions::created_at.eq(first_week),
        ));
        for n in 0..*size {
            patient_no += 1;
            let (patient, id) = (rng.id(), rng.id());
            let created = first_week - Duration::days(7) + Duration::microseconds(i64::try_from(patient_no).unwrap_or(0));
            let family = format!("Rowcost{patient_no}");
            let birth = NaiveDate::from_ymd_opt(1950 + i32::try_from(n % 40).unwrap_or(0), 1 + u32::try_from(n % 12).unwrap_or(0), 1)
                .unwrap_or_default();
            patient_rows.push((
                patients::id.eq(patient.clone()),
                patients::search_family.eq(search_key(&family)),
                patients::family_name.eq(family),
                patients::given_name.eq("Jeanne"),
                patients::search_given.eq("jeanne"),
                patients::birth_date.eq(birth),
                patients::sex.eq("female"),
                patients::treating_physician_id.eq(Some(requester.to_owned())),
                patients::created_by.eq(requester.to_owned()),
                patients::created_at.eq(created),
                patients::version.eq(1),
            ));
            let fiche = generated_fiche(rng, 0, false);
            fiche_rows.push((
                dossier_fiches::dossier_id.eq(id.clone()),
                dossier_fiches::fiche.eq(serde_json::to_string(&fiche).map_err(|e| Error::Stored(e.to_string()))?),
                dossier_fiches::tumour_site.eq(fiche.tumour_site_category()),
                dossier_fiches::conform.eq(fiche.conform()),
                dossier_fiches::complete.eq(concerto_domain::fiche::missing_for_validation(&fiche).is_empty()),
                dossier_fiches::quorum.eq("unknown"),
                dossier_fiches::updated_at.eq(created),
            ));
            dossier_rows.push((
                dossiers::id.eq(id),
                dossiers::session_id.eq(session.clone()),
                dossiers::rcp_id.eq(landmarks.heavy_rcp.clone()),
                dossiers::patient_id.eq(patient),
                dossiers::requester_id.eq(requester.to_owned()),
                dossiers::status.eq("registered"),
                dossiers::question.eq(Some("Quelle stratégie thérapeutique ?")),
                dossiers::version.eq(1),
                dossiers::registered_by.eq(requester.to_owned()),
                dossiers::created_at.eq(created),
                dossiers::updated_at.eq(created),
                dossiers::validated_at.eq(None::<chrono::NaiveDateTime>),
                dossiers::first_sent_at.eq(None::<chrono::NaiveDateTime>),
            ));
        }
        landmarks.row_cost_sessions.push(session);
    }
    insert_rows!(c, rcp_sessions::table, &session_rows)?;
    insert_rows!(c, patients::table, &patient_rows)?;
    insert_rows!(c, dossiers::table, &dossier_rows)?;
    insert_rows!(c, dossier_fiches::table, &fiche_rows)?;
    landmarks.sessions += session_rows.len();
    landmarks.dossiers += dossier_rows.len();
    Ok(())
}
