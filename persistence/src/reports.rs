//! Reports of the "infocentre": the secretaries of each physician of a center.

use concerto_domain::id::{CancerCenterId, ProfessionalId};
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

/// A physician and a secretary holding his rights, with their sort keys.
#[derive(Queryable)]
struct NameCols {
    physician_key: String,
    physician_id: String,
    physician_family: String,
    physician_given: String,
    rpps: Option<String>,
    secretary_key: String,
    secretary_id: String,
    secretary_family: String,
    secretary_given: String,
}

/// A report row and the names it is ordered by.
struct Keyed {
    physician_key: String,
    secretary_key: String,
    row: PhysicianSecretaryRow,
}

impl Keyed {
    /// By physician, then secretary, direct rows before those through a group.
    fn order(&self) -> (&str, &str, &str, &str, Option<&str>) {
        (&self.physician_key, &self.row.physician_id, &self.secretary_key, &self.row.secretary_id, self.row.via_group_name.as_deref())
    }
}

/// `GET /reports/physician-secretaries?cancer_center_id=`: the physicians holding a physician
/// profile on the center (for an RCP manager: the members of the RCPs he manages there), each with every secretary holding his rights (direct rows first, then
/// by group), ordered by physician then secretary name.
pub fn physician_secretaries(conn: &mut DbConnection, p: &Principal, cancer_center_id: &str) -> Result<Vec<PhysicianSecretaryRow>, Error> {
    crate::db::read(conn, |c| {
        crate::cancer_centers::find(c, cancer_center_id)?;
        let managed =
            crate::rcps::managed_in_center(c, &ProfessionalId::from(p.professional_id.as_str()), &CancerCenterId::from(cancer_center_id))?;
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
        let t = crate::now();
        let direct = secretary_affiliations::table
            .inner_join(professionals::table.on(professionals::id.eq(secretary_affiliations::physician_id)))
            .inner_join(secretaries.on(secretaries.field(professionals::id).eq(secretary_affiliations::secretary_id)))
            .filter(secretary_affiliations::physician_id.eq_any(&physicians))
            // Those who hold his rights now: a dated delegation counts between its dates.
            .filter(secretary_affiliations::valid_from.is_null().or(secretary_affiliations::valid_from.le(t)))
            .filter(secretary_affiliations::valid_until.is_null().or(secretary_affiliations::valid_until.gt(t)))
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
            .filter(physician_secretary_groups::valid_from.is_null().or(physician_secretary_groups::valid_from.le(t)))
            .filter(physician_secretary_groups::valid_until.is_null().or(physician_secretary_groups::valid_until.gt(t)))
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
        let mut rows: Vec<Keyed> = direct
            .into_iter()
            .map(|cols| row(cols, None))
            .chain(via_groups.into_iter().map(|(cols, gid, gname)| row(cols, Some((gid, gname)))))
            .collect();
        rows.sort_by(|a, b| a.order().cmp(&b.order()));
        Ok(rows.into_iter().map(|k| k.row).collect())
    })
}

fn row(cols: NameCols, group: Option<(String, String)>) -> Keyed {
    let (via_group_id, via_group_name) = group.unzip();
    Keyed {
        physician_key: cols.physician_key,
        secretary_key: cols.secretary_key,
        row: PhysicianSecretaryRow {
            physician_id: cols.physician_id,
            physician_name: display_name(&cols.physician_family, &cols.physician_given),
            rpps: cols.rpps,
            secretary_id: cols.secretary_id,
            secretary_name: display_name(&cols.secretary_family, &cols.secretary_given),
            via_group_id,
            via_group_name,
        },
    }
}
