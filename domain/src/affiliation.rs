//! Affiliations: the secretaries who hold a physician's rights, directly or through a group.

use crate::DomainError;
use crate::ErrorCode;
use crate::professional::Category;

/// One physician a secretary acts for, and how ("acting_for" in `/me`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActingFor {
    /// The physician whose rights the secretary holds.
    pub physician_id: String,
    /// The secretary group through which she holds them; `None` for a direct affiliation.
    pub via_group_id: Option<String>,
}

/// Only a physician can have secretaries.
pub fn ensure_physician(category: Category) -> Result<(), DomainError> {
    if category == Category::Physician {
        Ok(())
    } else {
        Err(DomainError::Unprocessable {
            code: ErrorCode::NotAPhysician,
            message: format!("only a physician can have secretaries; this professional is a {}", category.as_str()),
        })
    }
}

/// Only a secretary can be affiliated as secretary, directly or as a group member.
pub fn ensure_secretary(category: Category) -> Result<(), DomainError> {
    if category == Category::Secretary {
        Ok(())
    } else {
        Err(DomainError::Unprocessable {
            code: ErrorCode::NotASecretary,
            message: format!(
                "only a professional of category secretary can act as secretary; this one is a {} (change the category first)",
                category.as_str()
            ),
        })
    }
}

/// What ties a professional to the delegation graph, as seen when changing the category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AffiliationTies {
    /// The professional has secretaries (directly or through groups): he must stay a physician.
    pub has_secretaries: bool,
    /// The professional is affiliated as a secretary or is a member of a secretary group: she
    /// must stay a secretary.
    pub acts_as_secretary: bool,
    /// The professional is a member of an RCP: he must stay a physician.
    pub is_rcp_member: bool,
}

/// "Modifier la catégorie": refuses a change that would leave affiliations that no longer fit.
pub fn check_category_change(new: Category, ties: AffiliationTies) -> Result<(), DomainError> {
    let conflict = |message: &str| DomainError::Conflict { code: ErrorCode::HasAffiliations, message: message.to_owned() };
    if new != Category::Physician && ties.has_secretaries {
        return Err(conflict("this physician has secretaries; remove them before changing the category"));
    }
    if new != Category::Physician && ties.is_rcp_member {
        return Err(conflict("this physician is a member of RCPs; remove the memberships before changing the category"));
    }
    if new != Category::Secretary && ties.acts_as_secretary {
        return Err(conflict(
            "this secretary is affiliated to physicians or belongs to secretary groups; remove them before changing the category",
        ));
    }
    Ok(())
}

/// When a delegation grants: from `valid_from` (inclusive; none: at once) until `valid_until`
/// (exclusive; none: until it is ended). Holiday cover is a delegation with both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Validity {
    /// First instant it grants.
    pub valid_from: Option<chrono::NaiveDateTime>,
    /// First instant it no longer grants.
    pub valid_until: Option<chrono::NaiveDateTime>,
}

impl Validity {
    /// Checks the dates of a delegation being granted at `now`: the end after the start, and
    /// not already past (a delegation that would never grant is a mistake, not a record).
    pub fn new(
        valid_from: Option<chrono::NaiveDateTime>,
        valid_until: Option<chrono::NaiveDateTime>,
        now: chrono::NaiveDateTime,
    ) -> Result<Self, DomainError> {
        if let (Some(from), Some(until)) = (valid_from, valid_until)
            && until <= from
        {
            return Err(DomainError::invalid("valid_until", ErrorCode::InvalidPeriod, "valid_until must come after valid_from"));
        }
        if valid_until.is_some_and(|until| until <= now) {
            return Err(DomainError::invalid("valid_until", ErrorCode::InvalidPeriod, "valid_until is already past"));
        }
        Ok(Self { valid_from, valid_until })
    }

    /// Whether the delegation grants at `t`.
    pub fn grants_at(&self, t: chrono::NaiveDateTime) -> bool {
        self.valid_from.is_none_or(|from| from <= t) && self.valid_until.is_none_or(|until| t < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_fitting_categories_affiliate() {
        assert!(ensure_physician(Category::Physician).is_ok());
        assert!(ensure_physician(Category::Secretary).is_err());
        assert!(ensure_secretary(Category::Secretary).is_ok());
        assert!(ensure_secretary(Category::Physician).is_err());
        assert!(ensure_secretary(Category::Nurse).is_err());
    }

    #[test]
    fn category_change_keeps_affiliations_consistent() {
        let none = AffiliationTies::default();
        for c in Category::ALL {
            assert!(check_category_change(c, none).is_ok());
        }
        let phys = AffiliationTies { has_secretaries: true, ..none };
        assert!(check_category_change(Category::Physician, phys).is_ok());
        assert!(check_category_change(Category::Secretary, phys).is_err());
        let sec = AffiliationTies { acts_as_secretary: true, ..none };
        assert!(check_category_change(Category::Secretary, sec).is_ok());
        assert!(check_category_change(Category::Physician, sec).is_err());
        let member = AffiliationTies { is_rcp_member: true, ..none };
        assert!(check_category_change(Category::Nurse, member).is_err());
    }
}

#[cfg(test)]
mod validity_tests {
    use super::*;
    use chrono::{NaiveDate, NaiveDateTime};

    fn t(day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, day).and_then(|d| d.and_hms_opt(10, 0, 0)).unwrap_or_default()
    }

    #[test]
    fn a_delegation_grants_from_its_start_until_its_end_excluded() {
        let cover = Validity::new(Some(t(3)), Some(t(10)), t(1)).unwrap();
        assert!(!cover.grants_at(t(2)));
        assert!(cover.grants_at(t(3)));
        assert!(cover.grants_at(t(9)));
        assert!(!cover.grants_at(t(10)));
        assert!(Validity::default().grants_at(t(1)));
        assert!(Validity::new(Some(t(5)), Some(t(5)), t(1)).is_err());
        assert!(Validity::new(None, Some(t(1)), t(2)).is_err(), "already over");
        assert!(Validity::new(Some(t(1)), None, t(20)).is_ok(), "started in the past, open-ended");
    }
}
