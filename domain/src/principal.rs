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
    /// The caller as the rules read it. P(S) (`acting_for`) counts only for a principal holding
    /// a secretary profile ([`Principal::delegations_count`]): without one it is dropped, so a
    /// physician named as someone's secretary holds no delegated right.
    pub fn new(
        account_id: String,
        professional_id: String,
        category: Category,
        is_platform_admin: bool,
        profiles: Vec<Profile>,
        acting_for: Vec<ActingFor>,
    ) -> Self {
        let acting_for = if Self::delegations_count(&profiles) { acting_for } else { Vec::new() };
        Self { account_id, professional_id, category, is_platform_admin, profiles, acting_for }
    }

    /// Whether the physicians a principal acts for count, given its profiles: only with a
    /// secretary profile somewhere (the delegation table of API.md speaks of secretaries).
    fn delegations_count(profiles: &[Profile]) -> bool {
        profiles.iter().any(|p| p.kind == ProfileKind::Secretary)
    }

    /// P(S) and the centers of the principal's secretary profiles, where the requests of P(S)
    /// count for her; both empty without a secretary profile.
    pub fn delegation(&self) -> (Vec<String>, Vec<String>) {
        let secretary_centers = self.centers_with(ProfileKind::Secretary);
        let physicians = if secretary_centers.is_empty() { Vec::new() } else { self.represented_physicians() };
        (physicians, secretary_centers)
    }

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

    fn acting_for(physicians: &[&str]) -> Vec<ActingFor> {
        physicians.iter().map(|id| ActingFor { physician_id: (*id).into(), via_group_id: None }).collect()
    }

    #[test]
    fn the_physicians_she_acts_for_count_only_with_a_secretary_profile() {
        let new = |profiles: &[(&str, ProfileKind)]| {
            let profiles = profiles.iter().map(|(c, k)| Profile { cancer_center_id: (*c).into(), kind: *k }).collect();
            Principal::new("acc".into(), "me".into(), Category::Physician, false, profiles, acting_for(&["p2", "p1", "p2"]))
        };
        let physician = new(&[("c1", ProfileKind::Physician)]);
        assert!(physician.acting_for.is_empty(), "affiliated as a secretary, without the profile");
        assert_eq!(physician.delegation(), (Vec::<String>::new(), Vec::<String>::new()));
        let secretary = new(&[("c1", ProfileKind::Physician), ("c2", ProfileKind::Secretary)]);
        assert_eq!(secretary.acting_for.len(), 3);
        assert_eq!(secretary.delegation(), (vec!["p1".to_owned(), "p2".to_owned()], vec!["c2".to_owned()]));
    }

    proptest::proptest! {
        /// Whatever the profiles and affiliations, P(S) is kept whole with a secretary profile
        /// and dropped without one, and the delegation's centers are exactly the secretary ones.
        #[test]
        fn delegation_follows_the_secretary_profiles(
            kinds in proptest::collection::vec((0..3usize, 0..4usize), 0..6),
            physicians in proptest::collection::vec(0..5usize, 0..6),
        ) {
            let all = [ProfileKind::Physician, ProfileKind::Secretary, ProfileKind::CenterCoordinator, ProfileKind::Secretary];
            let profiles: Vec<Profile> =
                kinds.iter().map(|(c, k)| Profile { cancer_center_id: format!("c{c}"), kind: all[*k] }).collect();
            let names: Vec<String> = physicians.iter().map(|n| format!("p{n}")).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let p = Principal::new("acc".into(), "me".into(), Category::Secretary, false, profiles.clone(), acting_for(&refs));
            let secretary = profiles.iter().any(|pr| pr.kind == ProfileKind::Secretary);
            proptest::prop_assert_eq!(p.acting_for.len(), if secretary { names.len() } else { 0 });
            let (represented, centers) = p.delegation();
            let mut expected: Vec<String> = if secretary { names.clone() } else { Vec::new() };
            expected.sort();
            expected.dedup();
            proptest::prop_assert_eq!(represented, expected);
            let secretary_centers: Vec<String> =
                profiles.iter().filter(|pr| pr.kind == ProfileKind::Secretary).map(|pr| pr.cancer_center_id.clone()).collect();
            proptest::prop_assert_eq!(centers, secretary_centers);
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
