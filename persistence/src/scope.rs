//! A principal's clinical scope: the RCPs whose sessions and dossiers it may see, computed
//! once per request from indexed lookups, so permission-filtered lists (agenda, tabs) filter in
//! SQL on small id sets rather than loading everything. The meaning is exactly that of
//! `concerto_domain::delegation` (`sees_session`, `sees_all_dossiers`, `sees_dossier_in_agenda`).

use std::collections::HashMap;

use concerto_domain::principal::Principal;
use concerto_domain::rcp::{MemberRole, RcpRoles};
use diesel::prelude::*;

use crate::schema::{rcp_members, rcps};
use crate::{DbConnection, Error};

/// The RCPs a principal reaches, as itself and through the physicians it acts for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClinicalScope {
    /// The principal.
    pub me: String,
    /// P(S): the physicians a secretary acts for (empty for anyone without a secretary profile).
    pub physicians: Vec<String>,
    /// The centers where the principal holds a secretary profile.
    pub secretary_centers: Vec<String>,
    /// RCPs where the principal itself is a member (any role).
    pub own_rcps: Vec<String>,
    /// RCPs of a secretary center where some physician of P(S) is a member (any role).
    pub delegated_rcps: Vec<String>,
    /// Of those, the RCPs where some physician of P(S) is animateur.
    pub delegated_animateur_rcps: Vec<String>,
    /// The roles of the RCPs above as far as the principal and P(S) hold them: their center and
    /// the roles of the principal and of P(S) only (no other member, no manager). That is all
    /// the agenda's rules (`delegation::sees_dossier_in_agenda`) read, so `on_behalf_of` is
    /// named without loading each RCP again.
    pub known_roles: HashMap<String, RcpRoles>,
}

impl ClinicalScope {
    /// RCPs whose sessions appear in the agenda.
    pub fn session_rcps(&self) -> Vec<String> {
        union(&self.own_rcps, &self.delegated_rcps)
    }

    /// RCPs of which every dossier is visible.
    pub fn all_dossier_rcps(&self) -> Vec<String> {
        union(&self.own_rcps, &self.delegated_animateur_rcps)
    }
}

fn union(a: &[String], b: &[String]) -> Vec<String> {
    let mut v: Vec<String> = a.iter().chain(b).cloned().collect();
    v.sort();
    v.dedup();
    v
}

/// Loads the scope of a principal in one query: the memberships of the principal anywhere, and
/// those of P(S) in the RCPs of her secretary centers.
pub fn load(conn: &mut DbConnection, p: &Principal) -> Result<ClinicalScope, Error> {
    let (physicians, secretary_centers) = p.delegation();
    let me = p.professional_id.clone();
    let mine = rcp_members::professional_id.eq(me.clone());
    let query = rcp_members::table.inner_join(rcps::table).select((
        rcp_members::rcp_id,
        rcp_members::professional_id,
        rcp_members::role,
        rcps::cancer_center_id,
    ));
    let rows = if physicians.is_empty() {
        query.filter(mine).load::<(String, String, String, String)>(conn)?
    } else {
        query
            .filter(mine.or(rcp_members::professional_id.eq_any(&physicians).and(rcps::cancer_center_id.eq_any(&secretary_centers))))
            .load::<(String, String, String, String)>(conn)?
    };
    let (mut own_rcps, mut delegated_rcps, mut delegated_animateur_rcps) = (Vec::new(), Vec::new(), Vec::new());
    let mut known_roles: HashMap<String, RcpRoles> = HashMap::new();
    for (rcp, member, role, center) in rows {
        let role = MemberRole::parse(&role)?;
        if member == me {
            own_rcps.push(rcp.clone());
        }
        if physicians.contains(&member) && secretary_centers.contains(&center) {
            if role == MemberRole::Animateur {
                delegated_animateur_rcps.push(rcp.clone());
            }
            delegated_rcps.push(rcp.clone());
        }
        known_roles
            .entry(rcp.clone())
            .or_insert_with(|| RcpRoles { rcp_id: rcp, cancer_center_id: center, members: Vec::new(), managers: Vec::new() })
            .members
            .push((member, role));
    }
    for v in [&mut own_rcps, &mut delegated_rcps, &mut delegated_animateur_rcps] {
        v.sort();
        v.dedup();
    }
    Ok(ClinicalScope { me, physicians, secretary_centers, own_rcps, delegated_rcps, delegated_animateur_rcps, known_roles })
}
