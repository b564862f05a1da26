//! Administration rights: who may change the directory, the delegation graph and read reports.
//!
//! Each function answers `Ok(())` or the `Forbidden` code the API returns. The medical rights of
//! the delegation table live in their own modules; these are the administrative ones of API.md.

use crate::DomainError;
use crate::ErrorCode;
use crate::principal::Principal;

/// Refusal with the stable code the API answers with.
fn deny(code: ErrorCode) -> Result<(), DomainError> {
    Err(DomainError::Forbidden(code))
}

/// Platform-level administration (centers, professionals, accounts, profiles).
pub fn may_administer_platform(p: &Principal) -> Result<(), DomainError> {
    if p.is_platform_admin { Ok(()) } else { deny(ErrorCode::PlatformAdminRequired) }
}

/// Administration of one center: its coordinators and the platform administrator.
pub fn may_administer_center(p: &Principal, cancer_center_id: &str) -> Result<(), DomainError> {
    if p.is_platform_admin || p.coordinates(cancer_center_id) { Ok(()) } else { deny(ErrorCode::CenterCoordinatorRequired) }
}

/// The national settings of an RCP or of a center (its nature, organ, national identifiers,
/// FINESS): the platform administrator and the coordinators of the center (the RCP's center).
pub fn may_set_national_settings(p: &Principal, cancer_center_id: &str) -> Result<(), DomainError> {
    may_administer_center(p, cancer_center_id)
}

/// `DELETE /accounts/{id}/sessions`: the platform administrator ends every session of another
/// account. Not of his own, which would end the session he works in along with the others, as
/// disabling himself would: he ends his own one by one (`DELETE /me/sessions/{id}`).
pub fn may_end_sessions_of(p: &Principal, target_account_id: &str) -> Result<(), DomainError> {
    may_administer_platform(p)?;
    if p.account_id == target_account_id {
        return Err(DomainError::Conflict {
            code: ErrorCode::CannotEndOwnSessions,
            message: "end your own sessions one by one with DELETE /me/sessions/{id}".to_owned(),
        });
    }
    Ok(())
}

/// `PATCH /accounts/{id}` with `active: false`: never one's own account (an administrator who
/// disables himself is locked out at once), and never the last active platform administrator
/// (only `concerto create-admin` on the server would bring one back). `target_is_admin` and
/// `other_active_admins` are read under the administrators' lock, so two administrators
/// disabling each other cannot both pass. Enabling is always allowed.
pub fn may_disable_account(
    p: &Principal,
    target_account_id: &str,
    target_is_admin: bool,
    other_active_admins: i64,
) -> Result<(), DomainError> {
    may_administer_platform(p)?;
    if p.account_id == target_account_id {
        return Err(DomainError::Conflict {
            code: ErrorCode::CannotDisableSelf,
            message: "you cannot disable your own account; another administrator can".to_owned(),
        });
    }
    if target_is_admin && other_active_admins == 0 {
        return Err(DomainError::Conflict {
            code: ErrorCode::LastPlatformAdmin,
            message: "this is the last active platform administrator; enable or create another one first".to_owned(),
        });
    }
    Ok(())
}

/// Asking the platform to open an account: a coordinator of the requesting center only (the
/// administrator fulfils requests, it does not file them).
pub fn may_request_account(p: &Principal, cancer_center_id: &str) -> Result<(), DomainError> {
    if p.coordinates(cancer_center_id) { Ok(()) } else { deny(ErrorCode::CenterCoordinatorRequired) }
}

/// "Modifier la catégorie": a coordinator of a center where the professional holds a profile,
/// or the platform administrator.
pub fn may_change_category(p: &Principal, target_centers: &[String]) -> Result<(), DomainError> {
    if p.is_platform_admin || target_centers.iter().any(|c| p.coordinates(c)) { Ok(()) } else { deny(ErrorCode::CenterCoordinatorRequired) }
}

/// "Gérer les secrétaires": a coordinator of a center where both the physician and the
/// secretary (or the group) hold a profile, or the platform administrator.
pub fn may_manage_affiliation(p: &Principal, physician_centers: &[String], secretary_centers: &[String]) -> Result<(), DomainError> {
    let shared = physician_centers.iter().any(|c| secretary_centers.contains(c) && p.coordinates(c));
    if p.is_platform_admin || shared { Ok(()) } else { deny(ErrorCode::CenterCoordinatorRequired) }
}

/// Reading who are the secretaries of a physician: the administrators of one of his centers,
/// and the physician himself.
pub fn may_read_secretaries_of(p: &Principal, physician_id: &str, physician_centers: &[String]) -> Result<(), DomainError> {
    if p.professional_id == physician_id {
        return Ok(());
    }
    may_change_category(p, physician_centers)
}

/// Which physicians the physician-secretaries report of a center covers for this caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportScope {
    /// Every physician of the center: its coordinators and the platform administrator.
    WholeCenter,
    /// The members of the RCPs the caller manages there ("responsables de RCP").
    ManagedRcps,
}

/// The report of a center's physicians' secretaries ("infocentre", seed 3.2): coordinators and
/// the platform administrator see the whole center, RCP managers their RCPs' members.
pub fn report_scope(p: &Principal, cancer_center_id: &str, manages_rcps_there: bool) -> Result<ReportScope, DomainError> {
    if p.is_platform_admin || p.coordinates(cancer_center_id) {
        Ok(ReportScope::WholeCenter)
    } else if manages_rcps_there {
        Ok(ReportScope::ManagedRcps)
    } else {
        Err(DomainError::Forbidden(ErrorCode::CenterCoordinatorRequired))
    }
}

/// The centers whose administrative records (account requests, audit trail) a caller reads:
/// `None` for all of them (the platform administrator), otherwise the centers she coordinates;
/// anyone else is refused with `refusal`.
pub fn administered_centers(p: &Principal, refusal: ErrorCode) -> Result<Option<Vec<String>>, DomainError> {
    if p.is_platform_admin {
        return Ok(None);
    }
    let centers = p.coordinated_centers();
    if centers.is_empty() { Err(DomainError::Forbidden(refusal)) } else { Ok(Some(centers)) }
}

/// A physician's own delegation (`PUT /professionals/{id}/secretaries/{secretary_id}` by the
/// physician himself): to a secretary holding a secretary profile on one of his centers, and
/// dated: it must end (`valid_until_required`), as a holiday cover does. Coordinators keep
/// [`may_manage_affiliation`] for open-ended ones.
pub fn may_grant_own_delegation(
    p: &Principal,
    physician_id: &str,
    physician_centers: &[String],
    secretary_profile_centers: &[String],
    has_end: bool,
) -> Result<(), DomainError> {
    if p.professional_id != physician_id || !physician_centers.iter().any(|c| secretary_profile_centers.contains(c)) {
        return deny(ErrorCode::CenterCoordinatorRequired);
    }
    if !has_end {
        return Err(DomainError::invalid("valid_until", ErrorCode::ValidUntilRequired, "a physician's own delegation has an end date"));
    }
    Ok(())
}

/// `PUT /professionals/{id}/secretaries/{secretary_id}`: whoever may manage the affiliation
/// ([`may_manage_affiliation`]), or else the physician himself for a dated delegation to a
/// secretary of one of his centers ([`may_grant_own_delegation`]).
pub fn may_grant_delegation(
    p: &Principal,
    physician_id: &str,
    physician_centers: &[String],
    secretary_centers: &[String],
    secretary_profile_centers: &[String],
    has_end: bool,
) -> Result<(), DomainError> {
    let managed = may_manage_affiliation(p, physician_centers, secretary_centers);
    if managed.is_ok() || p.professional_id != physician_id {
        return managed;
    }
    may_grant_own_delegation(p, physician_id, physician_centers, secretary_profile_centers, has_end)
}

/// Ending a delegation: whoever may manage it, and the physician himself, at once.
pub fn may_end_delegation(p: &Principal, physician_id: &str, managed: Result<(), DomainError>) -> Result<(), DomainError> {
    if p.professional_id == physician_id { Ok(()) } else { managed }
}

/// `PUT /professionals/{id}/specialty`: the coordinators of a center where the professional
/// holds a profile, and the platform administrator (as "modifier la catégorie").
pub fn may_set_specialty(p: &Principal, target_centers: &[String]) -> Result<(), DomainError> {
    may_change_category(p, target_centers)
}

/// What an activity report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityScope {
    /// Only this center's RCPs (`None`: the whole region).
    pub cancer_center_id: Option<String>,
    /// Only this RCP.
    pub rcp: Option<ActivityRcp>,
}

/// The RCP an activity report is restricted to, with what the rule needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRcp {
    /// Its id.
    pub rcp_id: String,
    /// Its center.
    pub cancer_center_id: String,
    /// Whether the caller manages it.
    pub managed_by_caller: bool,
}

/// `GET /reports/activity`: the platform administrator (the region, or any part of it), the
/// coordinators of the center asked for, the managers of the RCP asked for. The report holds
/// no patient identity but is still nobody else's business.
pub fn may_read_activity(p: &Principal, scope: &ActivityScope) -> Result<(), DomainError> {
    if p.is_platform_admin {
        return Ok(());
    }
    let center_ok = scope.cancer_center_id.as_deref().is_some_and(|c| p.coordinates(c));
    let rcp_ok = scope.rcp.as_ref().is_some_and(|r| {
        (r.managed_by_caller || p.coordinates(&r.cancer_center_id))
            && scope.cancer_center_id.as_deref().is_none_or(|c| c == r.cancer_center_id)
    });
    if center_ok && scope.rcp.as_ref().is_none_or(|r| scope.cancer_center_id.as_deref() == Some(r.cancer_center_id.as_str())) || rcp_ok {
        Ok(())
    } else {
        deny(ErrorCode::Forbidden)
    }
}

/// The center an activity report covers when the caller names neither a center nor an RCP: a
/// coordinator of one center gets hers; a coordinator of several must choose (422
/// `invalid_query` naming `cancer_center_id`). Anyone else's scope stays as asked, for
/// [`may_read_activity`] to decide (the administrator reads the region).
pub fn default_activity_center(p: &Principal, cancer_center_id: Option<String>, rcp_given: bool) -> Result<Option<String>, DomainError> {
    if cancer_center_id.is_some() || rcp_given || p.is_platform_admin {
        return Ok(cancer_center_id);
    }
    match p.coordinated_centers().as_slice() {
        [one] => Ok(Some(one.clone())),
        [] => Ok(None),
        several => Err(DomainError::invalid(
            "cancer_center_id",
            ErrorCode::InvalidQuery,
            format!("you coordinate {} centers: name one with cancer_center_id", several.len()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::tests::principal;
    use crate::professional::Category;
    use crate::profile::ProfileKind;

    fn centers(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn coordinator_manages_affiliations_only_on_a_shared_center() {
        let coord = principal(Category::Other, &[("c1", ProfileKind::CenterCoordinator)]);
        assert!(may_manage_affiliation(&coord, &centers(&["c1"]), &centers(&["c1", "c2"])).is_ok());
        assert!(may_manage_affiliation(&coord, &centers(&["c1"]), &centers(&["c2"])).is_err());
        assert!(may_manage_affiliation(&coord, &centers(&["c2"]), &centers(&["c2"])).is_err());
        let physician = principal(Category::Physician, &[("c1", ProfileKind::Physician)]);
        assert_eq!(
            may_manage_affiliation(&physician, &centers(&["c1"]), &centers(&["c1"])),
            Err(DomainError::Forbidden(ErrorCode::CenterCoordinatorRequired))
        );
    }

    #[test]
    fn national_settings_are_the_centers_coordinators_and_the_administrators() {
        let coord = principal(Category::Other, &[("c1", ProfileKind::CenterCoordinator)]);
        assert!(may_set_national_settings(&coord, "c1").is_ok());
        assert_eq!(may_set_national_settings(&coord, "c2"), Err(DomainError::Forbidden(ErrorCode::CenterCoordinatorRequired)));
        let physician = principal(Category::Physician, &[("c1", ProfileKind::Physician)]);
        assert!(may_set_national_settings(&physician, "c1").is_err());
        let admin = Principal { is_platform_admin: true, ..principal(Category::Other, &[]) };
        assert!(may_set_national_settings(&admin, "c2").is_ok());
    }

    #[test]
    fn an_administrator_ends_the_sessions_of_others_not_all_of_his_own() {
        let mut admin = principal(Category::Other, &[]);
        admin.is_platform_admin = true;
        let own = admin.account_id.clone();
        assert_eq!(may_end_sessions_of(&admin, "another account"), Ok(()));
        assert!(matches!(may_end_sessions_of(&admin, &own), Err(DomainError::Conflict { code: ErrorCode::CannotEndOwnSessions, .. })));
        let physician = principal(Category::Physician, &[]);
        assert!(may_end_sessions_of(&physician, "another account").is_err());
    }

    #[test]
    fn nobody_disables_himself_or_the_last_active_administrator() {
        let mut admin = principal(Category::Other, &[]);
        admin.is_platform_admin = true;
        let code = |r: Result<(), DomainError>| match r {
            Err(DomainError::Conflict { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        let own = admin.account_id.clone();
        assert_eq!(code(may_disable_account(&admin, &own, true, 3)), ErrorCode::CannotDisableSelf);
        assert_eq!(code(may_disable_account(&admin, "other", true, 0)), ErrorCode::LastPlatformAdmin);
        assert!(may_disable_account(&admin, "other", true, 1).is_ok());
        assert!(may_disable_account(&admin, "other", false, 0).is_ok());
        let coord = principal(Category::Other, &[("c1", ProfileKind::CenterCoordinator)]);
        assert_eq!(may_disable_account(&coord, "other", false, 1), Err(DomainError::Forbidden(ErrorCode::PlatformAdminRequired)));
    }

    #[test]
    fn a_coordinator_of_one_center_reads_its_activity_without_naming_it() {
        let one = principal(Category::Other, &[("c1", ProfileKind::CenterCoordinator), ("c2", ProfileKind::Physician)]);
        assert_eq!(default_activity_center(&one, None, false), Ok(Some("c1".to_owned())));
        assert_eq!(default_activity_center(&one, Some("c2".to_owned()), false), Ok(Some("c2".to_owned())));
        assert_eq!(default_activity_center(&one, None, true), Ok(None));
        let two = principal(Category::Other, &[("c1", ProfileKind::CenterCoordinator), ("c2", ProfileKind::CenterCoordinator)]);
        assert!(matches!(
            default_activity_center(&two, None, false),
            Err(DomainError::Invalid { field: "cancer_center_id", code: ErrorCode::InvalidQuery, .. })
        ));
        let physician = principal(Category::Physician, &[("c1", ProfileKind::Physician)]);
        assert_eq!(default_activity_center(&physician, None, false), Ok(None));
        let mut admin = principal(Category::Other, &[("c1", ProfileKind::CenterCoordinator)]);
        admin.is_platform_admin = true;
        assert_eq!(default_activity_center(&admin, None, false), Ok(None));
    }

    #[test]
    fn platform_admin_administers_everything_but_files_no_request() {
        let mut admin = principal(Category::Other, &[]);
        admin.is_platform_admin = true;
        assert!(may_administer_platform(&admin).is_ok());
        assert!(may_administer_center(&admin, "c9").is_ok());
        assert!(may_change_category(&admin, &[]).is_ok());
        assert!(may_request_account(&admin, "c9").is_err());
    }

    #[test]
    fn administered_centers_are_all_for_the_admin_and_her_own_for_a_coordinator() {
        let mut admin = principal(Category::Other, &[]);
        admin.is_platform_admin = true;
        assert_eq!(administered_centers(&admin, ErrorCode::Forbidden), Ok(None));
        let coord = principal(Category::Other, &[("c1", ProfileKind::CenterCoordinator)]);
        assert_eq!(administered_centers(&coord, ErrorCode::Forbidden), Ok(Some(vec!["c1".to_owned()])));
        let physician = principal(Category::Physician, &[("c1", ProfileKind::Physician)]);
        assert_eq!(administered_centers(&physician, ErrorCode::Forbidden), Err(DomainError::Forbidden(ErrorCode::Forbidden)));
    }

    #[test]
    fn report_scope_follows_the_callers_standing() {
        let coord = principal(Category::Other, &[("c1", ProfileKind::CenterCoordinator)]);
        assert_eq!(report_scope(&coord, "c1", false), Ok(ReportScope::WholeCenter));
        assert_eq!(report_scope(&coord, "c2", true), Ok(ReportScope::ManagedRcps));
        assert!(report_scope(&coord, "c2", false).is_err());
        let physician = principal(Category::Physician, &[("c1", ProfileKind::Physician)]);
        assert!(report_scope(&physician, "c1", false).is_err());
    }

    #[test]
    fn a_physician_reads_his_own_secretaries_only() {
        let physician = principal(Category::Physician, &[("c1", ProfileKind::Physician)]);
        assert!(may_read_secretaries_of(&physician, "me", &centers(&["c1"])).is_ok());
        assert!(may_read_secretaries_of(&physician, "other", &centers(&["c1"])).is_err());
    }

    #[test]
    fn activity_is_read_by_the_admin_the_centers_coordinators_and_the_rcps_managers() {
        use crate::profile::{Profile, ProfileKind};
        let mut coord = principal_for_rules("k");
        coord.profiles = vec![Profile { cancer_center_id: "c1".into(), kind: ProfileKind::CenterCoordinator }];
        let center = |c: &str| ActivityScope { cancer_center_id: Some(c.into()), rcp: None };
        let rcp = |center: &str, managed: bool| ActivityScope {
            cancer_center_id: None,
            rcp: Some(ActivityRcp { rcp_id: "r".into(), cancer_center_id: center.into(), managed_by_caller: managed }),
        };
        assert!(may_read_activity(&coord, &center("c1")).is_ok());
        assert!(may_read_activity(&coord, &center("c2")).is_err());
        assert!(may_read_activity(&coord, &rcp("c1", false)).is_ok());
        assert!(may_read_activity(&coord, &rcp("c2", false)).is_err());
        assert!(may_read_activity(&coord, &ActivityScope { cancer_center_id: None, rcp: None }).is_err());
        let manager = principal_for_rules("m");
        assert!(may_read_activity(&manager, &rcp("c2", true)).is_ok());
        assert!(may_read_activity(&manager, &rcp("c2", false)).is_err());
        assert!(may_read_activity(&manager, &center("c2")).is_err());
        // An RCP of another center than the one asked for is refused, managed or not.
        let mixed = ActivityScope { cancer_center_id: Some("c1".into()), rcp: rcp("c2", true).rcp };
        assert!(may_read_activity(&coord, &mixed).is_err());
        let mut admin = principal_for_rules("a");
        admin.is_platform_admin = true;
        assert!(may_read_activity(&admin, &ActivityScope { cancer_center_id: None, rcp: None }).is_ok());
    }

    #[test]
    fn a_physician_grants_a_dated_delegation_to_a_secretary_of_his_centers() {
        let doc = principal_for_rules("d");
        let centers = ["c1".to_owned()];
        assert!(may_grant_own_delegation(&doc, "d", &centers, &["c1".to_owned()], true).is_ok());
        assert_eq!(
            may_grant_own_delegation(&doc, "d", &centers, &["c1".to_owned()], false),
            Err(DomainError::invalid("valid_until", ErrorCode::ValidUntilRequired, "a physician's own delegation has an end date"))
        );
        assert!(may_grant_own_delegation(&doc, "d", &centers, &["c2".to_owned()], true).is_err());
        assert!(may_grant_own_delegation(&doc, "other", &centers, &["c1".to_owned()], true).is_err());
        // A coordinator grants open-ended ones; the physician himself only dated ones.
        let mut coord = principal_for_rules("k");
        coord.profiles =
            vec![crate::profile::Profile { cancer_center_id: "c1".into(), kind: crate::profile::ProfileKind::CenterCoordinator }];
        let c1 = ["c1".to_owned()];
        assert!(may_grant_delegation(&coord, "d", &c1, &c1, &c1, false).is_ok());
        assert!(may_grant_delegation(&doc, "d", &c1, &c1, &c1, true).is_ok());
        assert!(may_grant_delegation(&doc, "d", &c1, &c1, &c1, false).is_err());
        assert!(may_grant_delegation(&doc, "x", &c1, &c1, &c1, true).is_err());
        assert!(may_end_delegation(&doc, "d", deny(ErrorCode::CenterCoordinatorRequired)).is_ok());
        assert!(may_end_delegation(&doc, "other", deny(ErrorCode::CenterCoordinatorRequired)).is_err());
    }

    fn principal_for_rules(id: &str) -> Principal {
        Principal {
            account_id: format!("acc-{id}"),
            professional_id: id.to_owned(),
            category: crate::professional::Category::Physician,
            is_platform_admin: false,
            profiles: Vec::new(),
            acting_for: Vec::new(),
        }
    }
}
