//! The audit trail of patient data: every read or write of a patient, dossier, document or
//! report leaves exactly one event, written in the same transaction as what it records; a
//! refused or failed attempt leaves a `denied` event of its own.

use chrono::NaiveDateTime;
use concerto_domain::delegation::Grant;
use concerto_domain::principal::Principal;
use diesel::prelude::*;

use crate::schema::audit_events;
use crate::{DbConnection, Error, Page, PageRequest, db, now};

/// What the audited work learnt about the access while it ran; filled in as soon as known, so
/// that a refusal half-way is still recorded with the patient it concerned.
#[derive(Debug, Clone, Default)]
pub struct Trail {
    /// The resource read or written (its id), when there is one.
    pub resource_id: Option<String>,
    /// The patient whose data it is.
    pub patient_id: Option<String>,
    /// The center of the RCP the data belongs to, for the coordinators' view of the trail.
    pub cancer_center_id: Option<String>,
    /// The grant that allowed it: on whose behalf a secretary acted.
    pub grant: Grant,
}

/// Runs `work`, which writes, in a transaction and records it: `allowed` inside the same
/// transaction when it succeeds, `denied` in a transaction of its own when it fails (the work's
/// writes are undone).
pub fn audited<T>(
    conn: &mut DbConnection,
    p: &Principal,
    action: &'static str,
    resource_type: &'static str,
    work: impl FnOnce(&mut DbConnection, &mut Trail) -> Result<T, Error>,
) -> Result<T, Error> {
    audited_planned(conn, db::Plans::Chosen, p, action, resource_type, work)
}

/// [`audited`] with PostgreSQL's plans chosen by `plans`.
fn audited_planned<T>(
    conn: &mut DbConnection,
    plans: db::Plans,
    p: &Principal,
    action: &'static str,
    resource_type: &'static str,
    work: impl FnOnce(&mut DbConnection, &mut Trail) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut trail = Trail::default();
    let result = db::write_planned(conn, plans, |c| {
        let value = work(c, &mut trail)?;
        insert(c, p, action, resource_type, &trail, "allowed")?;
        Ok(value)
    });
    record_refusal(conn, p, action, resource_type, &trail, result)
}

/// Runs `work`, which only reads, and records it like [`audited`]. Nothing is answered before
/// its event is committed. On SQLite the read runs in a snapshot beside the writers and the
/// event is then written in a short transaction of its own, so the single write lock is held
/// for one insert, not for the whole read; PostgreSQL reads and records in one transaction.
pub fn audited_read<T>(
    conn: &mut DbConnection,
    p: &Principal,
    action: &'static str,
    resource_type: &'static str,
    work: impl FnOnce(&mut DbConnection, &mut Trail) -> Result<T, Error>,
) -> Result<T, Error> {
    audited_read_planned(conn, db::Plans::Chosen, p, action, resource_type, work)
}

/// [`audited_read`] with PostgreSQL's plans chosen by `plans`: the permission-filtered lists
/// whose statements are index walks planned alike whatever their values keep their generic plans
/// ([`db::Plans::Kept`]).
pub fn audited_read_planned<T>(
    conn: &mut DbConnection,
    plans: db::Plans,
    p: &Principal,
    action: &'static str,
    resource_type: &'static str,
    work: impl FnOnce(&mut DbConnection, &mut Trail) -> Result<T, Error>,
) -> Result<T, Error> {
    if !db::is_sqlite(conn) {
        return audited_planned(conn, plans, p, action, resource_type, work);
    }
    let mut trail = Trail::default();
    let result = db::read(conn, |c| work(c, &mut trail)).and_then(|value| {
        db::write(conn, |c| insert(c, p, action, resource_type, &trail, "allowed"))?;
        Ok(value)
    });
    record_refusal(conn, p, action, resource_type, &trail, result)
}

/// A refused or failed attempt leaves a `denied` event; an outage or a bug leaves none (the
/// store may not even answer), and the caller gets its error.
fn record_refusal<T>(
    conn: &mut DbConnection,
    p: &Principal,
    action: &'static str,
    resource_type: &'static str,
    trail: &Trail,
    result: Result<T, Error>,
) -> Result<T, Error> {
    match result {
        Err(e) if !matches!(e, Error::Unavailable(_) | Error::Database(_)) => {
            db::write(conn, |c| insert(c, p, action, resource_type, trail, "denied"))?;
            Err(e)
        }
        other => other,
    }
}

fn insert(conn: &mut DbConnection, p: &Principal, action: &str, resource_type: &str, trail: &Trail, outcome: &str) -> Result<(), Error> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(event_id()),
            audit_events::at.eq(now()),
            audit_events::actor_id.eq(&p.professional_id),
            audit_events::on_behalf_of.eq(trail.grant.on_behalf_of.join(" ")),
            audit_events::action.eq(action),
            audit_events::resource_type.eq(resource_type),
            audit_events::resource_id.eq(&trail.resource_id),
            audit_events::patient_id.eq(&trail.patient_id),
            audit_events::cancer_center_id.eq(&trail.cancer_center_id),
            audit_events::outcome.eq(outcome),
        ))
        .execute(conn)?;
    Ok(())
}

/// A new event's id: a UUID v7, ordered by time, so that each insert lands at the right edge
/// of the trail's primary-key index instead of on a random page of an index that grows by one
/// entry per read, forever (a v4 id dirties a random leaf per insert, which the store must read
/// first once the index outgrows its cache).
fn event_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// An audit event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Opaque id.
    pub id: String,
    /// When.
    pub at: NaiveDateTime,
    /// Who (professional id).
    pub actor_id: String,
    /// The physicians whose rights a secretary used.
    pub on_behalf_of: Vec<String>,
    /// What (`dossier.read`, `document.create`, …).
    pub action: String,
    /// On what kind of resource.
    pub resource_type: String,
    /// On which one.
    pub resource_id: Option<String>,
    /// Whose data.
    pub patient_id: Option<String>,
    /// The center the data belongs to, when known.
    pub cancer_center_id: Option<String>,
    /// `allowed` or `denied`.
    pub outcome: String,
}

type Row = (String, NaiveDateTime, String, String, String, String, Option<String>, Option<String>, Option<String>, String);

/// Filters of `GET /audit-events`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this patient's data.
    pub patient_id: Option<String>,
    /// Only this actor.
    pub actor_id: Option<String>,
    /// From this time (inclusive).
    pub from: Option<NaiveDateTime>,
    /// Until this time (exclusive).
    pub to: Option<NaiveDateTime>,
}

/// The events matching `filter`, oldest first; `centers` restricts them to those centers
/// (a coordinator's view), `None` means every event (the platform administrator's).
pub fn list(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    centers: Option<&[String]>,
    page: &PageRequest,
) -> Result<Page<AuditEvent>, Error> {
    let mut query = audit_events::table
        .select((
            audit_events::id,
            audit_events::at,
            audit_events::actor_id,
            audit_events::on_behalf_of,
            audit_events::action,
            audit_events::resource_type,
            audit_events::resource_id,
            audit_events::patient_id,
            audit_events::cancer_center_id,
            audit_events::outcome,
        ))
        .into_boxed();
    if let Some(centers) = centers {
        query = query.filter(audit_events::cancer_center_id.eq_any(centers.to_vec()));
    }
    if let Some(patient) = &filter.patient_id {
        query = query.filter(audit_events::patient_id.eq(patient.clone()));
    }
    if let Some(actor) = &filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(actor.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_events::at.lt(to));
    }
    if let Some((at, id)) = &page.after {
        let at = NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| Error::NotFound("cursor"))?;
        query = query.filter(audit_events::at.gt(at).or(audit_events::at.eq(at).and(audit_events::id.gt(id.clone()))));
    }
    let rows = query.order((audit_events::at, audit_events::id)).limit(page.fetch()).load::<Row>(conn)?;
    let page = Page::from_rows(rows, page, |r| (crate::page::cursor_time(r.1), r.0.clone()));
    Ok(page.map(|(id, at, actor_id, on_behalf_of, action, resource_type, resource_id, patient_id, cancer_center_id, outcome)| AuditEvent {
        id,
        at,
        actor_id,
        on_behalf_of: on_behalf_of.split_whitespace().map(str::to_owned).collect(),
        action,
        resource_type,
        resource_id,
        patient_id,
        cancer_center_id,
        outcome,
    }))
}

/// Records a refused login or password change (`auth.login`, `auth.password_change`): one
/// `denied` event per center where the account holds a profile, so each center's coordinators
/// see it; the platform administrator sees them all. An attempt on no real account is recorded
/// once, as actor `anonymous` with no account and no center: what was typed is never stored.
pub fn record_refused_login(conn: &mut DbConnection, action: &'static str, account_id: Option<&str>) -> Result<(), Error> {
    let owner = match account_id {
        Some(id) => crate::accounts::owner_and_centers(conn, id)?,
        None => None,
    };
    let (actor, centers) = match owner {
        Some((professional_id, centers)) if centers.is_empty() => (professional_id, vec![None]),
        Some((professional_id, centers)) => (professional_id, centers.into_iter().map(Some).collect()),
        None => ("anonymous".to_owned(), vec![None]),
    };
    let at = now();
    crate::db::write(conn, |c| {
        for center in &centers {
            diesel::insert_into(audit_events::table)
                .values((
                    audit_events::id.eq(event_id()),
                    audit_events::at.eq(at),
                    audit_events::actor_id.eq(&actor),
                    audit_events::on_behalf_of.eq(""),
                    audit_events::action.eq(action),
                    audit_events::resource_type.eq("account"),
                    audit_events::resource_id.eq(account_id.filter(|_| actor != "anonymous")),
                    audit_events::patient_id.eq(None::<String>),
                    audit_events::cancer_center_id.eq(center),
                    audit_events::outcome.eq("denied"),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}
