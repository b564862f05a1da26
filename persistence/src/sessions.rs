//! RCP sessions ("séances"): scheduling, the start and the close, and the lock registration takes.

use chrono::NaiveDateTime;
use concerto_domain::DomainError;
use concerto_domain::ErrorCode;
use concerto_domain::delegation;
use concerto_domain::principal::Principal;
use concerto_domain::rcp::{SessionAction, SessionStatus};
use diesel::prelude::*;

use crate::activity_counters::Tracker;
use crate::page::{cursor_time, parse_cursor_time};
use crate::schema::rcp_sessions;
use crate::{DbConnection, Error, Page, PageRequest, new_id, now, rcps as boards};

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
    /// Where it stands.
    #[diesel(deserialize_as = String)]
    pub status: SessionStatus,
}

pub(crate) const COLUMNS: (
    rcp_sessions::id,
    rcp_sessions::rcp_id,
    rcp_sessions::starts_at,
    rcp_sessions::ends_at,
    rcp_sessions::location,
    rcp_sessions::status,
) = (rcp_sessions::id, rcp_sessions::rcp_id, rcp_sessions::starts_at, rcp_sessions::ends_at, rcp_sessions::location, rcp_sessions::status);

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
            return Err(DomainError::invalid("ends_at", ErrorCode::InvalidPeriod, "ends_at must come after starts_at").into());
        }
        let session = Session {
            id: new_id(),
            rcp_id: rcp_id.to_owned(),
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            location: new.location.clone(),
            status: SessionStatus::Planned,
        };
        diesel::insert_into(rcp_sessions::table)
            .values((
                rcp_sessions::id.eq(&session.id),
                rcp_sessions::rcp_id.eq(&session.rcp_id),
                rcp_sessions::starts_at.eq(session.starts_at),
                rcp_sessions::ends_at.eq(session.ends_at),
                rcp_sessions::location.eq(&session.location),
                rcp_sessions::status.eq(session.status.as_str()),
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

/// `POST /sessions/{id}/start` and `/close`: the animateurs, their secretaries and the center's
/// coordinators.
pub fn transition(conn: &mut DbConnection, p: &Principal, id: &str, action: SessionAction) -> Result<Session, Error> {
    crate::db::write(conn, |c| {
        // The session's lock, taken by the counters' tracker: a start makes the session held.
        let counters = Tracker::session(c, id)?;
        let mut session = find(c, id)?;
        delegation::may_start_or_close_session(p, &boards::roles(c, &session.rcp_id)?)?;
        let next = session.status.next(action)?;
        diesel::update(rcp_sessions::table.find(id)).set(rcp_sessions::status.eq(next.as_str())).execute(c)?;
        session.status = next;
        counters.finish(c)?;
        Ok(session)
    })
}
