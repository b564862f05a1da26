//! Reports of the "infocentre": the secretaries of each physician of a center.

use concerto_domain::principal::Principal;
use concerto_domain::professional::display_name;
use concerto_domain::profile::ProfileKind;
use concerto_domain::rules::{self, ReportScope};
use diesel::prelude::*;

use crate::schema::{
    physician_secretary_groups, professionals, profiles, rcp_members, secretary_affiliations, secretary_group_members, secretary_groups,
};
use crate::{DbConnection, Error};

diesel::alias!(professionals as secretaries: SecretaryAlias);

/// One row: a physician and one secretary holding his rights, and the group she holds them through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhysicianSecretaryRow {
    /// The physician.
    pub physician_id: String,
    /// "Given FAMILY".
    pub physician_name: String,
    /// His RPPS number.
    pub rpps: Option<String>,
    /// The secretary.
    pub secretary_id: String,
    /// "Given FAMILY".
    pub secretary_name: String,
    /// The group, for an affiliation through a group.
    pub via_group_id: Option<String>,
    /// The group's name.
    pub via_group_name: Option<String>,
}

type NameCols = (String, String, String, String, Option<String>, String, String, String, String);

/// `GET /reports/physician-secretaries?cancer_center_id=`: the physicians holding a physician
/// profile on the center (for an RCP manager: the members of the RCPs he manages there), each with every secretary holding his rights (direct rows first, then
/// by group), ordered by physician then secretary name.
pub fn physician_secretaries(conn: &mut DbConnection, p: &Principal, cancer_center_id: &str) -> Result<Vec<PhysicianSecretaryRow>, Error> {
    crate::db::read(conn, |c| {
        crate::cancer_centers::find(c, cancer_center_id)?;
        let managed = crate::rcps::managed_in_center(c, &p.professional_id, cancer_center_id)?;
        let physicians: Vec<String> = match rules::report_scope(p, cancer_center_id, !managed.is_empty())? {
            ReportScope::WholeCenter => profiles::table
                .filter(profiles::cancer_center_id.eq(cancer_center_id))
                .filter(profiles::kind.eq(ProfileKind::Physician.as_str()))
                .select(profiles::professional_id)
                .load(c)?,
            ReportScope::ManagedRcps => {
                rcp_members::table.filter(rcp_members::rcp_id.eq_any(&managed)).select(rcp_members::professional_id).distinct().load(c)?
            }
        };
        let direct = secretary_affiliations::table
            .inner_join(professionals::table.on(professionals::id.eq(secretary_affiliations::physician_id)))
            .inner_join(secretaries.on(secretaries.field(professionals::id).eq(secretary_affiliations::secretary_id)))
            .filter(secretary_affiliations::physician_id.eq_any(&physicians))
            .select((
                professionals::search_name,
                professionals::id,
                professionals::family_name,
                professionals::given_name,
                professionals::rpps,
                secretaries.field(professionals::search_name),
                secretaries.field(professionals::id),
                secretaries.field(professionals::family_name),
                secretaries.field(professionals::given_name),
            ))
            .load::<NameCols>(c)?;
        let via_groups = physician_secretary_groups::table
            .inner_join(professionals::table.on(professionals::id.eq(physician_secretary_groups::physician_id)))
            .inner_join(secretary_groups::table.on(secretary_groups::id.eq(physician_secretary_groups::group_id)))
            .inner_join(secretary_group_members::table.on(secretary_group_members::group_id.eq(physician_secretary_groups::group_id)))
            .inner_join(secretaries.on(secretaries.field(professionals::id).eq(secretary_group_members::secretary_id)))
            .filter(physician_secretary_groups::physician_id.eq_any(&physicians))
            .select((
                (
                    professionals::search_name,
                    professionals::id,
                    professionals::family_name,
                    professionals::given_name,
                    professionals::rpps,
                    secretaries.field(professionals::search_name),
                    secretaries.field(professionals::id),
                    secretaries.field(professionals::family_name),
                    secretaries.field(professionals::given_name),
                ),
                secretary_groups::id,
                secretary_groups::name,
            ))
            .load::<(NameCols, String, String)>(c)?;
        let mut rows: Vec<(String, String, PhysicianSecretaryRow)> = direct
            .into_iter()
            .map(|cols| row(cols, None))
            .chain(via_groups.into_iter().map(|(cols, gid, gname)| row(cols, Some((gid, gname)))))
            .collect();
        rows.sort_by(|a, b| {
            (&a.0, &a.2.physician_id, &a.1, &a.2.secretary_id, &a.2.via_group_name).cmp(&(
                &b.0,
                &b.2.physician_id,
                &b.1,
                &b.2.secretary_id,
                &b.2.via_group_name,
            ))
        });
        Ok(rows.into_iter().map(|(_, _, r)| r).collect())
    })
}

fn row(
    (physician_key, physician_id, pf, pg, rpps, secretary_key, secretary_id, sf, sg): NameCols,
    group: Option<(String, String)>,
) -> (String, String, PhysicianSecretaryRow) {
    let (via_group_id, via_group_name) = group.unzip();
    (
        physician_key,
        secretary_key,
        PhysicianSecretaryRow {
            physician_id,
            physician_name: display_name(&pf, &pg),
            rpps,
            secretary_id,
            secretary_name: display_name(&sf, &sg),
            via_group_id,
            via_group_name,
        },
    )
}
