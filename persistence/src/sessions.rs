//! RCP sessions ("séances"), the agenda and the session run ("déroulement").

use std::collections::HashMap;

use chrono::NaiveDateTime;
use concerto_domain::DomainError;
use concerto_domain::delegation::{self, Grant};
use concerto_domain::principal::Principal;
use concerto_domain::rcp::{SessionAction, SessionStatus};
use diesel::prelude::*;

use crate::audit;
use crate::dossiers::{self, Dossier, DossierSummary};
use crate::page::{cursor_time, parse_cursor_time};
use crate::schema::{rcp_sessions, rcps};
use crate::{DbConnection, Error, Page, PageRequest, new_id, now, rcps as boards, scope};

/// A session of an RCP.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Session {
    /// Opaque id.
    pub id: String,
    /// Its RCP.
    pub rcp_id: String,
    /// When it starts (UTC).
    pub starts_at: NaiveDateTime,
    /// When it is expected to end.
    pub ends_at: Option<NaiveDateTime>,
    /// Where.
    pub location: Option<String>,
    /// `planned`, `in_progress` or `closed`.
    pub status: String,
}

const COLUMNS: (
    rcp_sessions::id,
    rcp_sessions::rcp_id,
    rcp_sessions::starts_at,
    rcp_sessions::ends_at,
    rcp_sessions::location,
    rcp_sessions::status,
) = (rcp_sessions::id, rcp_sessions::rcp_id, rcp_sessions::starts_at, rcp_sessions::ends_at, rcp_sessions::location, rcp_sessions::status);

impl Session {
    /// The parsed status.
    pub fn status(&self) -> Result<SessionStatus, Error> {
        Ok(SessionStatus::parse(&self.status)?)
    }
}

/// A session to schedule.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Start (UTC).
    pub starts_at: NaiveDateTime,
    /// Expected end, after the start.
    pub ends_at: Option<NaiveDateTime>,
    /// Where.
    pub location: Option<String>,
}

/// `POST /rcps/{id}/sessions`: coordinators of the center, RCP managers and animateurs.
pub fn create(conn: &mut DbConnection, p: &Principal, rcp_id: &str, new: &NewSession) -> Result<Session, Error> {
    crate::db::write(conn, |c| {
        delegation::may_create_session(p, &boards::roles(c, rcp_id)?)?;
        if new.ends_at.is_some_and(|end| end <= new.starts_at) {
            return Err(DomainError::invalid("ends_at", "invalid_period", "ends_at must come after starts_at").into());
        }
        let session = Session {
            id: new_id(),
            rcp_id: rcp_id.to_owned(),
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            location: new.location.clone(),
            status: SessionStatus::Planned.as_str().to_owned(),
        };
        diesel::insert_into(rcp_sessions::table)
            .values((
                rcp_sessions::id.eq(&session.id),
                rcp_sessions::rcp_id.eq(&session.rcp_id),
                rcp_sessions::starts_at.eq(session.starts_at),
                rcp_sessions::ends_at.eq(session.ends_at),
                rcp_sessions::location.eq(&session.location),
                rcp_sessions::status.eq(&session.status),
                rcp_sessions::created_at.eq(now()),
            ))
            .execute(c)?;
        Ok(session)
    })
}

/// The session with this id.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Session, Error> {
    rcp_sessions::table.find(id).select(COLUMNS).first(conn).optional()?.ok_or(Error::NotFound("session"))
}

/// `GET /rcps/{id}/sessions`: the schedule of an RCP, by start time (no patient data).
pub fn of_rcp(conn: &mut DbConnection, rcp_id: &str, page: &PageRequest) -> Result<Page<Session>, Error> {
    boards::find(conn, rcp_id)?;
    let mut query = rcp_sessions::table.filter(rcp_sessions::rcp_id.eq(rcp_id.to_owned())).select(COLUMNS).into_boxed();
    if let Some((at, id)) = &page.after {
        let at = parse_cursor_time(at)?;
        query = query.filter(rcp_sessions::starts_at.gt(at).or(rcp_sessions::starts_at.eq(at).and(rcp_sessions::id.gt(id.clone()))));
    }
    let rows = query.order((rcp_sessions::starts_at, rcp_sessions::id)).limit(page.fetch()).load::<Session>(conn)?;
    Ok(Page::from_rows(rows, page, |s| (cursor_time(s.starts_at), s.id.clone())))
}

/// Locks a session's row until the transaction ends (a no-op update, which both stores
/// understand). Starting or closing a session and registering a dossier in it take this lock
/// first, so a registration never lands in a session that started meanwhile: on PostgreSQL the
/// second of two racing writers reads the status the first committed; SQLite writers are
/// serialised by `BEGIN IMMEDIATE` anyway.
pub(crate) fn lock(conn: &mut DbConnection, id: &str) -> Result<(), Error> {
    diesel::update(rcp_sessions::table.find(id)).set(rcp_sessions::status.eq(rcp_sessions::status)).execute(conn)?;
    Ok(())
}

/// `POST /sessions/{id}/start` and `/close`: the animateurs, their secretaries and the center's
/// coordinators.
pub fn transition(conn: &mut DbConnection, p: &Principal, id: &str, action: SessionAction) -> Result<Session, Error> {
    crate::db::write(conn, |c| {
        lock(c, id)?;
        let mut session = find(c, id)?;
        delegation::may_start_or_close_session(p, &boards::roles(c, &session.rcp_id)?)?;
        let next = session.status()?.next(action)?;
        diesel::update(rcp_sessions::table.find(id)).set(rcp_sessions::status.eq(next.as_str())).execute(c)?;
        session.status = next.as_str().to_owned();
        Ok(session)
    })
}

/// One session of the agenda with the dossiers the caller may see in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaEntry {
    /// The session.
    pub session: Session,
    /// Its RCP's name.
    pub rcp_name: String,
    /// The visible dossiers only.
    pub dossiers: Vec<DossierSummary>,
}

/// `GET /agenda?from=&to=`: the sessions the caller may see between `from` (inclusive) and `to`
/// (exclusive), each with only the dossiers the caller may see in it, filtered in SQL from the
/// caller's [`scope::ClinicalScope`]. One audit event records the read.
pub fn agenda(
    conn: &mut DbConnection,
    p: &Principal,
    from: NaiveDateTime,
    to: NaiveDateTime,
    page: &PageRequest,
) -> Result<Page<AgendaEntry>, Error> {
    audit::audited_read_planned(conn, crate::db::Plans::Kept, p, "agenda.read", "agenda", |c, trail| {
        let scope = scope::load(c, p)?;
        let mut query = rcp_sessions::table
            .inner_join(rcps::table)
            .filter(rcp_sessions::rcp_id.eq_any(scope.session_rcps()))
            .filter(rcp_sessions::starts_at.ge(from))
            .filter(rcp_sessions::starts_at.lt(to))
            .select((COLUMNS, rcps::name))
            .into_boxed();
        if let Some((at, id)) = &page.after {
            let at = parse_cursor_time(at)?;
            query = query.filter(rcp_sessions::starts_at.gt(at).or(rcp_sessions::starts_at.eq(at).and(rcp_sessions::id.gt(id.clone()))));
        }
        let rows = query.order((rcp_sessions::starts_at, rcp_sessions::id)).limit(page.fetch()).load::<(Session, String)>(c)?;
        let page = Page::from_rows(rows, page, |(s, _)| (cursor_time(s.starts_at), s.id.clone()));
        let session_ids: Vec<(String, String)> = page.items.iter().map(|(s, _)| (s.id.clone(), s.rcp_id.clone())).collect();
        let mut by_session: HashMap<String, Vec<DossierSummary>> = HashMap::new();
        for d in dossiers::visible_in_sessions(c, &scope, &session_ids)? {
            by_session.entry(d.session_id.clone()).or_default().push(d);
        }
        trail.grant = on_behalf_for_agenda(p, &scope, &by_session);
        Ok(page.map(|(session, rcp_name)| {
            let dossiers = by_session.remove(&session.id).unwrap_or_default();
            AgendaEntry { session, rcp_name, dossiers }
        }))
    })
}

/// The physicians of P(S) whose rights showed the caller any dossier of this agenda page, decided
/// on the roles the scope already read (the principal's and P(S)'s, which are all the rule reads).
fn on_behalf_for_agenda(p: &Principal, scope: &scope::ClinicalScope, shown: &HashMap<String, Vec<DossierSummary>>) -> Grant {
    if p.acting_for.is_empty() {
        return Grant::own();
    }
    let physicians = shown
        .values()
        .flatten()
        .filter_map(|d| scope.known_roles.get(&d.rcp_id).and_then(|r| delegation::sees_dossier_in_agenda(p, r, &d.requester_id)))
        .flat_map(|grant| grant.on_behalf_of);
    Grant::delegated(physicians)
}

/// The session run: the session, every dossier and the attendance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRun {
    /// The session.
    pub session: Session,
    /// Every dossier, by patient name.
    pub dossiers: Vec<Dossier>,
    /// Who is present, and where the board stands against its quorum.
    pub attendance: crate::attendance::Attendance,
}

/// The session run: the session with every dossier and its attendance, for the animateurs of its
/// RCP and their secretaries; `not_animateur` for anyone else. One audit event records the read.
pub fn run(conn: &mut DbConnection, p: &Principal, id: &str) -> Result<SessionRun, Error> {
    audit::audited_read(conn, p, "session.run", "session", |c, trail| {
        trail.resource_id = Some(id.to_owned());
        let session = find(c, id)?;
        let roles = boards::roles(c, &session.rcp_id)?;
        trail.cancer_center_id = Some(roles.cancer_center_id.clone());
        trail.grant = delegation::may_run_session(p, &roles)?;
        let dossiers = dossiers::of_session(c, id)?;
        let attendance = crate::attendance::of_session(c, &session)?;
        Ok(SessionRun { session, dossiers, attendance })
    })
}
