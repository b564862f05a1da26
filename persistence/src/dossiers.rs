//! Dossiers: a patient's passage in one RCP session (the "fiche RCP").

use concerto_domain::ErrorCode;
use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use concerto_domain::DomainError;
use concerto_domain::cda;
use concerto_domain::delegation::{self, DossierRelations, Grant};
use concerto_domain::dossier::{self, DossierStatus, ReportChannel};
use concerto_domain::fiche::{self as fiche_rules, Fiche, FichePatch, QuorumStatus};
use concerto_domain::principal::Principal;
use concerto_domain::professional::Category;
use concerto_domain::rcp::{MemberRole, RcpRoles};
use diesel::prelude::*;

use crate::activity_counters::Tracker;
use crate::attendance::{self, Attendance};
use crate::audit::{self, Trail};
use crate::fiche::{self, StoredFiche};
use crate::page::{cursor_time, parse_cursor_time};
use crate::schema::{
    cancer_centers, dossier_fiches, dossiers, patient_correspondents, patients, professionals, rcps, report_transmission_recipients,
    report_transmissions, reports, session_attendance,
};
use crate::scope::ClinicalScope;
use crate::{DbConnection, Error, Page, PageRequest, db, new_id, now, rcps as boards, sessions};

// The patients a physician treats, as a subquery beside the patients joined to the dossiers.
diesel::alias!(patients as treated: TreatedPatients);

/// A dossier as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Dossier {
    /// Opaque id.
    pub id: String,
    /// The session it is registered in.
    pub session_id: String,
    /// The session's RCP.
    pub rcp_id: String,
    /// The patient.
    pub patient_id: String,
    /// The requesting physician ("médecin demandeur").
    pub requester_id: String,
    /// Where it stands.
    #[diesel(deserialize_as = String)]
    pub status: DossierStatus,
    /// Medical content: summary of the case.
    pub clinical_summary: Option<String>,
    /// Medical content: the question put to the board.
    pub question: Option<String>,
    /// Medical content: the board's therapeutic proposal.
    pub proposal: Option<String>,
    /// Optimistic-concurrency version, the ETag.
    pub version: i32,
    /// Who registered it (the requester or a secretary of his).
    pub registered_by: String,
    /// When it was registered.
    pub created_at: NaiveDateTime,
    /// Last change.
    pub updated_at: NaiveDateTime,
    /// Who validated it.
    pub validated_by: Option<String>,
    /// When it was validated.
    pub validated_at: Option<NaiveDateTime>,
    /// When its report was first sent.
    pub first_sent_at: Option<NaiveDateTime>,
}

/// What a list shows of a dossier: who, for whom, where it stands; read as [`SUMMARY_COLUMNS`].
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct DossierSummary {
    /// The dossier.
    pub id: String,
    /// Its session.
    pub session_id: String,
    /// Its RCP.
    pub rcp_id: String,
    /// The patient.
    pub patient_id: String,
    /// The patient's family name.
    pub patient_family_name: String,
    /// The patient's given name.
    pub patient_given_name: String,
    /// The patient's birth date.
    pub patient_birth_date: NaiveDate,
    /// The requesting physician.
    pub requester_id: String,
    /// Its status.
    #[diesel(deserialize_as = String)]
    pub status: DossierStatus,
}

pub(crate) const SUMMARY_COLUMNS: (
    dossiers::id,
    dossiers::session_id,
    dossiers::rcp_id,
    dossiers::patient_id,
    patients::family_name,
    patients::given_name,
    patients::birth_date,
    dossiers::requester_id,
    dossiers::status,
) = (
    dossiers::id,
    dossiers::session_id,
    dossiers::rcp_id,
    dossiers::patient_id,
    patients::family_name,
    patients::given_name,
    patients::birth_date,
    dossiers::requester_id,
    dossiers::status,
);

/// Locks a dossier's row until the transaction ends (a no-op update, which both stores
/// understand).
fn lock(conn: &mut DbConnection, id: &str) -> Result<(), Error> {
    diesel::update(dossiers::table.find(id)).set(dossiers::version.eq(dossiers::version)).execute(conn)?;
    Ok(())
}

/// Locks a dossier's patient, then the dossier: the lock order of the writes that maintain the
/// reports to send (`patients::lock`). A dossier's patient never changes, so reading it before
/// the lock is safe; an unknown dossier locks nothing and is answered 404 by what follows.
fn lock_with_patient(conn: &mut DbConnection, id: &str) -> Result<(), Error> {
    if let Some(patient_id) = dossiers::table.find(id).select(dossiers::patient_id).first::<String>(conn).optional()? {
        crate::patients::lock(conn, &patient_id)?;
        lock(conn, id)?;
    }
    Ok(())
}

/// The dossier with this id.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Dossier, Error> {
    dossiers::table.find(id).first(conn).optional()?.ok_or(Error::NotFound("dossier"))
}

/// The dossiers of these sessions (`(session id, rcp id)`) that the scope sees in the agenda,
/// filtered in SQL:
/// every dossier of the RCPs where the principal is a member or one of P(S) is animateur; in
/// the other RCPs it sees through P(S), the dossiers requested by a physician of P(S), member of
/// the RCP or not (`delegation::sees_dossier_in_agenda`).
pub fn visible_in_sessions(
    conn: &mut DbConnection,
    scope: &ClinicalScope,
    sessions: &[(String, String)],
) -> Result<Vec<DossierSummary>, Error> {
    // The sessions are sorted by what their RCP shows, so that both branches of the filter lead
    // with `session_id` (index `dossiers_session_names`): a filter on `rcp_id` would let the planner
    // walk every dossier of those RCPs, all sessions included, and grow with the store.
    let all_rcps = scope.all_dossier_rcps();
    let sessions_where =
        |shows: &dyn Fn(&String) -> bool| -> Vec<&String> { sessions.iter().filter(|(_, rcp)| shows(rcp)).map(|(id, _)| id).collect() };
    let whole = sessions_where(&|rcp| all_rcps.contains(rcp));
    let partial = sessions_where(&|rcp| !all_rcps.contains(rcp) && scope.delegated_rcps.contains(rcp));
    let delegated = |ids| dossiers::session_id.eq_any(ids).and(dossiers::requester_id.eq_any(&scope.physicians));
    // An empty branch is left out, not written `1=0`: beside it, SQLite stops using the index.
    let query = dossiers::table.inner_join(patients::table).into_boxed();
    let query = match (whole.is_empty(), partial.is_empty()) {
        (true, true) => return Ok(Vec::new()),
        (false, true) => query.filter(dossiers::session_id.eq_any(whole)),
        (true, false) => query.filter(delegated(partial)),
        (false, false) => query.filter(dossiers::session_id.eq_any(whole).or(delegated(partial))),
    };
    // By the dossier's copy of its patient's name, the order of the index
    // `dossiers_session_names`, which holds every dossier column read here: the patient's row is
    // the only other one read.
    let by_name = by_patient_name(conn);
    let rows = query.select(SUMMARY_COLUMNS).order((dossiers::session_id, by_name, dossiers::id)).load::<DossierSummary>(conn)?;
    Ok(rows)
}

/// The dossier's copy of its patient's search key (`patient_search_family`, kept by triggers,
/// outside `schema.rs`) in the byte order of `patients.search_family`, as the index
/// `dossiers_session_names` holds it (PostgreSQL's copy has the database's collation).
fn by_patient_name(conn: &DbConnection) -> diesel::expression::SqlLiteral<diesel::sql_types::Text> {
    diesel::dsl::sql(if db::is_sqlite(conn) { "dossiers.patient_search_family" } else { "dossiers.patient_search_family COLLATE \"C\"" })
}

/// Every dossier of a session (the session run), by patient name: the index
/// `dossiers_session_names` walked in its order, no patient joined.
pub fn of_session(conn: &mut DbConnection, session_id: &str) -> Result<Vec<Dossier>, Error> {
    let by_name = by_patient_name(conn);
    Ok(dossiers::table.filter(dossiers::session_id.eq(session_id)).order((by_name, dossiers::id)).load::<Dossier>(conn)?)
}

/// What `POST /sessions/{id}/dossiers` asks for.
#[derive(Debug, Clone)]
pub struct NewDossier {
    /// The patient to register.
    pub patient_id: String,
    /// The requesting physician.
    pub requester_id: String,
    /// Medical content, refused from whoever may not write it.
    pub clinical_summary: Option<String>,
    /// Medical content, refused from whoever may not write it.
    pub question: Option<String>,
}

/// What `PATCH /dossiers/{id}` changes: for each medical field, `None` leaves it, `Some(None)`
/// clears it, `Some(Some(text))` sets it.
#[derive(Debug, Clone, Default)]
pub struct DossierChanges {
    /// Summary of the case.
    pub clinical_summary: Option<Option<String>>,
    /// The question put to the board.
    pub question: Option<Option<String>>,
    /// The board's therapeutic proposal.
    pub proposal: Option<Option<String>>,
    /// Take the dossier out of its session.
    pub withdraw: bool,
    /// The parts of the fiche RCP to change.
    pub fiche: Option<FichePatch>,
}

impl DossierChanges {
    /// True when the medical content is touched (even to the same value: the attempt is the act).
    pub fn touches_medical_content(&self) -> bool {
        self.clinical_summary.is_some() || self.question.is_some() || self.proposal.is_some()
    }

    /// True when nothing would change (a fiche without any part changes nothing).
    pub fn is_empty(&self) -> bool {
        !self.touches_medical_content() && !self.withdraw && self.fiche.as_ref().is_none_or(FichePatch::is_empty)
    }
}

/// A dossier the caller may see, with what decided it.
struct Visible {
    dossier: Dossier,
    roles: RcpRoles,
    relations: DossierRelations,
    status: DossierStatus,
    fiche: StoredFiche,
}

/// The patient-side relations a dossier's visibility depends on, the treating physician being
/// already known (read with the dossier).
fn relations(conn: &mut DbConnection, d: &Dossier, treating_physician_id: Option<String>) -> Result<DossierRelations, Error> {
    let correspondent_ids = patient_correspondents::table
        .filter(patient_correspondents::patient_id.eq(&d.patient_id))
        .select(patient_correspondents::professional_id)
        .order(patient_correspondents::professional_id)
        .load::<String>(conn)?;
    Ok(DossierRelations { requester_id: d.requester_id.clone(), treating_physician_id, correspondent_ids })
}

/// Loads a dossier and decides, with `delegation::sees_dossier`, whether the caller may know it
/// exists: an invisible dossier is `NotFound`, never forbidden. Fills the trail as it learns.
/// Three round trips: the dossier with its patient's treating physician and its fiche, the RCP's
/// roles, the patient's correspondents.
fn visible(conn: &mut DbConnection, p: &Principal, id: &str, trail: &mut Trail) -> Result<Visible, Error> {
    trail.resource_id = Some(id.to_owned());
    let (dossier, treating, fiche_row) = dossiers::table
        .inner_join(patients::table)
        .left_join(dossier_fiches::table)
        .filter(dossiers::id.eq(id))
        .select((dossiers::all_columns, patients::treating_physician_id, (dossier_fiches::fiche, dossier_fiches::quorum).nullable()))
        .first::<(Dossier, Option<String>, Option<(String, String)>)>(conn)
        .optional()?
        .ok_or(Error::NotFound("dossier"))?;
    trail.patient_id = Some(dossier.patient_id.clone());
    let roles = boards::roles(conn, &dossier.rcp_id)?;
    trail.cancer_center_id = Some(roles.cancer_center_id.clone());
    let relations = relations(conn, &dossier, treating)?;
    trail.grant = delegation::sees_dossier(p, &roles, &relations).ok_or(Error::NotFound("dossier"))?;
    let status = dossier.status;
    let fiche = fiche::from_row(id, fiche_row)?;
    Ok(Visible { dossier, roles, relations, status, fiche })
}

/// `POST /sessions/{id}/dossiers`: registers a patient in a planned session. The rights come
/// from `delegation::may_register_dossier` (checked before the session's status); medical content
/// sent with it needs `delegation::may_write_medical` as well, so a secretary registers but never
/// writes the summary or the question.
pub fn register(conn: &mut DbConnection, p: &Principal, session_id: &str, new: &NewDossier) -> Result<Dossier, Error> {
    audit::audited(conn, p, "dossier.create", "dossier", |c, trail| {
        // The session's lock (taken by the counters' tracker): a registration never lands in a
        // session that started meanwhile, and the activity counters count it once.
        let id = new_id();
        let counters = Tracker::dossier_keys(c, Some(session_id), &id)?;
        let session = sessions::find(c, session_id)?;
        let roles = boards::roles(c, &session.rcp_id)?;
        trail.cancer_center_id = Some(roles.cancer_center_id.clone());
        let status = session.status;
        trail.grant = delegation::may_register_dossier(p, &roles, &new.requester_id, status)?;
        // The patient's lock: a change of his family name racing this registration is copied
        // into the new dossier (`patient_search_family`) whichever commits first.
        if !crate::patients::lock(c, &new.patient_id)? {
            return Err(Error::NotFound("patient"));
        }
        trail.patient_id = Some(new.patient_id.clone());
        if new.clinical_summary.is_some() || new.question.is_some() {
            delegation::may_write_medical(p, &roles, &new.requester_id, status)?;
        }
        let live = dossiers::table
            .filter(dossiers::session_id.eq(session_id))
            .filter(dossiers::patient_id.eq(&new.patient_id))
            .filter(dossiers::status.ne(DossierStatus::Withdrawn.as_str()))
            .select(dossiers::id)
            .first::<String>(c)
            .optional()?;
        if live.is_some() {
            return Err(Error::conflict(ErrorCode::AlreadyRegistered, "this patient is already registered in this session"));
        }
        let at = now();
        let d = Dossier {
            id,
            session_id: session.id,
            rcp_id: session.rcp_id,
            patient_id: new.patient_id.clone(),
            requester_id: new.requester_id.clone(),
            status: DossierStatus::Registered,
            clinical_summary: new.clinical_summary.clone(),
            question: new.question.clone(),
            proposal: None,
            version: 1,
            registered_by: p.professional_id.clone(),
            created_at: at,
            updated_at: at,
            validated_by: None,
            validated_at: None,
            first_sent_at: None,
        };
        trail.resource_id = Some(d.id.clone());
        diesel::insert_into(dossiers::table)
            .values((
                dossiers::id.eq(&d.id),
                dossiers::session_id.eq(&d.session_id),
                dossiers::rcp_id.eq(&d.rcp_id),
                dossiers::patient_id.eq(&d.patient_id),
                dossiers::requester_id.eq(&d.requester_id),
                dossiers::status.eq(d.status.as_str()),
                dossiers::clinical_summary.eq(&d.clinical_summary),
                dossiers::question.eq(&d.question),
                dossiers::version.eq(d.version),
                dossiers::registered_by.eq(&d.registered_by),
                dossiers::created_at.eq(d.created_at),
                dossiers::updated_at.eq(d.updated_at),
            ))
            .execute(c)?;
        counters.finish(c)?;
        Ok(d)
    })
}

/// `GET /dossiers/{id}`: the dossier and its fiche, when `delegation::sees_dossier` grants it
/// (else not found). Whoever reads the dossier reads its fiche, as its free text.
pub fn read(conn: &mut DbConnection, p: &Principal, id: &str) -> Result<(Dossier, StoredFiche), Error> {
    audit::audited_read(conn, p, "dossier.read", "dossier", |c, trail| {
        let v = visible(c, p, id, trail)?;
        Ok((v.dossier, v.fiche))
    })
}

/// `PATCH /dossiers/{id}`: medical content through `delegation::may_write_medical`, withdrawal
/// through `delegation::may_register_dossier` (whoever may register for this requester, while
/// the session is still planned), the fiche through `delegation::may_write_fiche`; then the
/// version the caller read, then the dossier's state, then the fiche's rules and codes; the fiche
/// is written after the dossier's conditional update, under its row lock.
pub fn update(
    conn: &mut DbConnection,
    p: &Principal,
    id: &str,
    expected_version: Option<i32>,
    changes: &DossierChanges,
) -> Result<(Dossier, StoredFiche), Error> {
    audit::audited(conn, p, "dossier.update", "dossier", |c, trail| {
        // A withdrawal, a proposal, a fiche's conformity change the dossier's figures; a fiche's
        // site or treatment types its keys too, which takes the session's lock first.
        let counters = if changes.fiche.is_some() { Tracker::dossier_keys(c, None, id)? } else { Tracker::dossier_figures(c, id)? };
        let Visible { mut dossier, roles, status, fiche: mut stored, .. } = visible(c, p, id, trail)?;
        let session_status = sessions::find(c, &dossier.session_id)?.status;
        let mut grants = Vec::new();
        if changes.touches_medical_content() {
            grants.push(delegation::may_write_medical(p, &roles, &dossier.requester_id, session_status)?);
        }
        if changes.withdraw {
            grants.push(delegation::may_register_dossier(p, &roles, &dossier.requester_id, session_status)?);
        }
        if let Some(patch) = &changes.fiche {
            let parts = delegation::FicheParts { referral: patch.touches_referral(), medical: patch.touches_medical_content() };
            grants.extend(delegation::may_write_fiche(p, &roles, &dossier.requester_id, session_status, parts)?);
        }
        if let Some(grant) = merge(grants) {
            trail.grant = grant;
        }
        // Checked after the rights, so that a refused caller learns nothing of the dossier.
        let expected_version = expected_version.ok_or(Error::VersionRequired)?;
        if dossier.version != expected_version {
            return Err(Error::Stale { current: dossier.version });
        }
        if let Some(v) = &changes.clinical_summary {
            dossier.clinical_summary = v.clone();
        }
        if let Some(v) = &changes.question {
            dossier.question = v.clone();
        }
        if let Some(v) = &changes.proposal {
            dossier.proposal = v.clone();
        }
        let next = dossier::edit_transition(status, dossier.proposal.is_some(), changes.withdraw)?;
        let new_fiche = changes.fiche.as_ref().map(|patch| checked_fiche(c, patch, &stored.fiche)).transpose()?;
        dossier.status = next;
        dossier.version += 1;
        dossier.updated_at = now();
        // The version in the filter makes a concurrent writer that slipped in lose, not overwrite.
        let changed = diesel::update(dossiers::table.find(id).filter(dossiers::version.eq(expected_version)))
            .set((
                dossiers::clinical_summary.eq(&dossier.clinical_summary),
                dossiers::question.eq(&dossier.question),
                dossiers::proposal.eq(&dossier.proposal),
                dossiers::status.eq(dossier.status.as_str()),
                dossiers::version.eq(dossier.version),
                dossiers::updated_at.eq(dossier.updated_at),
            ))
            .execute(c)?;
        if changed == 0 {
            return Err(Error::Stale { current: find(c, id)?.version });
        }
        if let Some(new_fiche) = new_fiche {
            fiche::replace(c, id, &stored, &new_fiche, dossier.updated_at)?;
            stored = StoredFiche { fiche: new_fiche, quorum: Some(stored.quorum.unwrap_or(QuorumStatus::Unknown)) };
        }
        counters.finish(c)?;
        Ok((dossier, stored))
    })
}

/// The fiche `patch` makes of `current`, once its rules hold (`fiche::check`) and each code of
/// the parts sent is in its loaded list (`unknown_code`); the parts left are not judged again,
/// so a code retired since it was written does not block a change elsewhere.
fn checked_fiche(conn: &mut DbConnection, patch: &FichePatch, current: &Fiche) -> Result<Fiche, Error> {
    let next = patch.apply(current);
    fiche_rules::check(&next)?;
    let sent = patch.apply(&Fiche::default());
    let today = now().date();
    crate::terminology::check_codes(conn, &fiche_rules::coded_fields(&sent), today)?;
    Ok(next)
}

/// The grant of an access that needed several rules: own when any was own.
fn merge(grants: Vec<Grant>) -> Option<Grant> {
    if grants.is_empty() {
        None
    } else if grants.iter().any(Grant::is_own) {
        Some(Grant::own())
    } else {
        Some(Grant::delegated(grants.into_iter().flat_map(|g| g.on_behalf_of)))
    }
}

/// The compte rendu of a validated dossier.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Report {
    /// The dossier it reports.
    pub dossier_id: String,
    /// Plain-text body.
    pub body: String,
    /// Who validated the dossier, producing it.
    pub produced_by: String,
    /// When.
    pub produced_at: NaiveDateTime,
}

/// `POST /dossiers/{id}/validate`: visibility, then `delegation::may_validate`, then the state
/// (`dossier::validate_transition`); the dossier is validated and its report produced in the
/// same transaction. `expected_version` is the `If-Match` the caller sent, if any.
pub fn validate(conn: &mut DbConnection, p: &Principal, id: &str, expected_version: Option<i32>) -> Result<(Dossier, StoredFiche), Error> {
    audit::audited(conn, p, "dossier.validate", "dossier", |c, trail| {
        // Of two validations racing, the second waits here and then reads the first one's
        // result (`already_validated`), on PostgreSQL as on SQLite; a change of the patient's
        // physicians waits for the reports to send this validation lists.
        lock_with_patient(c, id)?;
        let counters = Tracker::dossier_figures(c, id)?;
        let Visible { mut dossier, roles, status, fiche: mut stored, .. } = visible(c, p, id, trail)?;
        trail.grant = delegation::may_validate(p, &roles)?;
        if expected_version.is_some_and(|v| v != dossier.version) {
            return Err(Error::Stale { current: dossier.version });
        }
        dossier::validate_transition(status, dossier.proposal.as_deref().is_some_and(|t| !t.trim().is_empty()))?;
        fiche_rules::ensure_complete(&stored.fiche)?;
        // The opinion is the board's only when the board is there: its quorum, present now;
        // a case registered without discussion follows its guideline and needs none.
        let session = sessions::find(c, &dossier.session_id)?;
        let attendance = if fiche_rules::needs_quorum(&stored.fiche) {
            attendance::ensure_quorum(c, &session)?
        } else {
            attendance::of_session(c, &session)?
        };
        let quorum = fiche_rules::quorum_at_validation(!attendance.present.is_empty(), attendance.shortfall.is_met());
        let at = now();
        let changed = diesel::update(dossiers::table.find(id).filter(dossiers::version.eq(dossier.version)))
            .set((
                dossiers::status.eq(DossierStatus::Validated.as_str()),
                dossiers::validated_by.eq(&p.professional_id),
                dossiers::validated_at.eq(at),
                dossiers::version.eq(dossier.version + 1),
                dossiers::updated_at.eq(at),
            ))
            .execute(c)?;
        if changed == 0 {
            return Err(Error::Stale { current: find(c, id)?.version });
        }
        dossier.status = DossierStatus::Validated;
        dossier.validated_by = Some(p.professional_id.clone());
        dossier.validated_at = Some(at);
        dossier.version += 1;
        dossier.updated_at = at;
        fiche::record_quorum(c, id, quorum)?;
        stored.quorum = Some(quorum);
        let body = report_body(c, &dossier, &stored.fiche, &session, &attendance)?;
        diesel::insert_into(reports::table)
            .values((
                reports::dossier_id.eq(&dossier.id),
                reports::body.eq(body),
                reports::produced_by.eq(&p.professional_id),
                reports::produced_at.eq(at),
            ))
            .execute(c)?;
        crate::reports_to_send::refresh(c, id)?;
        counters.finish(c)?;
        Ok((dossier, stored))
    })
}

/// The name a professional is shown by, or the id should the directory have lost him.
fn name_of(conn: &mut DbConnection, id: &str) -> Result<String, Error> {
    let row = professionals::table
        .find(id)
        .select((professionals::family_name, professionals::given_name))
        .first::<(String, String)>(conn)
        .optional()?;
    Ok(row.map(|(f, g)| concerto_domain::professional::display_name(&f, &g)).unwrap_or_else(|| id.to_owned()))
}

/// The plain-text compte rendu: the RCP, the session, the patient, the request, the proposal
/// and who validated it when.
fn report_body(
    conn: &mut DbConnection,
    d: &Dossier,
    fiche: &Fiche,
    session: &sessions::Session,
    attendance: &Attendance,
) -> Result<String, Error> {
    let rcp_name = rcps::table.find(&d.rcp_id).select(rcps::name).first::<String>(conn)?;
    let (family, given, birth) = patients::table
        .find(&d.patient_id)
        .select((patients::family_name, patients::given_name, patients::birth_date))
        .first::<(String, String, NaiveDate)>(conn)?;
    let requester = name_of(conn, &d.requester_id)?;
    let validator = match &d.validated_by {
        Some(id) => name_of(conn, id)?,
        None => String::new(),
    };
    let text = |t: &Option<String>| t.clone().unwrap_or_else(|| "—".to_owned());
    let validated_at = d.validated_at.map(|t| t.format("%d/%m/%Y %H:%M UTC").to_string()).unwrap_or_default();
    Ok(format!(
        "COMPTE RENDU DE RÉUNION DE CONCERTATION PLURIDISCIPLINAIRE\n\n\
         RCP : {rcp_name}\n\
         Séance du {session}\n\n\
         Patient : {family_upper} {given}, né(e) le {birth}\n\
         Médecin demandeur : {requester}\n\n\
         Résumé clinique :\n{summary}\n\n\
         Question posée :\n{question}\n\n\
         Proposition thérapeutique :\n{proposal}\n\n\
         Fiche RCP :\n{fiche}\n\n\
         Médecins présents :\n{attendees}\n\n\
         Validé par {validator} le {validated_at}\n",
        session = session.starts_at.format("%d/%m/%Y %H:%M UTC"),
        family_upper = family.to_uppercase(),
        birth = birth.format("%d/%m/%Y"),
        summary = text(&d.clinical_summary),
        question = text(&d.question),
        proposal = text(&d.proposal),
        fiche = fiche_facts(fiche),
        attendees = attendees(attendance),
    ))
}

/// The fiche's main facts for the report, one a line: the tumour site, the treatments in their
/// order, the framework.
fn fiche_facts(fiche: &Fiche) -> String {
    let mut lines = Vec::new();
    if let Some(site) = fiche.diagnosis.as_ref().and_then(|d| d.tumour_site.as_deref()) {
        lines.push(format!("- Localisation (CIM-10) : {site}"));
    }
    for t in fiche.proposal.iter().flat_map(|p| &p.treatments) {
        let detail = t.detail.as_deref().map(|d| format!(" — {d}")).unwrap_or_default();
        lines.push(format!("- Traitement {} : {}{detail}", t.order, t.code));
    }
    if let Some(f) = &fiche.framework {
        if let Some(g) = &f.guideline {
            lines.push(format!("- Référentiel : {}{}", g.name, g.version.as_deref().map(|v| format!(" ({v})")).unwrap_or_default()));
        }
        match (f.conform, &f.nonconformity_reason) {
            (Some(true), _) => lines.push("- Conforme au référentiel".to_owned()),
            (Some(false), reason) => lines.push(format!("- Non conforme au référentiel : {}", reason.as_deref().unwrap_or("—"))),
            (None, _) => {}
        }
        if let Some(trial) = &f.trial_name {
            lines.push(format!("- Essai proposé : {trial}"));
        }
    }
    if lines.is_empty() { "—".to_owned() } else { lines.join("\n") }
}

/// The attendees of the report, one a line with the specialty, as national report models list
/// them.
fn attendees(attendance: &Attendance) -> String {
    let line = |a: &crate::attendance::Attendee| {
        let specialty = match (&a.specialty, &a.subspecialty) {
            (Some(s), Some(organ)) => format!("{} ({organ})", s.as_str()),
            (Some(s), None) => s.as_str().to_owned(),
            (None, _) => "specialty not recorded".to_owned(),
        };
        format!("- {}, {specialty}", a.display_name)
    };
    attendance.present.iter().map(line).collect::<Vec<_>>().join("\n")
}

/// `GET /dossiers/{id}/report`: visible as the dossier; not found before validation.
pub fn report(conn: &mut DbConnection, p: &Principal, dossier_id: &str) -> Result<Report, Error> {
    audit::audited_read(conn, p, "report.read", "report", |c, trail| {
        visible(c, p, dossier_id, trail)?;
        reports::table.find(dossier_id).first::<Report>(c).optional()?.ok_or(Error::NotFound("report"))
    })
}

/// `GET /dossiers/{id}/report` as the FRCP CDA document: the same permission path as
/// [`report`] (visibility of the dossier), then 409 `not_validated` before validation, and the
/// document's data gathered in a few statements whatever its number of participants. Its own
/// audit action (`report.read_cda`) tells the format apart from the JSON read.
pub fn report_document(conn: &mut DbConnection, p: &Principal, dossier_id: &str) -> Result<cda::Document, Error> {
    audit::audited_read(conn, p, "report.read_cda", "report", |c, trail| {
        let v = visible(c, p, dossier_id, trail)?;
        dossier::ensure_report_sendable(v.status)?;
        document(c, v)
    })
}

/// The data of the CDA document of a visible, validated dossier.
fn document(conn: &mut DbConnection, v: Visible) -> Result<cda::Document, Error> {
    let d = v.dossier;
    let rcp = boards::find(conn, &d.rcp_id)?;
    let center = cancer_centers::table
        .find(&rcp.cancer_center_id)
        .select((cancer_centers::name, cancer_centers::finess))
        .first::<(String, Option<String>)>(conn)?;
    let session = sessions::find(conn, &d.session_id)?;
    let (patient_row, ins) = patients::table
        .find(&d.patient_id)
        .select((
            (patients::family_name, patients::given_name, patients::birth_date, patients::sex, patients::birth_place_code),
            patients::ins,
        ))
        .first::<((String, String, NaiveDate, String, Option<String>), Option<String>)>(conn)?;
    let present: Vec<String> = session_attendance::table
        .filter(session_attendance::session_id.eq(&d.session_id))
        .select(session_attendance::professional_id)
        .order(session_attendance::professional_id)
        .load(conn)?;
    let animateurs: Vec<String> =
        v.roles.members.iter().filter(|(_, role)| *role == MemberRole::Animateur).map(|(id, _)| id.clone()).collect();
    let validator_id = d.validated_by.clone().unwrap_or_else(|| d.requester_id.clone());
    let mut ids: Vec<&String> = vec![&d.requester_id, &validator_id, &d.registered_by];
    ids.extend(v.relations.treating_physician_id.iter());
    ids.extend(v.relations.correspondent_ids.iter());
    ids.extend(animateurs.iter());
    ids.extend(present.iter());
    let people: HashMap<String, (cda::Professional, String)> = professionals::table
        .filter(professionals::id.eq_any(ids))
        .select((professionals::id, professionals::family_name, professionals::given_name, professionals::rpps, professionals::category))
        .load::<(String, String, String, Option<String>, String)>(conn)?
        .into_iter()
        .map(|(id, family_name, given_name, rpps, category)| {
            (id.clone(), (cda::Professional { id, rpps, family_name, given_name }, category))
        })
        .collect();
    let person = |id: &str| -> Result<cda::Professional, Error> {
        people.get(id).map(|(p, _)| p.clone()).ok_or_else(|| Error::Stored(format!("professional {id} of dossier {}", d.id)))
    };
    let is = |id: &str, category: Category| people.get(id).is_some_and(|(_, c)| c == category.as_str());
    let ((family_name, given_name, birth_date, sex, birth_place_code), ins) = (patient_row, ins);
    Ok(cda::Document {
        dossier_id: d.id.clone(),
        version: 1,
        registered_at: d.created_at,
        validated_at: d.validated_at.unwrap_or(d.updated_at),
        center: cda::Organization { name: center.0, finess: center.1 },
        board: cda::Board {
            name: rcp.name,
            nature: rcp.national.nature,
            organ: rcp.national.organ,
            network_id: rcp.national.network_id,
            manager_id: rcp.national.manager_id,
            national_id: rcp.national.national_id,
        },
        meeting: cda::Meeting { session_id: session.id, starts_at: session.starts_at, location: session.location },
        patient: cda::Patient { id: d.patient_id.clone(), ins, family_name, given_name, birth_date, sex, birth_place_code },
        requester: person(&d.requester_id)?,
        validator: person(&validator_id)?,
        data_enterer: if is(&d.registered_by, Category::Secretary) { Some(person(&d.registered_by)?) } else { None },
        animateurs: animateurs.iter().map(|id| person(id)).collect::<Result<_, _>>()?,
        attendees: present
            .iter()
            .map(|id| Ok(cda::Attendee { professional: person(id)?, counted: is(id, Category::Physician) }))
            .collect::<Result<_, Error>>()?,
        treating: v.relations.treating_physician_id.as_deref().map(person).transpose()?,
        correspondents: v.relations.correspondent_ids.iter().map(|id| person(id)).collect::<Result<_, _>>()?,
        clinical_summary: d.clinical_summary,
        question: d.question,
        proposal: d.proposal,
        fiche: v.fiche.fiche,
        quorum: v.fiche.quorum.unwrap_or(QuorumStatus::Unknown),
    })
}

/// The report of a dossier with the dossier itself (the FHIR `DocumentReference`): visible as
/// the dossier, not found before validation; audited as `GET /dossiers/{id}/report`.
pub fn read_with_report(conn: &mut DbConnection, p: &Principal, dossier_id: &str) -> Result<(Dossier, Report), Error> {
    audit::audited_read(conn, p, "report.read", "report", |c, trail| {
        let v = visible(c, p, dossier_id, trail)?;
        let report = reports::table.find(dossier_id).first::<Report>(c).optional()?.ok_or(Error::NotFound("report"))?;
        Ok((v.dossier, report))
    })
}

/// These dossiers with their reports (none before validation), in the order of `ids`. No rule
/// is applied: for a page the caller's permission-filtered search already returned.
pub fn with_reports(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<(Dossier, Option<Report>)>, Error> {
    let mut found: HashMap<String, (Dossier, Option<Report>)> = dossiers::table
        .left_join(reports::table)
        .filter(dossiers::id.eq_any(ids))
        .select((dossiers::all_columns, reports::all_columns.nullable()))
        .load::<(Dossier, Option<Report>)>(conn)?
        .into_iter()
        .map(|(d, r)| (d.id.clone(), (d, r)))
        .collect();
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// Who registered a dossier, validated it and sent its report, and for whom (the FHIR
/// `Provenance`): the allowed events of `audit::PROVENANCE_ACTIONS` on it, oldest first, for
/// whoever sees the dossier (else not found). Audited as a read of the dossier.
pub fn provenance(conn: &mut DbConnection, p: &Principal, dossier_id: &str) -> Result<(Dossier, Vec<audit::AuditEvent>), Error> {
    audit::audited_read(conn, p, "provenance.read", "dossier", |c, trail| {
        let v = visible(c, p, dossier_id, trail)?;
        let events = audit::provenance_events(c, &[dossier_id.to_owned()])?;
        Ok((v.dossier, events))
    })
}

/// One sending of a validated report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmission {
    /// Opaque id.
    pub id: String,
    /// The dossier whose report was sent.
    pub dossier_id: String,
    /// How.
    pub channel: ReportChannel,
    /// Who sent it.
    pub sent_by: String,
    /// When.
    pub sent_at: NaiveDateTime,
    /// To whom (professional ids, sorted).
    pub recipient_ids: Vec<String>,
}

/// A transmission as stored, its recipients aside.
#[derive(Queryable)]
struct TransmissionRow {
    id: String,
    dossier_id: String,
    #[diesel(deserialize_as = String)]
    channel: ReportChannel,
    sent_by: String,
    sent_at: NaiveDateTime,
}

/// `POST /dossiers/{id}/report/transmissions`: visibility, `delegation::may_send_report`, a
/// validated dossier (`dossier::ensure_report_sendable`), recipients who exist in the directory.
pub fn send_report(
    conn: &mut DbConnection,
    p: &Principal,
    dossier_id: &str,
    recipient_ids: &[String],
    channel: ReportChannel,
) -> Result<Transmission, Error> {
    audit::audited(conn, p, "report.send", "report", |c, trail| {
        // A change of the patient's physicians racing this sending must see it (or be seen by
        // it) when the reports to send are recomputed: both hold the patient's lock. The first
        // sending counts, read under the dossier's lock.
        lock_with_patient(c, dossier_id)?;
        let counters = Tracker::dossier_figures(c, dossier_id)?;
        let v = visible(c, p, dossier_id, trail)?;
        trail.grant = delegation::may_send_report(p, &v.roles, &v.relations)?;
        dossier::ensure_report_sendable(v.status)?;
        let mut recipients = recipient_ids.to_vec();
        recipients.sort();
        recipients.dedup();
        let known = professionals::table.filter(professionals::id.eq_any(&recipients)).count().get_result::<i64>(c)?;
        if usize::try_from(known).ok() != Some(recipients.len()) {
            return Err(Error::NotFound("recipient"));
        }
        let t = Transmission {
            id: new_id(),
            dossier_id: dossier_id.to_owned(),
            channel,
            sent_by: p.professional_id.clone(),
            sent_at: now(),
            recipient_ids: recipients,
        };
        diesel::insert_into(report_transmissions::table)
            .values((
                report_transmissions::id.eq(&t.id),
                report_transmissions::dossier_id.eq(&t.dossier_id),
                report_transmissions::channel.eq(t.channel.as_str()),
                report_transmissions::sent_by.eq(&t.sent_by),
                report_transmissions::sent_at.eq(t.sent_at),
            ))
            .execute(c)?;
        for r in &t.recipient_ids {
            diesel::insert_into(report_transmission_recipients::table)
                .values((report_transmission_recipients::transmission_id.eq(&t.id), report_transmission_recipients::recipient_id.eq(r)))
                .execute(c)?;
        }
        // The first sending is a fact of the dossier the activity report reads.
        diesel::update(dossiers::table.find(dossier_id).filter(dossiers::first_sent_at.is_null()))
            .set(dossiers::first_sent_at.eq(t.sent_at))
            .execute(c)?;
        crate::reports_to_send::refresh(c, dossier_id)?;
        counters.finish(c)?;
        Ok(t)
    })
}

/// `GET /dossiers/{id}/report/transmissions`: what was sent, to whom, when, by whom, oldest
/// first; visible as the dossier.
pub fn transmissions(conn: &mut DbConnection, p: &Principal, dossier_id: &str, page: &PageRequest) -> Result<Page<Transmission>, Error> {
    audit::audited_read(conn, p, "report.transmissions.read", "report", |c, trail| {
        visible(c, p, dossier_id, trail)?;
        let mut query = report_transmissions::table
            .filter(report_transmissions::dossier_id.eq(dossier_id.to_owned()))
            .select((
                report_transmissions::id,
                report_transmissions::dossier_id,
                report_transmissions::channel,
                report_transmissions::sent_by,
                report_transmissions::sent_at,
            ))
            .into_boxed();
        if let Some((at, id)) = &page.after {
            let at = parse_cursor_time(at)?;
            query = query.filter(
                report_transmissions::sent_at.gt(at).or(report_transmissions::sent_at.eq(at).and(report_transmissions::id.gt(id.clone()))),
            );
        }
        let rows = query.order((report_transmissions::sent_at, report_transmissions::id)).limit(page.fetch()).load::<TransmissionRow>(c)?;
        let page = Page::from_rows(rows, page, |r| (cursor_time(r.sent_at), r.id.clone()));
        let ids: Vec<String> = page.items.iter().map(|r| r.id.clone()).collect();
        let mut recipients: HashMap<String, Vec<String>> = HashMap::new();
        for (t, r) in report_transmission_recipients::table
            .filter(report_transmission_recipients::transmission_id.eq_any(&ids))
            .select((report_transmission_recipients::transmission_id, report_transmission_recipients::recipient_id))
            .order((report_transmission_recipients::transmission_id, report_transmission_recipients::recipient_id))
            .load::<(String, String)>(c)?
        {
            recipients.entry(t).or_default().push(r);
        }
        Ok(page.map(|TransmissionRow { id, dossier_id, channel, sent_by, sent_at }| {
            let recipient_ids = recipients.remove(&id).unwrap_or_default();
            Transmission { id, dossier_id, channel, sent_by, sent_at, recipient_ids }
        }))
    })
}

/// A tab of the "dossiers" module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// "Passages RCP de mes patients": the dossiers I (or my physicians) requested.
    RcpPassages,
    /// The dossiers of the patients I correspond for.
    Correspondent,
    /// The dossiers of the patients I treat.
    Treating,
}

impl Tab {
    /// The API spelling, as `Principal::dossier_tabs` names the tabs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RcpPassages => "rcp_passages",
            Self::Correspondent => "correspondent",
            Self::Treating => "treating",
        }
    }
}

/// `GET /me/dossiers?tab=`: one tab, newest first (`created_at`, then `id`, both descending),
/// filtered in SQL on indexes with the meaning of `delegation::in_rcp_passages_tab`,
/// `in_correspondent_tab` and `in_treating_tab`; a tab `Principal::dossier_tabs` does not offer
/// is `tab_not_allowed`. One audit event per call.
pub fn tab(conn: &mut DbConnection, p: &Principal, tab: Tab, page: &PageRequest) -> Result<Page<DossierSummary>, Error> {
    // The treating and correspondent tabs keep PostgreSQL's own plans: unmeasured at scale.
    let plans = if tab == Tab::RcpPassages { db::Plans::Kept } else { db::Plans::Chosen };
    audit::audited_read_planned(conn, plans, p, "dossier.list", "dossier", |c, trail| {
        if !p.dossier_tabs().contains(&tab.as_str()) {
            return Err(DomainError::Forbidden(ErrorCode::TabNotAllowed).into());
        }
        let after = page.after.as_ref().map(|(at, id)| Ok::<_, Error>((parse_cursor_time(at)?, id.clone()))).transpose()?;
        let me = p.professional_id.clone();
        let rows = match tab {
            Tab::RcpPassages => rcp_passages_page(c, p, after.as_ref(), page.fetch())?,
            Tab::Treating | Tab::Correspondent => {
                let mut query = dossiers::table
                    .inner_join(patients::table)
                    .inner_join(rcps::table)
                    .select((SUMMARY_COLUMNS, dossiers::created_at, rcps::cancer_center_id))
                    .into_boxed();
                // Each filter leads with an indexed column (patient), so a tab costs the
                // caller's own patients' dossiers, never a scan of the table.
                query = if tab == Tab::Treating {
                    query.filter(dossiers::patient_id.eq_any(
                        treated.filter(treated.field(patients::treating_physician_id).eq(me.clone())).select(treated.field(patients::id)),
                    ))
                } else {
                    query.filter(
                        dossiers::patient_id.eq_any(
                            patient_correspondents::table
                                .filter(patient_correspondents::professional_id.eq(me.clone()))
                                .select(patient_correspondents::patient_id),
                        ),
                    )
                };
                if let Some((at, id)) = &after {
                    query = query.filter(dossiers::created_at.lt(*at).or(dossiers::created_at.eq(*at).and(dossiers::id.lt(id.clone()))));
                }
                query.order((dossiers::created_at.desc(), dossiers::id.desc())).limit(page.fetch()).load::<TabRow>(c)?
            }
        };
        let page = Page::from_rows(rows, page, |(d, at, _)| (cursor_time(*at), d.id.clone()));
        if tab == Tab::RcpPassages && !p.acting_for.is_empty() {
            // The page's own requests need nobody's rights; only the delegated ones are named.
            // The rule reads the RCP's center and the requester, both on the row already.
            let physicians = page.items.iter().flat_map(|(d, _, center)| {
                let rcp =
                    RcpRoles { rcp_id: d.rcp_id.clone(), cancer_center_id: center.clone(), members: Vec::new(), managers: Vec::new() };
                delegation::in_rcp_passages_tab(p, &rcp, &d.requester_id).map(|g| g.on_behalf_of).unwrap_or_default()
            });
            trail.grant = Grant::delegated(physicians.collect::<Vec<_>>());
        }
        Ok(page.map(|(summary, _, _)| summary))
    })
}

/// A tab row: the summary, its sort key and the center of its RCP.
type TabRow = (DossierSummary, NaiveDateTime, String);

/// One page of the `rcp_passages` tab: the caller's own requests, and those of P(S) in the RCPs
/// of her secretary centers. A page, not a history, and no table row read:
/// - for each requester, the newest `fetch` dossiers after the cursor, read backwards on the
///   index `dossiers_requester`, which holds every dossier column the tab shows (the center
///   filter reads the RCP from it too), and stopped early;
/// - these short lists merged newest first and cut to the page;
/// - the page's RCPs and patients joined last, the patients from the covering index
///   `patients_names`.
///
/// At 1M dossiers the cost was the rows, not the index: five requesters' 51 dossiers each, with
/// their RCPs and patients, read to keep 51 (#11); then the page's 51 dossier rows, on SQLite
/// two B-tree descents each, read again by every request since another connection's commit
/// empties its page cache. Hand-written ([`crate::cached_sql`]) because diesel's
/// MultiConnection has no UNION; one text per number of requesters and cursor or not, each kept
/// prepared.
fn rcp_passages_page(
    conn: &mut DbConnection,
    p: &Principal,
    after: Option<&(NaiveDateTime, String)>,
    fetch: i64,
) -> Result<Vec<TabRow>, Error> {
    use crate::cached_sql::{Bind, CachedSql, placeholders};
    use diesel::sql_types::{Date, Text, Timestamp};
    let (physicians, secretary_centers) = p.delegation();
    let me = p.professional_id.clone();
    // Whose requests the tab shows, and on which centers (`None`: everywhere).
    let mut requesters: Vec<(String, Option<&[String]>)> = vec![(me.clone(), None)];
    requesters.extend(physicians.into_iter().filter(|id| *id != me).map(|id| (id, Some(secretary_centers.as_slice()))));
    let mut sql = String::from(
        "SELECT m.id, m.session_id, m.rcp_id, m.patient_id, pa.family_name, pa.given_name, pa.birth_date, m.requester_id, m.status, \
         m.created_at, r.cancer_center_id FROM (SELECT u.* FROM (",
    );
    let mut binds = Vec::new();
    // SQLite merges the arms of a compound in the order of the outer `ORDER BY`, each walking its
    // index, and stops at the page: no arm needs its own limit. PostgreSQL cannot merge arms that
    // have a `WHERE`, so each arm stops at a page itself.
    let sqlite = db::is_sqlite(conn);
    for (i, (requester, centers)) in requesters.iter().enumerate() {
        if i > 0 {
            sql.push_str(" UNION ALL ");
        }
        if !sqlite {
            sql.push_str("SELECT * FROM (");
        }
        sql.push_str(
            "SELECT x.id, x.created_at, x.session_id, x.rcp_id, x.patient_id, x.requester_id, x.status \
             FROM dossiers x WHERE x.requester_id = ?",
        );
        binds.push(Bind::Text(requester.clone()));
        if let Some((at, id)) = after {
            // A row value, which both stores turn into one range of the index.
            sql.push_str(" AND (x.created_at, x.id) < (?, ?)");
            binds.extend([Bind::Time(*at), Bind::Text(id.clone())]);
        }
        if let Some(centers) = centers {
            sql.push_str(&format!(
                " AND x.rcp_id IN (SELECT c.id FROM rcps c WHERE c.cancer_center_id IN ({}))",
                placeholders(centers.len())
            ));
            binds.extend(centers.iter().map(|c| Bind::Text(c.clone())));
        }
        if !sqlite {
            sql.push_str(&format!(" ORDER BY x.created_at DESC, x.id DESC LIMIT ?) q{i}"));
            binds.push(Bind::Int(fetch));
        }
    }
    // `CROSS JOIN` keeps SQLite's join order: the page first, then one RCP and one patient per
    // dossier of the page. Without statistics SQLite prefers the primary key's index to the
    // covering one (then reads the row too), so it is named; PostgreSQL chooses it by itself.
    sql.push_str(") u ORDER BY u.created_at DESC, u.id DESC LIMIT ?) m CROSS JOIN rcps r CROSS JOIN patients pa");
    if sqlite {
        sql.push_str(" INDEXED BY patients_names");
    }
    sql.push_str(" WHERE r.id = m.rcp_id AND pa.id = m.patient_id ORDER BY m.created_at DESC, m.id DESC");
    binds.push(Bind::Int(fetch));
    let query = binds
        .into_iter()
        .fold(CachedSql::<((Text, Text, Text, Text, Text, Text, Date, Text, Text), Timestamp, Text)>::new(sql), CachedSql::bind);
    Ok(query.load::<TabRow>(conn)?)
}
