//! The fiche RCP as the national framework structures it (CI-SIS volet FRCP 2025.01,
//! `shared/FRCP.md`): why the case is presented, the clinical case, the diagnosis, the proposal
//! and its framework. Every part is optional while the dossier is prepared; what a validated
//! fiche must hold is [`missing_for_validation`], and what no fiche may hold is [`check`].
//!
//! Codes are kept as the code lists spell them (`C34`, `8140/3`, `C15632`); whether a code is in
//! its loaded list is the terminology's question ([`coded_fields`] names each one and its
//! system), since the lists are data an operator loads, not Rust.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::error_code::ErrorCode;

/// The code system of CIM-10 tumour sites.
pub const CIM10: &str = "cim10";
/// The code system of CIM-O-3 morphologies.
pub const CIM_O_3: &str = "cim-o-3";
/// The code system of the FRCP treatment types (18 codes).
pub const FRCP_TREATMENT: &str = "frcp-treatment";
/// The code system of the organs an organ RCP is about.
pub const FRCP_ORGAN: &str = "frcp-organ";
/// The code system of RCP natures (organ or cross-cutting).
pub const FRCP_RCP_NATURE: &str = "frcp-rcp-nature";
/// The treatment type "surveillance only" (MED-226): a proposal of its own.
pub const SURVEILLANCE_ONLY: &str = "MED-226";

/// Longest free text of a fiche field (a comment, a reason, a detail).
pub const MAX_TEXT: usize = 4000;
/// Longest name or short value (a guideline's name, a TNM category, a trial's name).
pub const MAX_SHORT: usize = 200;
/// Most treatments, or requests, in one proposal.
pub const MAX_ENTRIES: usize = 30;

/// Why the case is presented (FRCP ORG-186: four booleans).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A diagnostic opinion (MED-235).
    DiagnosticOpinion,
    /// A treatment proposal (ORG-114).
    TreatmentProposal,
    /// A referral to another board (ORG-115).
    Referral,
    /// A paediatric case (ORG-116).
    Paediatrics,
}

/// Whether the case is discussed, or registered without discussion because it follows a
/// guideline (FRCP ORG-127).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Pre-validated without discussion (ORG-128): the guideline it follows is then required.
    Registered,
    /// Discussed by the board (ORG-134).
    Discussed,
}

/// The disease's phase (FRCP MED-243).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// First treatment (MED-268).
    Initial,
    /// A relapse (MED-244).
    Relapse,
}

/// Which side the tumour is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Laterality {
    /// Right.
    Right,
    /// Left.
    Left,
    /// Both sides.
    Bilateral,
    /// An organ without sides.
    NotApplicable,
    /// Not known.
    Unknown,
}

/// A treatment's intention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Intention {
    /// To cure.
    Curative,
    /// To relieve.
    Palliative,
    /// Not stated.
    Unknown,
}

/// What a request of the proposal asks for (FRCP ORG-064).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// A complementary exam before the board decides.
    Exam,
    /// A follow-up visit or exam.
    FollowUp,
}

/// How precisely the date of diagnosis is known (FRCP allows `UNK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DatePrecision {
    /// The day is known.
    Day,
    /// Only the month is known: `date` is its first day.
    Month,
    /// Not known: `date` is absent.
    Unknown,
}

// Named `FicheQuorum` in the OpenAPI document: the api's `QuorumStatus` is the board's quorum
// during a session, and utoipa lets the last schema of a name win silently.
/// The board's quorum when the fiche was validated (FRCP ORG-125).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = FicheQuorum))]
#[serde(rename_all = "snake_case")]
pub enum QuorumStatus {
    /// Reached (ORG-126).
    Reached,
    /// Not reached (ORG-133).
    NotReached,
    /// Not known (GEN-010): not validated yet, or no attendance was recorded.
    Unknown,
}

/// Why the case is presented, and how: the request's administrative part, which a secretary
/// prepares for her physicians.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Referral {
    /// The reasons, at least one for a validated fiche.
    #[serde(default)]
    pub reasons: Vec<Reason>,
    /// Discussed, or registered without discussion.
    pub case_status: Option<CaseStatus>,
}

/// The clinical case as the board sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClinicalCase {
    /// Initial treatment or relapse.
    pub phase: Option<Phase>,
    /// A local progression (MED-246).
    pub local_progression: Option<bool>,
    /// A regional progression (MED-247).
    pub regional_progression: Option<bool>,
    /// A distant progression (MED-248).
    pub distant_progression: Option<bool>,
    /// Found by organised screening (LOINC 63921-1).
    pub found_by_screening: Option<bool>,
    /// WHO performance status, 0 to 4.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 4))]
    pub performance_status: Option<u8>,
}

/// The clinical TNM (optional in FRCP 2025.01).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Tnm {
    /// cT (LOINC 21905-5), as written (`cT2a`).
    pub t: Option<String>,
    /// cN (21906-3).
    pub n: Option<String>,
    /// cM (21907-1).
    pub m: Option<String>,
    /// Stage group (21909-7).
    pub stage: Option<String>,
    /// The TNM edition (21917-0), `8` for the 8th.
    pub edition: Option<String>,
}

/// A classification other than TNM (LOINC 21918-8: FIGO, Ann Arbor, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OtherClassification {
    /// Its name (GEN-101).
    pub name: String,
    /// Its version (GEN-102).
    pub version: Option<String>,
    /// The stage it gives.
    pub value: Option<String>,
}

/// The cancer's diagnosis.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Diagnosis {
    /// Tumour site, a CIM-10 code (`cim10`): `C34` or `C34.1`.
    pub tumour_site: Option<String>,
    /// Morphology, a CIM-O-3 code (`cim-o-3`): `8140/3`.
    pub morphology: Option<String>,
    /// The side.
    pub laterality: Option<Laterality>,
    /// The date of diagnosis; the first of the month when only the month is known.
    pub date: Option<NaiveDate>,
    /// How precisely `date` is known; `unknown` goes without a date.
    pub date_precision: Option<DatePrecision>,
    /// The clinical TNM.
    pub tnm: Option<Tnm>,
    /// Another classification.
    pub other_classification: Option<OtherClassification>,
}

/// One treatment of the proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Treatment {
    /// A code of the FRCP treatment-type list (`frcp-treatment`): `387713003` surgery,
    /// `C15632` chemotherapy, `MED-226` surveillance only, …
    pub code: String,
    /// Its place in the sequence, from 1; two treatments may share a place (concurrent).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 30))]
    pub order: u8,
    /// Its intention.
    pub intention: Option<Intention>,
    /// Free text: the regimen, the dose, the site.
    pub detail: Option<String>,
}

/// An exam or a follow-up the proposal asks for, with its window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// An exam or a follow-up.
    pub kind: RequestKind,
    /// What is asked.
    pub description: String,
    /// Not before this day.
    pub earliest: Option<NaiveDate>,
    /// Not after this day.
    pub latest: Option<NaiveDate>,
}

/// The board's proposal (the care plan).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// The treatments, in their order; "surveillance only" is one of them.
    #[serde(default)]
    pub treatments: Vec<Treatment>,
    /// The case goes to a referral (recours) RCP (ORG-120).
    #[serde(default)]
    pub referral_rcp_requested: bool,
    /// Exams or follow-up requested.
    #[serde(default)]
    pub requests: Vec<Request>,
    /// A comment (LOINC 48767-8).
    pub comment: Option<String>,
}

/// The guideline a proposal follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Guideline {
    /// Its name (`INCa — cancer du poumon`).
    pub name: String,
    /// Its version.
    pub version: Option<String>,
    /// Its date.
    pub date: Option<NaiveDate>,
}

/// The framework of the proposal: the guideline followed, conformity, a trial.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Framework {
    /// The guideline followed; required when the case is `registered`.
    pub guideline: Option<Guideline>,
    /// Whether the proposal conforms to it.
    pub conform: Option<bool>,
    /// Why not, in free text (the volet has no coded reason); required when `conform` is false.
    pub nonconformity_reason: Option<String>,
    /// A trial inclusion is proposed (MED-250).
    pub trial_proposed: Option<bool>,
    /// The trial's name; required when `trial_proposed`.
    pub trial_name: Option<String>,
}

/// The structured fiche: each part absent until someone fills it in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Fiche {
    /// Why and how the case is presented (administrative: a secretary may fill it in).
    pub referral: Option<Referral>,
    /// The clinical case (medical content).
    pub case: Option<ClinicalCase>,
    /// The diagnosis (medical content).
    pub diagnosis: Option<Diagnosis>,
    /// The proposal (medical content).
    pub proposal: Option<Proposal>,
    /// The framework of the proposal (medical content).
    pub framework: Option<Framework>,
}

impl Fiche {
    /// Whether any part other than the referral is filled in: those are medical content.
    pub fn has_medical_content(&self) -> bool {
        self.case.is_some() || self.diagnosis.is_some() || self.proposal.is_some() || self.framework.is_some()
    }

    /// The tumour site's CIM-10 category (its first three characters, `C34` of `C34.1`): what
    /// the activity report counts by.
    pub fn tumour_site_category(&self) -> Option<String> {
        let site = self.diagnosis.as_ref()?.tumour_site.as_deref()?;
        Some(site.chars().take(3).collect::<String>().to_ascii_uppercase())
    }

    /// The distinct treatment types of the proposal, in their order of first appearance.
    pub fn treatment_types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = Vec::new();
        for t in self.proposal.iter().flat_map(|p| &p.treatments) {
            if !types.contains(&t.code.as_str()) {
                types.push(&t.code);
            }
        }
        types
    }

    /// Whether the proposal is conform to its guideline, when said.
    pub fn conform(&self) -> Option<bool> {
        self.framework.as_ref()?.conform
    }
}

/// A part of a `PATCH`: absent leaves the part, `null` clears it, a value replaces it whole.
fn part<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// What `PATCH /dossiers/{id}` changes of the fiche, part by part: a part absent is left as it
/// is, `null` clears it, a value replaces the whole part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(min_properties = 1))]
#[serde(deny_unknown_fields)]
pub struct FichePatch {
    /// Why and how the case is presented (administrative: a secretary may write it).
    #[serde(default, deserialize_with = "part")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Referral>))]
    pub referral: Option<Option<Referral>>,
    /// The clinical case (medical content).
    #[serde(default, deserialize_with = "part")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<ClinicalCase>))]
    pub case: Option<Option<ClinicalCase>>,
    /// The diagnosis (medical content).
    #[serde(default, deserialize_with = "part")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Diagnosis>))]
    pub diagnosis: Option<Option<Diagnosis>>,
    /// The proposal (medical content).
    #[serde(default, deserialize_with = "part")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Proposal>))]
    pub proposal: Option<Option<Proposal>>,
    /// The framework of the proposal (medical content).
    #[serde(default, deserialize_with = "part")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Framework>))]
    pub framework: Option<Option<Framework>>,
}

impl FichePatch {
    /// True when the administrative part is sent (even unchanged: the attempt is the act).
    pub fn touches_referral(&self) -> bool {
        self.referral.is_some()
    }

    /// True when no part is sent.
    pub fn is_empty(&self) -> bool {
        !self.touches_referral() && !self.touches_medical_content()
    }

    /// True when a medical part is sent (even unchanged, or `null`).
    pub fn touches_medical_content(&self) -> bool {
        self.case.is_some() || self.diagnosis.is_some() || self.proposal.is_some() || self.framework.is_some()
    }

    /// The fiche once this patch is applied to `fiche`.
    pub fn apply(&self, fiche: &Fiche) -> Fiche {
        fn pick<T: Clone>(sent: &Option<Option<T>>, kept: &Option<T>) -> Option<T> {
            match sent {
                Some(v) => v.clone(),
                None => kept.clone(),
            }
        }
        Fiche {
            referral: pick(&self.referral, &fiche.referral),
            case: pick(&self.case, &fiche.case),
            diagnosis: pick(&self.diagnosis, &fiche.diagnosis),
            proposal: pick(&self.proposal, &fiche.proposal),
            framework: pick(&self.framework, &fiche.framework),
        }
    }
}

/// Every coded value of the fiche, with its system and the field that carries it, for the
/// terminology to check against its loaded lists.
pub fn coded_fields(fiche: &Fiche) -> Vec<(&'static str, &'static str, &str)> {
    let mut codes = Vec::new();
    if let Some(d) = &fiche.diagnosis {
        if let Some(site) = &d.tumour_site {
            codes.push((CIM10, "fiche.diagnosis.tumour_site", site.as_str()));
        }
        if let Some(m) = &d.morphology {
            codes.push((CIM_O_3, "fiche.diagnosis.morphology", m.as_str()));
        }
    }
    for t in fiche.proposal.iter().flat_map(|p| &p.treatments) {
        codes.push((FRCP_TREATMENT, "fiche.proposal.treatments.code", t.code.as_str()));
    }
    codes
}

/// What a fiche may never hold, whatever its step: values out of range, a part that
/// contradicts itself. Codes are checked by the terminology ([`coded_fields`]).
pub fn check(fiche: &Fiche) -> Result<(), DomainError> {
    let text = |field: &'static str, value: &Option<String>, max: usize| -> Result<(), DomainError> {
        match value {
            Some(v) if v.trim().is_empty() => {
                Err(DomainError::invalid(field, ErrorCode::ValidationFailed, "must not be blank; omit it instead"))
            }
            Some(v) if v.chars().count() > max => {
                Err(DomainError::invalid(field, ErrorCode::ValidationFailed, format!("at most {max} characters")))
            }
            _ => Ok(()),
        }
    };
    if let Some(r) = &fiche.referral {
        let mut seen = r.reasons.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != r.reasons.len() {
            return Err(DomainError::invalid("fiche.referral.reasons", ErrorCode::ValidationFailed, "each reason at most once"));
        }
    }
    if let Some(c) = &fiche.case
        && c.performance_status.is_some_and(|s| s > 4)
    {
        return Err(DomainError::invalid(
            "fiche.case.performance_status",
            ErrorCode::ValidationFailed,
            "the WHO performance status is 0 to 4",
        ));
    }
    if let Some(d) = &fiche.diagnosis {
        text("fiche.diagnosis.tumour_site", &d.tumour_site, 16)?;
        text("fiche.diagnosis.morphology", &d.morphology, 16)?;
        match (d.date_precision, d.date) {
            (Some(DatePrecision::Unknown), Some(_)) => {
                return Err(DomainError::invalid(
                    "fiche.diagnosis.date",
                    ErrorCode::ValidationFailed,
                    "an unknown date of diagnosis has no date",
                ));
            }
            (Some(DatePrecision::Day | DatePrecision::Month), None) => {
                return Err(DomainError::invalid("fiche.diagnosis.date", ErrorCode::ValidationFailed, "the date of diagnosis is missing"));
            }
            (Some(DatePrecision::Month), Some(date)) if chrono::Datelike::day(&date) != 1 => {
                return Err(DomainError::invalid(
                    "fiche.diagnosis.date",
                    ErrorCode::ValidationFailed,
                    "a date known to the month is the first day of that month",
                ));
            }
            _ => {}
        }
        if let Some(t) = &d.tnm {
            for (field, v) in [
                ("fiche.diagnosis.tnm.t", &t.t),
                ("fiche.diagnosis.tnm.n", &t.n),
                ("fiche.diagnosis.tnm.m", &t.m),
                ("fiche.diagnosis.tnm.stage", &t.stage),
                ("fiche.diagnosis.tnm.edition", &t.edition),
            ] {
                text(field, v, 20)?;
            }
        }
        if let Some(o) = &d.other_classification {
            text("fiche.diagnosis.other_classification.name", &Some(o.name.clone()), MAX_SHORT)?;
            text("fiche.diagnosis.other_classification.version", &o.version, MAX_SHORT)?;
            text("fiche.diagnosis.other_classification.value", &o.value, MAX_SHORT)?;
        }
    }
    if let Some(p) = &fiche.proposal {
        if p.treatments.len() > MAX_ENTRIES || p.requests.len() > MAX_ENTRIES {
            return Err(DomainError::invalid(
                "fiche.proposal",
                ErrorCode::ValidationFailed,
                format!("at most {MAX_ENTRIES} treatments and {MAX_ENTRIES} requests"),
            ));
        }
        for t in &p.treatments {
            if t.order == 0 || usize::from(t.order) > MAX_ENTRIES {
                return Err(DomainError::invalid("fiche.proposal.treatments.order", ErrorCode::ValidationFailed, "order is 1 to 30"));
            }
            text("fiche.proposal.treatments.code", &Some(t.code.clone()), 32)?;
            text("fiche.proposal.treatments.detail", &t.detail, MAX_TEXT)?;
        }
        if p.treatments.iter().any(|t| t.code == SURVEILLANCE_ONLY) && p.treatments.len() > 1 {
            return Err(DomainError::invalid(
                "fiche.proposal.treatments",
                ErrorCode::ValidationFailed,
                "surveillance only is a proposal of its own: no other treatment beside it",
            ));
        }
        for r in &p.requests {
            text("fiche.proposal.requests.description", &Some(r.description.clone()), MAX_TEXT)?;
            if let (Some(a), Some(b)) = (r.earliest, r.latest)
                && a > b
            {
                return Err(DomainError::invalid(
                    "fiche.proposal.requests.latest",
                    ErrorCode::ValidationFailed,
                    "latest is before earliest",
                ));
            }
        }
        text("fiche.proposal.comment", &p.comment, MAX_TEXT)?;
    }
    if let Some(f) = &fiche.framework {
        if let Some(g) = &f.guideline {
            text("fiche.framework.guideline.name", &Some(g.name.clone()), MAX_SHORT)?;
            text("fiche.framework.guideline.version", &g.version, MAX_SHORT)?;
        }
        text("fiche.framework.nonconformity_reason", &f.nonconformity_reason, MAX_TEXT)?;
        text("fiche.framework.trial_name", &f.trial_name, MAX_SHORT)?;
        if f.conform != Some(false) && f.nonconformity_reason.is_some() {
            return Err(DomainError::invalid(
                "fiche.framework.nonconformity_reason",
                ErrorCode::ValidationFailed,
                "a reason of non-conformity goes with `conform: false` only",
            ));
        }
        if f.trial_proposed != Some(true) && f.trial_name.is_some() {
            return Err(DomainError::invalid(
                "fiche.framework.trial_name",
                ErrorCode::ValidationFailed,
                "a trial's name goes with `trial_proposed: true` only",
            ));
        }
    }
    Ok(())
}

/// The fields a validated fiche must hold and this one lacks, by their path in the dossier's
/// JSON: the volet's required sections, at least a reason, the case status, the tumour site, a
/// treatment (or surveillance only), the guideline when the case is registered without
/// discussion, and the reason of a non-conform proposal or the name of a proposed trial.
pub fn missing_for_validation(fiche: &Fiche) -> Vec<&'static str> {
    let mut missing = Vec::new();
    let referral = fiche.referral.clone().unwrap_or_default();
    if referral.reasons.is_empty() {
        missing.push("fiche.referral.reasons");
    }
    if referral.case_status.is_none() {
        missing.push("fiche.referral.case_status");
    }
    if fiche.diagnosis.as_ref().and_then(|d| d.tumour_site.as_ref()).is_none() {
        missing.push("fiche.diagnosis.tumour_site");
    }
    if fiche.proposal.as_ref().is_none_or(|p| p.treatments.is_empty()) {
        missing.push("fiche.proposal.treatments");
    }
    let framework = fiche.framework.clone().unwrap_or_default();
    if referral.case_status == Some(CaseStatus::Registered) && framework.guideline.is_none() {
        missing.push("fiche.framework.guideline");
    }
    if framework.conform == Some(false) && framework.nonconformity_reason.is_none() {
        missing.push("fiche.framework.nonconformity_reason");
    }
    if framework.trial_proposed == Some(true) && framework.trial_name.is_none() {
        missing.push("fiche.framework.trial_name");
    }
    missing
}

/// Whether validating this fiche needs the board's quorum present: a case registered without
/// discussion (FRCP ORG-128) follows its guideline and is validated without one.
pub fn needs_quorum(fiche: &Fiche) -> bool {
    fiche.referral.as_ref().and_then(|r| r.case_status) != Some(CaseStatus::Registered)
}

/// The quorum recorded at validation: unknown when no attendance was recorded.
pub fn quorum_at_validation(attendance_recorded: bool, quorum_met: bool) -> QuorumStatus {
    match (attendance_recorded, quorum_met) {
        (false, _) => QuorumStatus::Unknown,
        (true, true) => QuorumStatus::Reached,
        (true, false) => QuorumStatus::NotReached,
    }
}

/// `POST /dossiers/{id}/validate`: refuses a fiche the volet would not accept as validated,
/// naming every missing field at once.
pub fn ensure_complete(fiche: &Fiche) -> Result<(), DomainError> {
    let missing = missing_for_validation(fiche);
    if missing.is_empty() { Ok(()) } else { Err(DomainError::FicheIncomplete { missing }) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn complete() -> Fiche {
        Fiche {
            referral: Some(Referral { reasons: vec![Reason::TreatmentProposal], case_status: Some(CaseStatus::Discussed) }),
            case: None,
            diagnosis: Some(Diagnosis { tumour_site: Some("C34.1".into()), ..Diagnosis::default() }),
            proposal: Some(Proposal {
                treatments: vec![Treatment { code: "387713003".into(), order: 1, intention: Some(Intention::Curative), detail: None }],
                ..Proposal::default()
            }),
            framework: None,
        }
    }

    #[test]
    fn an_empty_fiche_lacks_the_volets_minimum() {
        assert_eq!(
            missing_for_validation(&Fiche::default()),
            vec!["fiche.referral.reasons", "fiche.referral.case_status", "fiche.diagnosis.tumour_site", "fiche.proposal.treatments"]
        );
        assert!(matches!(ensure_complete(&Fiche::default()), Err(DomainError::FicheIncomplete { missing }) if missing.len() == 4));
        assert_eq!(ensure_complete(&complete()), Ok(()));
    }

    #[test]
    fn a_registered_case_needs_its_guideline() {
        let mut f = complete();
        f.referral = Some(Referral { reasons: vec![Reason::TreatmentProposal], case_status: Some(CaseStatus::Registered) });
        assert_eq!(missing_for_validation(&f), vec!["fiche.framework.guideline"]);
        f.framework = Some(Framework {
            guideline: Some(Guideline { name: "INCa poumon".into(), version: Some("2024".into()), date: None }),
            ..Framework::default()
        });
        assert!(missing_for_validation(&f).is_empty());
    }

    #[test]
    fn a_non_conform_proposal_says_why_and_a_trial_its_name() {
        let mut f = complete();
        f.framework = Some(Framework { conform: Some(false), trial_proposed: Some(true), ..Framework::default() });
        assert_eq!(missing_for_validation(&f), vec!["fiche.framework.nonconformity_reason", "fiche.framework.trial_name"]);
        f.framework = Some(Framework { conform: Some(true), nonconformity_reason: Some("age".into()), ..Framework::default() });
        assert!(matches!(check(&f), Err(DomainError::Invalid { field: "fiche.framework.nonconformity_reason", .. })));
    }

    #[test]
    fn surveillance_only_stands_alone() {
        let mut f = complete();
        let surveillance = Treatment { code: SURVEILLANCE_ONLY.into(), order: 1, intention: None, detail: None };
        f.proposal = Some(Proposal { treatments: vec![surveillance.clone()], ..Proposal::default() });
        assert_eq!(check(&f), Ok(()));
        assert!(missing_for_validation(&f).is_empty());
        if let Some(p) = f.proposal.as_mut() {
            p.treatments.push(Treatment { code: "C15632".into(), ..surveillance });
        }
        assert!(matches!(check(&f), Err(DomainError::Invalid { field: "fiche.proposal.treatments", .. })));
    }

    #[test]
    fn dates_of_diagnosis_match_their_precision() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 14);
        let first = NaiveDate::from_ymd_opt(2026, 3, 1);
        let with = |date, precision| Fiche {
            diagnosis: Some(Diagnosis { date, date_precision: Some(precision), ..Diagnosis::default() }),
            ..Fiche::default()
        };
        assert_eq!(check(&with(day, DatePrecision::Day)), Ok(()));
        assert_eq!(check(&with(first, DatePrecision::Month)), Ok(()));
        assert_eq!(check(&with(None, DatePrecision::Unknown)), Ok(()));
        assert!(check(&with(day, DatePrecision::Month)).is_err());
        assert!(check(&with(day, DatePrecision::Unknown)).is_err());
        assert!(check(&with(None, DatePrecision::Day)).is_err());
    }

    #[test]
    fn values_out_of_range_are_refused() {
        let mut f = complete();
        f.case = Some(ClinicalCase { performance_status: Some(5), ..ClinicalCase::default() });
        assert!(check(&f).is_err());
        let mut f = complete();
        f.referral = Some(Referral { reasons: vec![Reason::Referral, Reason::Referral], case_status: None });
        assert!(check(&f).is_err());
        let mut f = complete();
        if let Some(p) = f.proposal.as_mut() {
            p.treatments[0].order = 0;
        }
        assert!(check(&f).is_err());
        let mut f = complete();
        if let Some(p) = f.proposal.as_mut() {
            p.comment = Some("  ".into());
        }
        assert!(check(&f).is_err());
    }

    #[test]
    fn the_site_is_counted_by_its_category_and_codes_are_named_with_their_system() {
        let mut f = complete();
        if let Some(d) = f.diagnosis.as_mut() {
            d.morphology = Some("8140/3".into());
        }
        assert_eq!(f.tumour_site_category().as_deref(), Some("C34"));
        assert_eq!(
            coded_fields(&f),
            vec![
                (CIM10, "fiche.diagnosis.tumour_site", "C34.1"),
                (CIM_O_3, "fiche.diagnosis.morphology", "8140/3"),
                (FRCP_TREATMENT, "fiche.proposal.treatments.code", "387713003")
            ]
        );
        assert!(!Fiche { referral: complete().referral, ..Fiche::default() }.has_medical_content());
        assert!(complete().has_medical_content());
    }

    #[test]
    fn the_json_shape_is_stable_and_strict() {
        let json = serde_json::to_value(complete()).unwrap();
        assert_eq!(json["referral"]["reasons"][0], "treatment_proposal");
        assert_eq!(json["proposal"]["treatments"][0]["order"], 1);
        let back: Fiche = serde_json::from_value(json).unwrap();
        assert_eq!(back, complete());
        assert!(serde_json::from_str::<Fiche>(r#"{"referal": {}}"#).is_err());
    }

    fn any_fiche() -> impl Strategy<Value = Fiche> {
        let reasons = proptest::sample::subsequence(
            vec![Reason::DiagnosticOpinion, Reason::TreatmentProposal, Reason::Referral, Reason::Paediatrics],
            0..=4,
        );
        let status = proptest::option::of(prop_oneof![Just(CaseStatus::Registered), Just(CaseStatus::Discussed)]);
        let referral = proptest::option::of((reasons, status).prop_map(|(reasons, case_status)| Referral { reasons, case_status }));
        let diagnosis = proptest::option::of(
            proptest::option::of(prop_oneof![Just("C34"), Just("C18.7"), Just("C50.9")])
                .prop_map(|s| Diagnosis { tumour_site: s.map(str::to_owned), ..Diagnosis::default() }),
        );
        let treatment = prop_oneof![Just("387713003"), Just("C15632"), Just(SURVEILLANCE_ONLY)];
        let proposal = proptest::option::of(proptest::collection::vec(treatment, 0..3).prop_map(|codes| {
            Proposal {
                treatments: codes
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| Treatment { code: c.to_owned(), order: u8::try_from(i + 1).unwrap_or(1), intention: None, detail: None })
                    .collect(),
                ..Proposal::default()
            }
        }));
        let framework = proptest::option::of((any::<bool>(), proptest::option::of(any::<bool>()), any::<bool>()).prop_map(
            |(guideline, conform, reason)| Framework {
                guideline: guideline.then(|| Guideline { name: "INCa".into(), version: None, date: None }),
                conform,
                nonconformity_reason: (reason && conform == Some(false)).then(|| "age".to_owned()),
                ..Framework::default()
            },
        ));
        (referral, diagnosis, proposal, framework).prop_map(|(referral, diagnosis, proposal, framework)| Fiche {
            referral,
            case: None,
            diagnosis,
            proposal,
            framework,
        })
    }

    proptest! {
        /// The rule, restated: a fiche is complete exactly when each required fact is there, and
        /// filling in what is reported missing never makes another field missing.
        #[test]
        fn completeness_is_exactly_the_volets_minimum(f in any_fiche()) {
            let missing = missing_for_validation(&f);
            let r = f.referral.clone().unwrap_or_default();
            let fw = f.framework.clone().unwrap_or_default();
            let expected = !r.reasons.is_empty()
                && r.case_status.is_some()
                && f.diagnosis.as_ref().is_some_and(|d| d.tumour_site.is_some())
                && f.proposal.as_ref().is_some_and(|p| !p.treatments.is_empty())
                && (r.case_status != Some(CaseStatus::Registered) || fw.guideline.is_some())
                && (fw.conform != Some(false) || fw.nonconformity_reason.is_some());
            prop_assert_eq!(missing.is_empty(), expected);
            prop_assert_eq!(ensure_complete(&f).is_ok(), expected);
            // Every reported field is one the JSON names, and none twice.
            let mut sorted = missing.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(sorted.len(), missing.len());
            // The JSON round trip keeps the fiche.
            let back: Fiche = serde_json::from_value(serde_json::to_value(&f).unwrap()).unwrap();
            prop_assert_eq!(back, f);
        }
    }

    #[test]
    fn a_patch_replaces_the_parts_it_sends_clears_the_null_ones_and_leaves_the_rest() {
        let before = Fiche {
            referral: Some(Referral { reasons: vec![Reason::TreatmentProposal], case_status: Some(CaseStatus::Discussed) }),
            case: Some(ClinicalCase { phase: Some(Phase::Initial), ..ClinicalCase::default() }),
            diagnosis: Some(Diagnosis { tumour_site: Some("C34".into()), morphology: Some("8140/3".into()), ..Diagnosis::default() }),
            proposal: None,
            framework: None,
        };
        let patch: FichePatch =
            serde_json::from_value(serde_json::json!({"diagnosis": {"tumour_site": "C50"}, "case": null})).expect("a patch");
        assert!(patch.touches_medical_content() && !patch.touches_referral());
        let after = patch.apply(&before);
        assert_eq!(after.referral, before.referral);
        assert_eq!(after.case, None);
        // The part sent is whole: the morphology not sent again is gone.
        assert_eq!(after.diagnosis, Some(Diagnosis { tumour_site: Some("C50".into()), ..Diagnosis::default() }));
        let referral_only: FichePatch = serde_json::from_value(serde_json::json!({"referral": null})).expect("a patch");
        assert!(referral_only.touches_referral() && !referral_only.touches_medical_content());
        assert_eq!(referral_only.apply(&before).referral, None);
        assert!(serde_json::from_value::<FichePatch>(serde_json::json!({"status": {}})).is_err());
    }

    #[test]
    fn only_a_discussed_case_needs_the_quorum_and_what_is_recorded_says_what_was_known() {
        let registered =
            Fiche { referral: Some(Referral { reasons: vec![], case_status: Some(CaseStatus::Registered) }), ..Fiche::default() };
        assert!(!needs_quorum(&registered));
        assert!(needs_quorum(&Fiche::default()));
        let discussed =
            Fiche { referral: Some(Referral { reasons: vec![], case_status: Some(CaseStatus::Discussed) }), ..Fiche::default() };
        assert!(needs_quorum(&discussed));
        assert_eq!(quorum_at_validation(false, true), QuorumStatus::Unknown);
        assert_eq!(quorum_at_validation(true, true), QuorumStatus::Reached);
        assert_eq!(quorum_at_validation(true, false), QuorumStatus::NotReached);
    }
}
