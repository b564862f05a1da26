//! The audit trail of patient data: every read or write of a patient, dossier, document or
//! report leaves exactly one event, committed before anything is answered. A write's event is
//! written in the write's transaction; a read's in its transaction on PostgreSQL when it has
//! one, otherwise in a statement of its own after it (on SQLite, to the read trail). A refused
//! or failed attempt leaves a `denied` event of its own.

use chrono::NaiveDateTime;
use concerto_domain::DomainError;
use concerto_domain::ErrorCode;
use concerto_domain::delegation::Grant;
use concerto_domain::principal::Principal;
use diesel::prelude::*;

use crate::schema::audit_events;
use crate::{DbConnection, Error, Page, PageRequest, db, now};

diesel::table! {
    /// SQLite only: the events of reads, in a file of their own ([`db::read_trail_path`]), with
    /// the columns of `audit_events`. Not in `schema.rs`, which mirrors the store's own file.
    read_events (id) {
        id -> Text,
        at -> Timestamp,
        actor_id -> Text,
        on_behalf_of -> Text,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        patient_id -> Nullable<Text>,
        cancer_center_id -> Nullable<Text>,
        outcome -> Text,
    }
}

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
        insert(c, p, action, resource_type, &trail, Outcome::Allowed)?;
        Ok(value)
    });
    record_refusal(result, || db::write(conn, |c| insert(c, p, action, resource_type, &trail, Outcome::Denied)))
}

/// Runs `work`, which only reads, and records it like [`audited`]. Nothing is answered before
/// its event is committed. The read runs in a snapshot beside the writers, or on PostgreSQL in
/// no transaction ([`db::read_in_autocommit`]); its event is then committed in a statement of
/// its own: on SQLite to the read trail ([`db::ReadTrail`]), so the store's file is left
/// unchanged and the read never waits for its writers; on PostgreSQL to `audit_events`.
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
/// ([`db::Plans::Kept`]); they, and a read that may switch plans ([`db::Plans::Switchable`]),
/// read and record in one transaction on PostgreSQL, which the plans' setting lasts for.
pub fn audited_read_planned<T>(
    conn: &mut DbConnection,
    plans: db::Plans,
    p: &Principal,
    action: &'static str,
    resource_type: &'static str,
    work: impl FnOnce(&mut DbConnection, &mut Trail) -> Result<T, Error>,
) -> Result<T, Error> {
    if !db::is_sqlite(conn) && plans != db::Plans::Chosen {
        return audited_planned(conn, plans, p, action, resource_type, work);
    }
    let mut trail = Trail::default();
    let result = db::read_in_autocommit(conn, |c| work(c, &mut trail)).and_then(|value| {
        record_read(conn, p, action, resource_type, &trail, Outcome::Allowed)?;
        Ok(value)
    });
    record_refusal(result, || record_read(conn, p, action, resource_type, &trail, Outcome::Denied))
}

/// A refused or failed attempt leaves a `denied` event, written by `record`; an outage or a bug
/// leaves none (the store may not even answer), and the caller gets its error.
fn record_refusal<T>(result: Result<T, Error>, record: impl FnOnce() -> Result<(), Error>) -> Result<T, Error> {
    match result {
        Err(e) if !matches!(e, Error::Unavailable(_) | Error::Database(_)) => {
            record()?;
            Err(e)
        }
        other => other,
    }
}

/// The values of one event, for the table `$t` (`audit_events` or `read_events`).
macro_rules! event {
    ($t:ident, $p:expr, $action:expr, $resource_type:expr, $trail:expr, $outcome:expr) => {
        (
            $t::id.eq(event_id()),
            $t::at.eq(now()),
            $t::actor_id.eq(&$p.professional_id),
            $t::on_behalf_of.eq($trail.grant.on_behalf_of.join(" ")),
            $t::action.eq($action),
            $t::resource_type.eq($resource_type),
            $t::resource_id.eq(&$trail.resource_id),
            $t::patient_id.eq(&$trail.patient_id),
            $t::cancer_center_id.eq(&$trail.cancer_center_id),
            $t::outcome.eq($outcome.as_str()),
        )
    };
}

fn insert(conn: &mut DbConnection, p: &Principal, action: &str, resource_type: &str, trail: &Trail, outcome: Outcome) -> Result<(), Error> {
    diesel::insert_into(audit_events::table).values(event!(audit_events, p, action, resource_type, trail, outcome)).execute(conn)?;
    Ok(())
}

/// Commits a read's event in a statement of its own: on SQLite to the read trail, on PostgreSQL
/// to `audit_events`.
fn record_read(
    conn: &mut DbConnection,
    p: &Principal,
    action: &str,
    resource_type: &str,
    trail: &Trail,
    outcome: Outcome,
) -> Result<(), Error> {
    let on_trail = db::on_read_trail(conn, |c| {
        diesel::insert_into(read_events::table).values(event!(read_events, p, action, resource_type, trail, outcome)).execute(c)?;
        Ok(())
    })?;
    match on_trail {
        Some(()) => Ok(()),
        None => insert(conn, p, action, resource_type, trail, outcome),
    }
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
    /// Allowed or denied.
    pub outcome: Outcome,
    /// What the event adds in words (a login's method and acr, a refusal's reason); none for
    /// the events of patient data.
    pub detail: Option<String>,
}

/// Whether an audited access was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Granted and done.
    Allowed,
    /// Refused or failed; nothing was read or written.
    Denied,
}

impl Outcome {
    /// The API and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
        }
    }
}

/// Reads the storage spelling back: a stored value that is not one of them is a fault of the store.
impl TryFrom<String> for Outcome {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Self, DomainError> {
        [Self::Allowed, Self::Denied]
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| DomainError::invalid("outcome", ErrorCode::InternalError, "outcome must be one of allowed, denied"))
    }
}

/// An event as stored: the physicians a secretary acted for are one space-separated column.
#[derive(Queryable)]
struct Row {
    id: String,
    at: NaiveDateTime,
    actor_id: String,
    on_behalf_of: String,
    action: String,
    resource_type: String,
    resource_id: Option<String>,
    patient_id: Option<String>,
    cancer_center_id: Option<String>,
    #[diesel(deserialize_as = String)]
    outcome: Outcome,
    detail: Option<String>,
}

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

/// The page of the events of table `$t` that match the filters, oldest first.
macro_rules! events_page {
    ($t:ident, $detail:expr, $conn:expr, $filter:expr, $centers:expr, $after:expr, $fetch:expr) => {{
        let mut query = $t::table
            .select((
                $t::id,
                $t::at,
                $t::actor_id,
                $t::on_behalf_of,
                $t::action,
                $t::resource_type,
                $t::resource_id,
                $t::patient_id,
                $t::cancer_center_id,
                $t::outcome,
                $detail,
            ))
            .into_boxed();
        if let Some(centers) = $centers {
            query = query.filter($t::cancer_center_id.eq_any(centers.to_vec()));
        }
        if let Some(patient) = &$filter.patient_id {
            query = query.filter($t::patient_id.eq(patient.clone()));
        }
        if let Some(actor) = &$filter.actor_id {
            query = query.filter($t::actor_id.eq(actor.clone()));
        }
        if let Some(from) = $filter.from {
            query = query.filter($t::at.ge(from));
        }
        if let Some(to) = $filter.to {
            query = query.filter($t::at.lt(to));
        }
        if let Some((at, id)) = &$after {
            query = query.filter($t::at.gt(*at).or($t::at.eq(*at).and($t::id.gt(id.clone()))));
        }
        query.order(($t::at, $t::id)).limit($fetch).load::<Row>($conn)?
    }};
}

/// The events matching `filter`, oldest first (on SQLite, the store's and the read trail's);
/// `centers` restricts them to those centers (a coordinator's view), `None` means every event
/// (the platform administrator's).
pub fn list(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    centers: Option<&[String]>,
    page: &PageRequest,
) -> Result<Page<AuditEvent>, Error> {
    let after = match &page.after {
        Some((at, id)) => {
            Some((NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| Error::NotFound("cursor"))?, id.clone()))
        }
        None => None,
    };
    let mut rows = events_page!(audit_events, audit_events::detail, conn, filter, centers, after, page.fetch());
    // On SQLite, the same page of the read trail, merged in order: two index walks of a page.
    if let Some(reads) = db::on_read_trail(conn, |c| {
        Ok(events_page!(
            read_events,
            diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>("NULL"),
            c,
            filter,
            centers,
            after,
            page.fetch()
        ))
    })? {
        rows.extend(reads);
        rows.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        rows.truncate(usize::try_from(page.fetch()).unwrap_or(usize::MAX));
    }
    let page = Page::from_rows(rows, page, |r| (crate::page::cursor_time(r.at), r.id.clone()));
    Ok(page.map(AuditEvent::from))
}

/// The actions whose events say who acted on a dossier, and for whom: its registration, its
/// validation, the sending of its report (FHIR `Provenance`).
pub const PROVENANCE_ACTIONS: [&str; 3] = ["dossier.create", "dossier.validate", "report.send"];

/// [`PROVENANCE_ACTIONS`] as the SQL predicate of the partial index `audit_events_provenance`
/// (migration `…_fhir_provenance`), written as literals so that both planners match the index's
/// predicate whatever plan they keep (a bound list would not prove it).
const PROVENANCE_PREDICATE: &str = "action IN ('dossier.create', 'dossier.validate', 'report.send')";

/// The allowed events of [`PROVENANCE_ACTIONS`] on these dossiers, oldest first. Writes keep
/// their events in `audit_events` on both stores; the partial index `audit_events_provenance`
/// holds only those events, so a patient's many read events are never walked. No rule is
/// applied here: the caller has already established that each dossier is visible.
pub fn provenance_events(conn: &mut DbConnection, dossier_ids: &[String]) -> Result<Vec<AuditEvent>, Error> {
    if dossier_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = audit_events::table
        .filter(audit_events::resource_id.eq_any(dossier_ids))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(PROVENANCE_PREDICATE))
        .filter(audit_events::outcome.eq(Outcome::Allowed.as_str()))
        .select(ROW_COLUMNS)
        .order((audit_events::at, audit_events::id))
        .load::<Row>(conn)?;
    Ok(rows.into_iter().map(AuditEvent::from).collect())
}

/// The event of [`PROVENANCE_ACTIONS`] with this id, if it is one (allowed); no rule applied:
/// the caller checks that its dossier is visible before showing it.
pub fn find_provenance_event(conn: &mut DbConnection, id: &str) -> Result<Option<AuditEvent>, Error> {
    let row = audit_events::table
        .find(id)
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(PROVENANCE_PREDICATE))
        .filter(audit_events::outcome.eq(Outcome::Allowed.as_str()))
        .select(ROW_COLUMNS)
        .first::<Row>(conn)
        .optional()?;
    Ok(row.map(AuditEvent::from))
}

const ROW_COLUMNS: (
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
    audit_events::detail,
) = (
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
    audit_events::detail,
);

impl From<Row> for AuditEvent {
    fn from(
        Row { id, at, actor_id, on_behalf_of, action, resource_type, resource_id, patient_id, cancer_center_id, outcome, detail }: Row,
    ) -> Self {
        AuditEvent {
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
            detail,
        }
    }
}

/// Records a refused login or password change (`auth.login`, `auth.password_change`): one
/// `denied` event per center where the account holds a profile, so each center's coordinators
/// see it; the platform administrator sees them all. An attempt on no real account is recorded
/// once, as actor `anonymous` with no account and no center: what was typed is never stored.
pub fn record_refused_login(conn: &mut DbConnection, action: &'static str, account_id: Option<&str>, reason: &str) -> Result<(), Error> {
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
                    audit_events::outcome.eq(Outcome::Denied.as_str()),
                    audit_events::detail.eq(reason),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}

/// An event of a login session (`auth.login`, `auth.refresh`, `auth.logout`, `auth.session_end`, …)
/// on the account of `account_id`, in the caller's transaction: one event per center where the
/// account holds a profile, so each center's coordinators see it, as refused logins are recorded.
/// `actor` is who did it (the account's professional, or an administrator's); `detail` says how
/// or why in words, never a token.
pub fn record_session_event(
    conn: &mut DbConnection,
    actor: Option<&str>,
    account_id: &str,
    action: &'static str,
    session_id: Option<&str>,
    outcome: Outcome,
    detail: &str,
) -> Result<(), Error> {
    let Some((professional_id, centers)) = crate::accounts::owner_and_centers(conn, account_id)? else {
        return Err(Error::NotFound("account"));
    };
    let centers: Vec<Option<String>> = if centers.is_empty() { vec![None] } else { centers.into_iter().map(Some).collect() };
    let actor = actor.unwrap_or(&professional_id).to_owned();
    let at = now();
    for center in &centers {
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::id.eq(event_id()),
                audit_events::at.eq(at),
                audit_events::actor_id.eq(&actor),
                audit_events::on_behalf_of.eq(""),
                audit_events::action.eq(action),
                audit_events::resource_type.eq("login_session"),
                audit_events::resource_id.eq(session_id.unwrap_or(account_id)),
                audit_events::patient_id.eq(None::<String>),
                audit_events::cancer_center_id.eq(center),
                audit_events::outcome.eq(outcome.as_str()),
                audit_events::detail.eq(detail),
            ))
            .execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Store, connect};
    use concerto_domain::professional::Category;
    use diesel::sql_types::BigInt;

    #[derive(QueryableByName)]
    struct Number {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn number(conn: &mut DbConnection, sql: &str) -> i64 {
        diesel::sql_query(sql).get_result::<Number>(conn).unwrap().n
    }

    /// The read trail's reason to be: a read on SQLite commits nothing to the store's
    /// file, so the other connections keep their page cache of it; a write still commits its
    /// event there; and the trail lists both files' events as one, in order, page after page.
    #[test]
    fn on_sqlite_a_read_leaves_the_store_file_unchanged_and_the_trail_lists_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::Sqlite(dir.path().join("trail.db").to_string_lossy().into_owned());
        let pool = connect(&store, 2).unwrap();
        let (mut reader, mut other) = (pool.get().unwrap(), pool.get().unwrap());
        let p = Principal::new("a".into(), "doc".into(), Category::Physician, false, vec![], vec![]);
        let version = |c: &mut DbConnection| number(c, "SELECT data_version AS n FROM pragma_data_version");
        let before = version(&mut other);

        audited_read(&mut reader, &p, "dossier.read", "dossier", |_, t| {
            t.resource_id = Some("d1".into());
            Ok(())
        })
        .unwrap();
        assert_eq!(version(&mut other), before, "a read committed to the store's file");
        let in_trail = db::on_read_trail(&mut other, |c| {
            Ok(read_events::table.filter(read_events::resource_id.eq("d1")).count().get_result::<i64>(c)?)
        });
        assert_eq!(in_trail.unwrap(), Some(1));
        assert_eq!(number(&mut other, "SELECT COUNT(*) AS n FROM main.audit_events"), 0);

        let refused = audited_read(&mut reader, &p, "dossier.read", "dossier", |_, t| -> Result<(), Error> {
            t.resource_id = Some("d2".into());
            Err(Error::NotFound("dossier"))
        });
        assert!(refused.is_err());
        audited(&mut reader, &p, "dossier.update", "dossier", |_, t| {
            t.resource_id = Some("d3".into());
            Ok(())
        })
        .unwrap();
        assert_ne!(version(&mut other), before, "a write's event belongs in the store's file");
        assert_eq!(number(&mut other, "SELECT COUNT(*) AS n FROM main.audit_events WHERE resource_id = 'd3'"), 1);

        let mut seen = Vec::new();
        let mut request = PageRequest::first(1);
        loop {
            let page = list(&mut other, &AuditFilter { actor_id: Some("doc".into()), ..Default::default() }, None, &request).unwrap();
            seen.extend(page.items.iter().map(|e| (e.resource_id.clone().unwrap(), e.outcome.as_str())));
            match page.next_cursor {
                Some(cursor) => request = PageRequest::with_cursor(1, Some(&cursor)).unwrap(),
                None => break,
            }
        }
        let expected = [("d1", "allowed"), ("d2", "denied"), ("d3", "allowed")];
        assert_eq!(seen, expected.map(|(r, o)| (r.to_owned(), o)));
    }
}

#[cfg(test)]
mod provenance_tests {
    use super::*;

    #[test]
    fn the_provenance_predicate_is_the_actions_and_the_index_of_both_stores() {
        let listed: Vec<String> = PROVENANCE_ACTIONS.iter().map(|a| format!("'{a}'")).collect();
        assert_eq!(PROVENANCE_PREDICATE, format!("action IN ({})", listed.join(", ")));
        for store in ["sqlite", "postgres"] {
            let path = format!("{}/../migrations/{store}/2026-12-20-000028_fhir_provenance/up.sql", env!("CARGO_MANIFEST_DIR"));
            let sql = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(sql.contains(&format!("WHERE {PROVENANCE_PREDICATE};")), "{path} indexes another predicate");
        }
    }
}
