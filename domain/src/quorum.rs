//! The quorum of a board: a dossier's opinion is valid only when the board that gave it was
//! really multidisciplinary (INCa: at least three physicians of different specialties present).

use crate::ErrorCode;
use std::collections::BTreeSet;

use crate::DomainError;
use crate::error::QuorumGap;
use crate::specialty::Specialty;

/// What an RCP asks of the attendance before it validates a dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumRule {
    /// Present physicians, at least.
    pub min_physicians: u32,
    /// Distinct specialties among them, at least.
    pub min_specialties: u32,
    /// Specialties that must be present (for example a surgeon for a digestive board).
    pub required: Vec<Specialty>,
}

impl Default for QuorumRule {
    /// The national default: three physicians of three specialties.
    fn default() -> Self {
        Self { min_physicians: 3, min_specialties: 3, required: Vec::new() }
    }
}

impl QuorumRule {
    /// Checks a rule an RCP is given: 1 to 50 physicians, 0 to 10 specialties, no more
    /// specialties than physicians, required ones counted in the minimum.
    pub fn new(min_physicians: u32, min_specialties: u32, required: Vec<Specialty>) -> Result<Self, DomainError> {
        if !(1..=50).contains(&min_physicians) {
            return Err(DomainError::invalid("min_physicians", ErrorCode::InvalidQuorum, "min_physicians must be between 1 and 50"));
        }
        if min_specialties > 10 || min_specialties > min_physicians {
            return Err(DomainError::invalid(
                "min_specialties",
                ErrorCode::InvalidQuorum,
                "min_specialties must be between 0 and 10, and not above min_physicians",
            ));
        }
        let mut required = required;
        required.sort();
        required.dedup();
        if required.len() > min_physicians as usize {
            return Err(DomainError::invalid(
                "required_specialties",
                ErrorCode::InvalidQuorum,
                "more required specialties than physicians",
            ));
        }
        Ok(Self { min_physicians, min_specialties, required })
    }
}

/// How far the present physicians are from the quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    /// Physicians present.
    pub present_physicians: u32,
    /// Distinct specialties among them.
    pub present_specialties: u32,
    /// Physicians still needed.
    pub missing_physicians: u32,
    /// Distinct specialties still needed.
    pub missing_specialties: u32,
    /// Required specialties nobody present holds.
    pub missing_required: Vec<Specialty>,
}

impl Shortfall {
    /// True when nothing is missing.
    pub fn is_met(&self) -> bool {
        self.missing_physicians == 0 && self.missing_specialties == 0 && self.missing_required.is_empty()
    }
}

/// Measures the present physicians (their specialties, `None` when unknown: a physician whose
/// specialty nobody set counts as a physician, not as a specialty) against the rule.
pub fn evaluate(rule: &QuorumRule, present: &[Option<Specialty>]) -> Shortfall {
    let held: BTreeSet<Specialty> = present.iter().flatten().copied().collect();
    let present_physicians = u32::try_from(present.len()).unwrap_or(u32::MAX);
    let present_specialties = u32::try_from(held.len()).unwrap_or(u32::MAX);
    Shortfall {
        present_physicians,
        present_specialties,
        missing_physicians: rule.min_physicians.saturating_sub(present_physicians),
        missing_specialties: rule.min_specialties.saturating_sub(present_specialties),
        missing_required: rule.required.iter().filter(|s| !held.contains(s)).copied().collect(),
    }
}

/// `POST /dossiers/{id}/validate` needs the quorum at that moment: `quorum_not_met` otherwise,
/// saying what is missing.
pub fn ensure_met(rule: &QuorumRule, present: &[Option<Specialty>]) -> Result<(), DomainError> {
    let s = evaluate(rule, present);
    if s.is_met() {
        return Ok(());
    }
    let required: Vec<&'static str> = s.missing_required.iter().map(|r| r.as_str()).collect();
    Err(DomainError::QuorumNotMet {
        message: format!(
            "the board lacks {} physician(s), {} specialty(ies){}; {} physician(s) of {} specialty(ies) are recorded present",
            s.missing_physicians,
            s.missing_specialties,
            if required.is_empty() { String::new() } else { format!(" and {}", required.join(", ")) },
            s.present_physicians,
            s.present_specialties,
        ),
        shortfall: QuorumGap {
            present_physicians: s.present_physicians,
            present_specialties: s.present_specialties,
            missing_physicians: s.missing_physicians,
            missing_specialties: s.missing_specialties,
            missing_required: required,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Specialty::*;
    use proptest::prelude::*;

    #[test]
    fn three_physicians_of_three_specialties_by_default() {
        let rule = QuorumRule::default();
        assert!(evaluate(&rule, &[Some(Surgery), Some(Radiotherapy), Some(MedicalOncology)]).is_met());
        let two = evaluate(&rule, &[Some(Surgery), Some(Surgery), Some(MedicalOncology)]);
        assert_eq!((two.missing_physicians, two.missing_specialties), (0, 1));
        let unknown = evaluate(&rule, &[Some(Surgery), None, Some(MedicalOncology)]);
        assert_eq!((unknown.present_physicians, unknown.present_specialties), (3, 2));
        assert_eq!(evaluate(&rule, &[]).missing_physicians, 3);
    }

    #[test]
    fn a_required_specialty_must_be_present() {
        let rule = QuorumRule::new(3, 2, vec![Surgery]).unwrap();
        let s = evaluate(&rule, &[Some(Radiology), Some(Pathology), Some(MedicalOncology)]);
        assert_eq!(s.missing_required, vec![Surgery]);
        assert!(matches!(ensure_met(&rule, &[Some(Radiology)]), Err(DomainError::QuorumNotMet { .. })));
        assert!(ensure_met(&rule, &[Some(Radiology), Some(Surgery), None]).is_ok());
    }

    #[test]
    fn rules_are_checked() {
        assert!(QuorumRule::new(0, 0, vec![]).is_err());
        assert!(QuorumRule::new(2, 3, vec![]).is_err());
        assert!(QuorumRule::new(1, 1, vec![Surgery, Radiology]).is_err());
        assert_eq!(QuorumRule::new(3, 1, vec![Surgery, Surgery]).unwrap().required, vec![Surgery]);
    }

    fn specialty() -> impl Strategy<Value = Option<Specialty>> {
        prop_oneof![Just(None), (0..Specialty::ALL.len()).prop_map(|i| Some(Specialty::ALL[i]))]
    }

    proptest! {
        /// Met exactly when the counts a person would make reach the rule.
        #[test]
        fn met_when_counts_reach_the_rule(
            present in proptest::collection::vec(specialty(), 0..8),
            min_physicians in 1u32..6, min_specialties in 0u32..4,
            required in proptest::collection::vec((0..Specialty::ALL.len()).prop_map(|i| Specialty::ALL[i]), 0..2),
        ) {
            let Ok(rule) = QuorumRule::new(min_physicians, min_specialties.min(min_physicians), required.clone()) else {
                return Ok(());
            };
            let distinct: BTreeSet<Specialty> = present.iter().flatten().copied().collect();
            let expected = present.len() as u32 >= rule.min_physicians
                && distinct.len() as u32 >= rule.min_specialties
                && rule.required.iter().all(|r| distinct.contains(r));
            prop_assert_eq!(evaluate(&rule, &present).is_met(), expected);
            prop_assert_eq!(ensure_met(&rule, &present).is_ok(), expected);
            // Adding a physician never breaks a quorum.
            if expected {
                let mut more = present.clone();
                more.push(None);
                prop_assert!(evaluate(&rule, &more).is_met());
            }
        }
    }
}
