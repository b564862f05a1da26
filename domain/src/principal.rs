//! The principal: who is calling, with the relations every rule is decided on.

use crate::affiliation::ActingFor;
use crate::professional::Category;
use crate::profile::{Profile, ProfileKind};

/// The authenticated caller, loaded from the database on every request (never from the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account the token was issued to.
    pub account_id: String,
    /// The professional behind the account.
    pub professional_id: String,
    /// The professional's directory category.
    pub category: Category,
    /// Platform administrator (the regional e-health agency, "NeS").
    pub is_platform_admin: bool,
    /// Profiles held on cancer centers.
    pub profiles: Vec<Profile>,
    /// For a secretary: the physicians whose rights she holds, directly or through groups.
    pub acting_for: Vec<ActingFor>,
}

/// A front-end module ("icône") of `/me.modules`, in display order.
pub const MODULES: [&str; 7] = ["agenda", "patients", "session_run", "dossiers", "directory", "administration", "reports"];

impl Principal {
    /// True when the principal holds a profile of this kind on this center.
    pub fn has_profile(&self, cancer_center_id: &str, kind: ProfileKind) -> bool {
        self.profiles.iter().any(|p| p.kind == kind && p.cancer_center_id == cancer_center_id)
    }

    /// True when the principal holds a profile of this kind on any center.
    pub fn has_profile_kind(&self, kind: ProfileKind) -> bool {
        self.profiles.iter().any(|p| p.kind == kind)
    }

    /// True when the principal coordinates this cancer center.
    pub fn coordinates(&self, cancer_center_id: &str) -> bool {
        self.has_profile(cancer_center_id, ProfileKind::CenterCoordinator)
    }

    /// The centers this principal coordinates.
    pub fn coordinated_centers(&self) -> Vec<String> {
        self.centers_with(ProfileKind::CenterCoordinator)
    }

    /// The centers on which the principal holds a profile of `kind`.
    pub fn centers_with(&self, kind: ProfileKind) -> Vec<String> {
        self.profiles.iter().filter(|p| p.kind == kind).map(|p| p.cancer_center_id.clone()).collect()
    }

    /// The physicians whose rights this principal holds (P(S) of API.md), without duplicates.
    pub fn represented_physicians(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.acting_for.iter().map(|a| a.physician_id.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The icons the front end shows (`/me.modules`).
    pub fn modules(&self) -> Vec<&'static str> {
        let clinical = self.has_profile_kind(ProfileKind::Physician) || self.has_profile_kind(ProfileKind::Secretary);
        let administers = self.is_platform_admin || self.has_profile_kind(ProfileKind::CenterCoordinator);
        MODULES
            .into_iter()
            .filter(|m| match *m {
                "agenda" | "patients" | "session_run" | "dossiers" => clinical,
                "directory" => true,
                "administration" | "reports" => administers,
                _ => false,
            })
            .collect()
    }

    /// The tabs of the "dossiers" module (`/me.dossier_tabs`): a physician has the three, a
    /// secretary only `rcp_passages` (the dossiers her physicians requested).
    pub fn dossier_tabs(&self) -> Vec<&'static str> {
        if self.has_profile_kind(ProfileKind::Physician) {
            vec!["rcp_passages", "correspondent", "treating"]
        } else if self.has_profile_kind(ProfileKind::Secretary) {
            vec!["rcp_passages"]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A principal with the given profiles, for tests.
    pub(crate) fn principal(category: Category, profiles: &[(&str, ProfileKind)]) -> Principal {
        Principal {
            account_id: "acc".into(),
            professional_id: "me".into(),
            category,
            is_platform_admin: false,
            profiles: profiles.iter().map(|(c, k)| Profile { cancer_center_id: (*c).into(), kind: *k }).collect(),
            acting_for: Vec::new(),
        }
    }

    #[test]
    fn secretary_has_exactly_the_four_clinical_icons_and_the_directory() {
        let s = principal(Category::Secretary, &[("c1", ProfileKind::Secretary)]);
        assert_eq!(s.modules(), vec!["agenda", "patients", "session_run", "dossiers", "directory"]);
        assert_eq!(s.dossier_tabs(), vec!["rcp_passages"]);
    }

    #[test]
    fn physician_has_three_tabs_and_coordinator_administers() {
        let p = principal(Category::Physician, &[("c1", ProfileKind::Physician)]);
        assert_eq!(p.dossier_tabs(), vec!["rcp_passages", "correspondent", "treating"]);
        let c = principal(Category::Other, &[("c1", ProfileKind::CenterCoordinator)]);
        assert_eq!(c.modules(), vec!["directory", "administration", "reports"]);
        assert!(c.dossier_tabs().is_empty());
        assert!(c.coordinates("c1") && !c.coordinates("c2"));
    }
}
