//! A principal's clinical scope: the RCPs whose sessions and dossiers it may see, computed
//! once per request from indexed lookups, so permission-filtered lists (agenda, tabs) filter in
//! SQL on small id sets rather than loading everything. The meaning is exactly that of
//! `concerto_domain::delegation` (`sees_session`, `sees_all_dossiers`, `sees_dossier_in_agenda`).

use concerto_domain::principal::Principal;
use concerto_domain::profile::ProfileKind;
use concerto_domain::rcp::MemberRole;
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

/// Loads the scope of a principal.
pub fn load(conn: &mut DbConnection, p: &Principal) -> Result<ClinicalScope, Error> {
    let own_rcps = rcp_members::table
        .filter(rcp_members::professional_id.eq(&p.professional_id))
        .select(rcp_members::rcp_id)
        .order(rcp_members::rcp_id)
        .load::<String>(conn)?;
    let secretary_centers = p.centers_with(ProfileKind::Secretary);
    let physicians = if secretary_centers.is_empty() { Vec::new() } else { p.represented_physicians() };
    let (mut delegated_rcps, mut delegated_animateur_rcps) = (Vec::new(), Vec::new());
    if !physicians.is_empty() {
        let rows = rcp_members::table
            .inner_join(rcps::table)
            .filter(rcp_members::professional_id.eq_any(&physicians))
            .filter(rcps::cancer_center_id.eq_any(&secretary_centers))
            .select((rcp_members::rcp_id, rcp_members::role))
            .load::<(String, String)>(conn)?;
        for (rcp, role) in rows {
            if role == MemberRole::Animateur.as_str() {
                delegated_animateur_rcps.push(rcp.clone());
            }
            delegated_rcps.push(rcp);
        }
        for v in [&mut delegated_rcps, &mut delegated_animateur_rcps] {
            v.sort();
            v.dedup();
        }
    }
    Ok(ClinicalScope { me: p.professional_id.clone(), physicians, secretary_centers, own_rcps, delegated_rcps, delegated_animateur_rcps })
}
