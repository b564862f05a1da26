//! The agenda: the sessions a caller may see, each with only the dossiers the caller may see in
//! it (the delegation table's first two rows), filtered in SQL from the caller's scope.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use concerto_domain::delegation::{self, Grant};
use concerto_domain::principal::Principal;
use diesel::prelude::*;

use crate::dossiers::{self, DossierSummary};
use crate::page::{cursor_time, parse_cursor_time};
use crate::schema::{rcp_sessions, rcps};
use crate::sessions::{COLUMNS, Session};
use crate::{DbConnection, Error, Page, PageRequest, audit, scope};

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
    // The rule depends on the RCP and the requester only: asked once per pair, not per dossier
    // (a heavy agenda shows a hundred dossiers from a few requesters in a few RCPs).
    let pairs: std::collections::HashSet<(&str, &str)> =
        shown.values().flatten().map(|d| (d.rcp_id.as_str(), d.requester_id.as_str())).collect();
    let physicians = pairs
        .into_iter()
        .filter_map(|(rcp, requester)| scope.known_roles.get(rcp).and_then(|r| delegation::sees_dossier_in_agenda(p, r, requester)))
        .flat_map(|grant| grant.on_behalf_of);
    Grant::delegated(physicians)
}
