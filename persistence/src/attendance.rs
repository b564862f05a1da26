//! Who attends a session, the quorum its RCP asks for, and whether the board reached it.

use concerto_domain::DomainError;
use concerto_domain::ErrorCode;
use concerto_domain::delegation;
use concerto_domain::principal::Principal;
use concerto_domain::professional::{Category, display_name};
use concerto_domain::profile::ProfileKind;
use concerto_domain::quorum::{self, QuorumRule, Shortfall};
use concerto_domain::rcp::SessionStatus;
use concerto_domain::specialty::Specialty;
use diesel::prelude::*;

use crate::activity_counters::Tracker;
use crate::schema::{
    professional_specialties, professionals, profiles, rcp_members, rcp_quorum, rcp_sessions, session_attendance, session_quorum,
};
use crate::sessions::{self, Session};
use crate::{DbConnection, Error, now, rcps as boards};

/// One physician recorded present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    /// The professional.
    pub professional_id: String,
    /// "Given FAMILY".
    pub display_name: String,
    /// His specialty, when set.
    pub specialty: Option<Specialty>,
    /// The organ, for a surgeon or an organ specialist.
    pub subspecialty: Option<String>,
}

/// A session's attendance and where it stands against the quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendance {
    /// The session.
    pub session_id: String,
    /// Present physicians, by name.
    pub present: Vec<Attendee>,
    /// The RCP's rule.
    pub rule: QuorumRule,
    /// What is missing (nothing when met).
    pub shortfall: Shortfall,
}

/// The quorum an RCP asks for: its own rule, or the national default.
pub fn rule_of(conn: &mut DbConnection, rcp_id: &str) -> Result<QuorumRule, Error> {
    let row = rcp_quorum::table
        .find(rcp_id)
        .select((rcp_quorum::min_physicians, rcp_quorum::min_specialties, rcp_quorum::required_specialties))
        .first::<(i32, i32, String)>(conn)
        .optional()?;
    let Some((min_physicians, min_specialties, required)) = row else {
        return Ok(QuorumRule::default());
    };
    let required = required.split_whitespace().map(Specialty::parse).collect::<Result<Vec<_>, _>>()?;
    Ok(QuorumRule::new(u32::try_from(min_physicians).unwrap_or(1), u32::try_from(min_specialties).unwrap_or(0), required)?)
}

/// `PUT /rcps/{id}/quorum`: the coordinators of the RCP's center, its managers, the platform
/// administrator.
pub fn set_rule(conn: &mut DbConnection, p: &Principal, rcp_id: &str, rule: &QuorumRule) -> Result<QuorumRule, Error> {
    crate::db::write(conn, |c| {
        delegation::may_manage_rcp(p, &boards::roles(c, rcp_id)?)?;
        let required: Vec<&str> = rule.required.iter().map(|s| s.as_str()).collect();
        diesel::delete(rcp_quorum::table.find(rcp_id)).execute(c)?;
        diesel::insert_into(rcp_quorum::table)
            .values((
                rcp_quorum::rcp_id.eq(rcp_id),
                rcp_quorum::min_physicians.eq(i32::try_from(rule.min_physicians).unwrap_or(i32::MAX)),
                rcp_quorum::min_specialties.eq(i32::try_from(rule.min_specialties).unwrap_or(i32::MAX)),
                rcp_quorum::required_specialties.eq(required.join(" ")),
                rcp_quorum::set_by.eq(&p.professional_id),
                rcp_quorum::set_at.eq(now()),
            ))
            .execute(c)?;
        Ok(rule.clone())
    })
}

/// `PUT /sessions/{id}/attendance`: the animateurs of the RCP and their secretaries, while the
/// session is in progress, record who is present (the whole list each time). Present are
/// physicians who are members of the RCP or hold a physician profile on its center (invited).
pub fn record(conn: &mut DbConnection, p: &Principal, session_id: &str, present_ids: &[String]) -> Result<Attendance, Error> {
    crate::db::write(conn, |c| {
        // The session's lock, taken by the counters' tracker: reaching the quorum counts.
        let counters = Tracker::session(c, session_id)?;
        let session = sessions::find(c, session_id)?;
        let roles = boards::roles(c, &session.rcp_id)?;
        delegation::may_run_session(p, &roles)?;
        if session.status != SessionStatus::InProgress {
            return Err(DomainError::Conflict {
                code: ErrorCode::SessionNotInProgress,
                message: format!("attendance is recorded during the session; this one is {}", session.status.as_str()),
            }
            .into());
        }
        let mut ids = present_ids.to_vec();
        ids.sort();
        ids.dedup();
        let eligible: Vec<String> = professionals::table
            .filter(professionals::id.eq_any(&ids))
            .filter(professionals::category.eq(Category::Physician.as_str()))
            .filter(
                professionals::id
                    .eq_any(rcp_members::table.filter(rcp_members::rcp_id.eq(&session.rcp_id)).select(rcp_members::professional_id))
                    .or(professionals::id.eq_any(
                        profiles::table
                            .filter(profiles::cancer_center_id.eq(&roles.cancer_center_id))
                            .filter(profiles::kind.eq(ProfileKind::Physician.as_str()))
                            .select(profiles::professional_id),
                    )),
            )
            .select(professionals::id)
            .load(c)?;
        if let Some(stranger) = ids.iter().find(|id| !eligible.contains(id)) {
            return Err(DomainError::invalid(
                "present_ids",
                ErrorCode::NotAnAttendee,
                format!("{stranger} is neither a member of the RCP nor a physician of its center"),
            )
            .into());
        }
        diesel::delete(session_attendance::table.filter(session_attendance::session_id.eq(session_id))).execute(c)?;
        let at = now();
        for id in &ids {
            diesel::insert_into(session_attendance::table)
                .values((
                    session_attendance::session_id.eq(session_id),
                    session_attendance::professional_id.eq(id),
                    session_attendance::recorded_by.eq(&p.professional_id),
                    session_attendance::recorded_at.eq(at),
                ))
                .execute(c)?;
        }
        let attendance = of_session(c, &session)?;
        let reached = session_quorum::table.find(session_id).select(session_quorum::session_id).first::<String>(c).optional()?;
        if attendance.shortfall.is_met() && reached.is_none() {
            diesel::insert_into(session_quorum::table)
                .values((session_quorum::session_id.eq(session_id), session_quorum::reached_at.eq(at)))
                .execute(c)?;
            counters.finish(c)?;
        }
        Ok(attendance)
    })
}

/// `GET /sessions/{id}/attendance`: the same people as the run.
pub fn read(conn: &mut DbConnection, p: &Principal, session_id: &str) -> Result<Attendance, Error> {
    crate::db::read(conn, |c| {
        let session = sessions::find(c, session_id)?;
        delegation::may_run_session(p, &boards::roles(c, &session.rcp_id)?)?;
        of_session(c, &session)
    })
}

/// The attendance of a session and its RCP's quorum, in one query, without a rights check (the
/// run and validation have theirs).
pub fn of_session(conn: &mut DbConnection, session: &Session) -> Result<Attendance, Error> {
    type Row = (Option<(i32, i32, String)>, Option<(String, String, String)>, Option<String>, Option<String>);
    let rows = rcp_sessions::table
        .left_join(rcp_quorum::table.on(rcp_quorum::rcp_id.eq(rcp_sessions::rcp_id)))
        .left_join(session_attendance::table.on(session_attendance::session_id.eq(rcp_sessions::id)))
        .left_join(
            // A physician recorded present and re-categorised since no longer counts: the
            // quorum is of physicians at validation time.
            professionals::table.on(professionals::id
                .eq(session_attendance::professional_id)
                .and(professionals::category.eq(Category::Physician.as_str()))),
        )
        .left_join(professional_specialties::table.on(professional_specialties::professional_id.eq(session_attendance::professional_id)))
        .filter(rcp_sessions::id.eq(&session.id))
        .select((
            (rcp_quorum::min_physicians, rcp_quorum::min_specialties, rcp_quorum::required_specialties).nullable(),
            (professionals::id, professionals::family_name, professionals::given_name).nullable(),
            professional_specialties::specialty.nullable(),
            professional_specialties::subspecialty.nullable(),
        ))
        .order((professionals::search_name, professionals::id))
        .load::<Row>(conn)?;
    let rule = match rows.first().and_then(|(rule, ..)| rule.clone()) {
        None => QuorumRule::default(),
        Some((min_physicians, min_specialties, required)) => {
            let required = required.split_whitespace().map(Specialty::parse).collect::<Result<Vec<_>, _>>()?;
            QuorumRule::new(u32::try_from(min_physicians).unwrap_or(1), u32::try_from(min_specialties).unwrap_or(0), required)?
        }
    };
    let present = rows
        .into_iter()
        .filter_map(|(_, who, specialty, subspecialty)| who.map(|w| (w, specialty, subspecialty)))
        .map(|((id, f, g), specialty, subspecialty)| {
            Ok(Attendee {
                professional_id: id,
                display_name: display_name(&f, &g),
                specialty: specialty.as_deref().map(Specialty::parse).transpose()?,
                subspecialty,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let specialties: Vec<Option<Specialty>> = present.iter().map(|a| a.specialty).collect();
    let shortfall = quorum::evaluate(&rule, &specialties);
    Ok(Attendance { session_id: session.id.clone(), present, rule, shortfall })
}

/// Validation's check: the quorum is present now (`quorum_not_met` otherwise).
pub fn ensure_quorum(conn: &mut DbConnection, session: &Session) -> Result<Attendance, Error> {
    let attendance = of_session(conn, session)?;
    let specialties: Vec<Option<Specialty>> = attendance.present.iter().map(|a| a.specialty).collect();
    quorum::ensure_met(&attendance.rule, &specialties)?;
    Ok(attendance)
}
