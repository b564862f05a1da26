//! RCPs (tumor boards) of a cancer center, their members (participants, animateurs) and managers.

use concerto_domain::ErrorCode;
use concerto_domain::affiliation::ensure_physician;
use concerto_domain::delegation;
use concerto_domain::id::{CancerCenterId, ProfessionalId, RcpId};
use concerto_domain::principal::Principal;
use concerto_domain::professional::display_name;
use concerto_domain::rcp::{MemberRole, RcpRoles};
use concerto_domain::rules;
use diesel::prelude::*;

use crate::schema::{professionals, rcp_managers, rcp_members, rcps};
use crate::{DbConnection, Error, Page, PageRequest, new_id, now, professionals as directory};

/// An RCP.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Rcp {
    /// Opaque id.
    pub id: String,
    /// The center it belongs to.
    pub cancer_center_id: String,
    /// Name.
    pub name: String,
    /// Specialty (digestive, thoracic, …).
    pub specialty: String,
    /// Its national settings.
    #[diesel(embed)]
    pub national: National,
}

/// The national settings of an RCP (the FRCP header), each unset until given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Queryable)]
pub struct National {
    /// Its nature, a `frcp-rcp-nature` code: `ORG-117` organ RCP, `ORG-132` cross-cutting.
    pub nature: Option<String>,
    /// Its organ, a `frcp-organ` code.
    pub organ: Option<String>,
    /// The regional cancer network's identifier (OID `1.2.250.1.161.1.20.1.1`).
    pub network_id: Option<String>,
    /// The RCP manager's identifier (OID `1.2.250.1.161.1.20.2.1`).
    pub manager_id: Option<String>,
    /// The RCP's national identifier (OID `1.2.250.1.161.1.20.3.1`).
    pub national_id: Option<String>,
}

/// A change of national settings: `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NationalPatch {
    /// The nature (checked against its list).
    pub nature: Option<Option<String>>,
    /// The organ (checked against its list).
    pub organ: Option<Option<String>>,
    /// The network's identifier.
    pub network_id: Option<Option<String>>,
    /// The manager's identifier.
    pub manager_id: Option<Option<String>>,
    /// The RCP's national identifier.
    pub national_id: Option<Option<String>>,
}

#[allow(clippy::type_complexity)] // the columns of `Rcp`, in its order
const COLUMNS: (
    rcps::id,
    rcps::cancer_center_id,
    rcps::name,
    rcps::specialty,
    (rcps::nature, rcps::organ, rcps::network_id, rcps::manager_id, rcps::national_id),
) = (
    rcps::id,
    rcps::cancer_center_id,
    rcps::name,
    rcps::specialty,
    (rcps::nature, rcps::organ, rcps::network_id, rcps::manager_id, rcps::national_id),
);

/// A member or manager with the name to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The professional.
    pub professional_id: String,
    /// "Given FAMILY".
    pub display_name: String,
    /// For members: the role; `None` for managers.
    pub role: Option<MemberRole>,
}

/// An RCP with its members and managers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RcpDetail {
    /// The RCP.
    pub rcp: Rcp,
    /// Its members, by name.
    pub members: Vec<Person>,
    /// Its managers, by name.
    pub managers: Vec<Person>,
}

/// `POST /rcps`: coordinators of the center (and the platform administrator).
pub fn create(conn: &mut DbConnection, p: &Principal, cancer_center_id: &str, name: &str, specialty: &str) -> Result<Rcp, Error> {
    crate::db::write(conn, |c| {
        crate::cancer_centers::find(c, cancer_center_id)?;
        rules::may_administer_center(p, cancer_center_id)?;
        let rcp = Rcp {
            id: new_id(),
            cancer_center_id: cancer_center_id.to_owned(),
            name: name.trim().to_owned(),
            specialty: specialty.trim().to_owned(),
            national: National::default(),
        };
        diesel::insert_into(rcps::table)
            .values((
                rcps::id.eq(&rcp.id),
                rcps::cancer_center_id.eq(&rcp.cancer_center_id),
                rcps::name.eq(&rcp.name),
                rcps::specialty.eq(&rcp.specialty),
                rcps::created_at.eq(now()),
            ))
            .execute(c)?;
        Ok(rcp)
    })
}

/// `PATCH /rcps/{id}`: sets the RCP's national settings (the coded ones checked against their
/// loaded lists, on today's date). The platform administrator and the coordinators of its center.
pub fn set_national(conn: &mut DbConnection, p: &Principal, id: &str, patch: &NationalPatch) -> Result<Rcp, Error> {
    use concerto_domain::fiche::{FRCP_ORGAN, FRCP_RCP_NATURE};
    use concerto_domain::national::identifier;
    crate::db::write(conn, |c| {
        let mut rcp = find(c, id)?;
        rules::may_set_national_settings(p, &rcp.cancer_center_id)?;
        let today = now().date();
        // Both codes in the statements of one check, whichever of them the patch sets.
        let coded = [(FRCP_RCP_NATURE, "nature", &patch.nature), (FRCP_ORGAN, "organ", &patch.organ)];
        let codes: Vec<(&str, &'static str, &str)> =
            coded.iter().filter_map(|(system, field, value)| Some((*system, *field, value.as_ref()?.as_deref()?))).collect();
        crate::terminology::check_codes(c, &codes, today)?;
        let n = &mut rcp.national;
        if let Some(nature) = &patch.nature {
            n.nature = nature.as_ref().map(|v| v.trim().to_owned());
        }
        if let Some(organ) = &patch.organ {
            n.organ = organ.as_ref().map(|v| v.trim().to_owned());
        }
        for (field, value, slot) in [
            ("network_id", &patch.network_id, &mut n.network_id),
            ("manager_id", &patch.manager_id, &mut n.manager_id),
            ("national_id", &patch.national_id, &mut n.national_id),
        ] {
            if let Some(value) = value {
                *slot = value.as_deref().map(|v| identifier(field, v)).transpose()?;
            }
        }
        diesel::update(rcps::table.find(id))
            .set((
                rcps::nature.eq(&n.nature),
                rcps::organ.eq(&n.organ),
                rcps::network_id.eq(&n.network_id),
                rcps::manager_id.eq(&n.manager_id),
                rcps::national_id.eq(&n.national_id),
            ))
            .execute(c)?;
        Ok(rcp)
    })
}

/// The RCP with this id.
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Rcp, Error> {
    rcps::table.find(id).select(COLUMNS).first(conn).optional()?.ok_or(Error::NotFound("rcp"))
}

/// `GET /rcps?cancer_center_id=`: RCPs by name (their existence and membership are not medical data).
pub fn list(conn: &mut DbConnection, cancer_center_id: Option<&str>, page: &PageRequest) -> Result<Page<Rcp>, Error> {
    let mut query = rcps::table.select(COLUMNS).into_boxed();
    if let Some(center) = cancer_center_id {
        query = query.filter(rcps::cancer_center_id.eq(center.to_owned()));
    }
    if let Some((name, id)) = &page.after {
        query = query.filter(rcps::name.gt(name.clone()).or(rcps::name.eq(name.clone()).and(rcps::id.gt(id.clone()))));
    }
    let rows = query.order((rcps::name, rcps::id)).limit(page.fetch()).load::<Rcp>(conn)?;
    Ok(Page::from_rows(rows, page, |r| (r.name.clone(), r.id.clone())))
}

// One round trip for the RCP, its members and its managers: every patient-data request asks it.
// Each row is a member (its role), a manager (`manager`) or the RCP itself (its center, `center`).
// Hand-written because diesel's MultiConnection has no UNION.
const ROLES_SQL: &str = "SELECT professional_id, role FROM rcp_members WHERE rcp_id = ? \
     UNION ALL SELECT professional_id, 'manager' FROM rcp_managers WHERE rcp_id = ? \
     UNION ALL SELECT cancer_center_id, 'center' FROM rcps WHERE id = ?";

/// The roles of an RCP, as the delegation rules read them.
pub fn roles(conn: &mut DbConnection, rcp_id: &str) -> Result<RcpRoles, Error> {
    use crate::cached_sql::{Bind, CachedSql};
    let id = || Bind::Text(rcp_id.to_owned());
    let rows =
        CachedSql::<(diesel::sql_types::Text, diesel::sql_types::Text)>::new(ROLES_SQL)
            .bind(id())
            .bind(id())
            .bind(id())
            .load::<(String, String)>(conn)?;
    let mut roles = RcpRoles { rcp_id: rcp_id.to_owned(), cancer_center_id: String::new(), members: Vec::new(), managers: Vec::new() };
    let mut found = false;
    for (who, what) in rows {
        match what.as_str() {
            "center" => {
                roles.cancer_center_id = who;
                found = true;
            }
            "manager" => roles.managers.push(who),
            role => roles.members.push((who, MemberRole::parse(role)?)),
        }
    }
    if found { Ok(roles) } else { Err(Error::NotFound("rcp")) }
}

/// `GET /rcps/{id}`: the RCP with its members and managers.
pub fn detail(conn: &mut DbConnection, id: &str) -> Result<RcpDetail, Error> {
    let rcp = find(conn, id)?;
    let members = rcp_members::table
        .inner_join(professionals::table.on(professionals::id.eq(rcp_members::professional_id)))
        .filter(rcp_members::rcp_id.eq(id))
        .select((professionals::id, professionals::family_name, professionals::given_name, rcp_members::role))
        .order((professionals::search_name, professionals::id))
        .load::<(String, String, String, String)>(conn)?
        .into_iter()
        .map(|(id, f, g, role)| {
            Ok(Person { professional_id: id, display_name: display_name(&f, &g), role: Some(MemberRole::parse(&role)?) })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let managers = rcp_managers::table
        .inner_join(professionals::table.on(professionals::id.eq(rcp_managers::professional_id)))
        .filter(rcp_managers::rcp_id.eq(id))
        .select((professionals::id, professionals::family_name, professionals::given_name))
        .order((professionals::search_name, professionals::id))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, f, g)| Person { professional_id: id, display_name: display_name(&f, &g), role: None })
        .collect();
    Ok(RcpDetail { rcp, members, managers })
}

/// `PUT /rcps/{id}/members/{professional_id}`: adds a physician or changes his role; idempotent.
pub fn set_member(
    conn: &mut DbConnection,
    p: &Principal,
    rcp: &RcpId,
    professional: &ProfessionalId,
    role: MemberRole,
) -> Result<(), Error> {
    let (rcp_id, professional_id) = (rcp.as_str(), professional.as_str());
    crate::db::write(conn, |c| {
        directory::lock(c, &[professional_id])?;
        let roles = roles(c, rcp_id)?;
        delegation::may_manage_rcp(p, &roles)?;
        ensure_physician(directory::find(c, professional_id)?.category).map_err(|_| concerto_domain::DomainError::Unprocessable {
            code: ErrorCode::NotAPhysician,
            message: "only physicians can be members of an RCP".to_owned(),
        })?;
        match roles.role_of(professional_id) {
            Some(current) if current == role => {}
            Some(_) => {
                diesel::update(rcp_members::table.find((rcp_id, professional_id))).set(rcp_members::role.eq(role.as_str())).execute(c)?;
            }
            None => {
                diesel::insert_into(rcp_members::table)
                    .values((
                        rcp_members::rcp_id.eq(rcp_id),
                        rcp_members::professional_id.eq(professional_id),
                        rcp_members::role.eq(role.as_str()),
                        rcp_members::added_at.eq(now()),
                    ))
                    .execute(c)?;
            }
        }
        Ok(())
    })
}

/// `DELETE /rcps/{id}/members/{professional_id}`: idempotent; his secretaries lose what they
/// saw through him with their next request.
pub fn remove_member(conn: &mut DbConnection, p: &Principal, rcp: &RcpId, professional: &ProfessionalId) -> Result<(), Error> {
    let (rcp_id, professional_id) = (rcp.as_str(), professional.as_str());
    crate::db::write(conn, |c| {
        delegation::may_manage_rcp(p, &roles(c, rcp_id)?)?;
        directory::find(c, professional_id)?;
        diesel::delete(rcp_members::table.find((rcp_id, professional_id))).execute(c)?;
        Ok(())
    })
}

/// `PUT /rcps/{id}/managers/{professional_id}`: idempotent.
pub fn add_manager(conn: &mut DbConnection, p: &Principal, rcp: &RcpId, professional: &ProfessionalId) -> Result<(), Error> {
    let (rcp_id, professional_id) = (rcp.as_str(), professional.as_str());
    crate::db::write(conn, |c| {
        let roles = roles(c, rcp_id)?;
        delegation::may_manage_rcp(p, &roles)?;
        directory::find(c, professional_id)?;
        if !roles.is_manager(professional_id) {
            diesel::insert_into(rcp_managers::table)
                .values((
                    rcp_managers::rcp_id.eq(rcp_id),
                    rcp_managers::professional_id.eq(professional_id),
                    rcp_managers::added_at.eq(now()),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}

/// `DELETE /rcps/{id}/managers/{professional_id}`: idempotent.
pub fn remove_manager(conn: &mut DbConnection, p: &Principal, rcp: &RcpId, professional: &ProfessionalId) -> Result<(), Error> {
    let (rcp_id, professional_id) = (rcp.as_str(), professional.as_str());
    crate::db::write(conn, |c| {
        delegation::may_manage_rcp(p, &roles(c, rcp_id)?)?;
        directory::find(c, professional_id)?;
        diesel::delete(rcp_managers::table.find((rcp_id, professional_id))).execute(c)?;
        Ok(())
    })
}

/// The RCPs of a center that a professional manages.
pub fn managed_in_center(conn: &mut DbConnection, professional: &ProfessionalId, center: &CancerCenterId) -> Result<Vec<String>, Error> {
    Ok(rcp_managers::table
        .inner_join(rcps::table)
        .filter(rcp_managers::professional_id.eq(professional.as_str()))
        .filter(rcps::cancer_center_id.eq(center.as_str()))
        .select(rcps::id)
        .load::<String>(conn)?)
}
