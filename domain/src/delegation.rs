//! The clinical delegation rules: the table at the end of `shared/API.md`, one function per row.
//!
//! A principal is judged on two sides, and is granted when either side grants:
//! - as a physician, through its own professional id (its membership and role in the RCP, the
//!   dossiers it requested, the patients it treats, follows or added);
//! - as a secretary on center C, when it holds a `secretary` profile on C: through the roles of
//!   the physicians P(S) whose rights it holds, and only in the RCPs of C. A secretary with
//!   profiles on several centers therefore acts in each one separately.
//!
//! Every grant says on whose behalf it was given, for the audit log: nobody when the principal
//! acted through its own relations (preferred whenever they suffice), otherwise the physicians
//! of P(S) whose rights granted it. Refusals carry the stable code the API answers with.

use crate::DomainError;
use crate::ErrorCode;
use crate::principal::Principal;
use crate::professional::Category;
use crate::profile::ProfileKind;
use crate::rcp::{MemberRole, RcpRoles, SessionStatus};

/// Why an access was granted: the physicians whose rights a secretary used (`on_behalf_of` of
/// the audit event), empty when the principal acted as itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    /// Sorted, without duplicates; empty when the principal acted as itself.
    pub on_behalf_of: Vec<String>,
}

impl Grant {
    /// The principal acted through its own relations.
    pub fn own() -> Self {
        Self::default()
    }

    /// A secretary acted through these physicians' rights.
    pub fn delegated(physicians: impl IntoIterator<Item = String>) -> Self {
        let mut on_behalf_of: Vec<String> = physicians.into_iter().collect();
        on_behalf_of.sort();
        on_behalf_of.dedup();
        Self { on_behalf_of }
    }

    /// True when the principal acted as itself.
    pub fn is_own(&self) -> bool {
        self.on_behalf_of.is_empty()
    }
}

/// Merges the grants of the rules that apply to one access: the principal's own right when one
/// applies (no delegation was needed), otherwise every physician whose rights granted it.
fn combine(grants: impl IntoIterator<Item = Option<Grant>>) -> Option<Grant> {
    let grants: Vec<Grant> = grants.into_iter().flatten().collect();
    if grants.is_empty() {
        None
    } else if grants.iter().any(Grant::is_own) {
        Some(Grant::own())
    } else {
        Some(Grant::delegated(grants.into_iter().flat_map(|g| g.on_behalf_of)))
    }
}

/// The refusal the API answers with.
fn deny(code: ErrorCode) -> DomainError {
    DomainError::Forbidden(code)
}

/// The principal's own role in the RCP.
fn own_role(p: &Principal, rcp: &RcpRoles) -> Option<MemberRole> {
    rcp.role_of(&p.professional_id)
}

/// P(S) as it applies to this RCP: the represented physicians when the principal holds a
/// secretary profile on the RCP's center, nobody otherwise.
fn delegated_on(p: &Principal, rcp: &RcpRoles) -> Vec<String> {
    if p.has_profile(&rcp.cancer_center_id, ProfileKind::Secretary) { p.represented_physicians() } else { Vec::new() }
}

/// The grant a secretary inherits on this RCP from the physicians of P(S) whose role passes
/// `fits`; `None` when there is none.
fn inherited(p: &Principal, rcp: &RcpRoles, fits: fn(MemberRole) -> bool) -> Option<Grant> {
    let physicians: Vec<String> = delegated_on(p, rcp).into_iter().filter(|id| rcp.role_of(id).is_some_and(fits)).collect();
    (!physicians.is_empty()).then(|| Grant::delegated(physicians))
}

/// Any member role.
fn any_role(_: MemberRole) -> bool {
    true
}

/// The chair's role.
fn animateur(role: MemberRole) -> bool {
    role == MemberRole::Animateur
}

/// Physicians and secretaries: those with a clinical profile, who get the clinical icons.
fn is_clinical(p: &Principal) -> bool {
    p.has_profile_kind(ProfileKind::Physician) || p.has_profile_kind(ProfileKind::Secretary)
}

/// Agenda: whether the principal sees the sessions of this RCP.
pub fn sees_session(p: &Principal, rcp: &RcpRoles) -> Option<Grant> {
    combine([own_role(p, rcp).map(|_| Grant::own()), inherited(p, rcp, any_role)])
}

/// Whether the principal sees every dossier of this RCP's sessions: a member physician in the
/// agenda, and a secretary only through an animateur (her participants' share is narrower, see
/// [`sees_dossier_in_agenda`]).
pub fn sees_all_dossiers(p: &Principal, rcp: &RcpRoles) -> Option<Grant> {
    combine([own_role(p, rcp).map(|_| Grant::own()), inherited(p, rcp, animateur)])
}

/// Agenda: whether the principal sees a dossier requested by `requester_id` in a session of
/// this RCP. Beyond [`sees_all_dossiers`], a secretary who sees the session through P(S) sees
/// the dossiers requested by any physician of P(S), whether or not that requester is still a
/// member of the RCP: his dossiers stay in the session, and the table asks only that the
/// requester be hers.
pub fn sees_dossier_in_agenda(p: &Principal, rcp: &RcpRoles, requester_id: &str) -> Option<Grant> {
    let requester_is_hers = delegated_on(p, rcp).iter().any(|id| id == requester_id) && inherited(p, rcp, any_role).is_some();
    combine([sees_all_dossiers(p, rcp), requester_is_hers.then(|| Grant::delegated([requester_id.to_owned()]))])
}

/// `GET /sessions/{id}/run`: the animateurs of the RCP and the secretaries of one, on the RCP's
/// center.
pub fn may_run_session(p: &Principal, rcp: &RcpRoles) -> Result<Grant, DomainError> {
    combine([own_role(p, rcp).filter(|r| animateur(*r)).map(|_| Grant::own()), inherited(p, rcp, animateur)])
        .ok_or(deny(ErrorCode::NotAnimateur))
}

/// `POST /dossiers/{id}/validate`: the same people as the session run ("droit de validation sur
/// toutes les fiches de la RCP").
pub fn may_validate(p: &Principal, rcp: &RcpRoles) -> Result<Grant, DomainError> {
    may_run_session(p, rcp)
}

/// `POST /sessions/{id}/start` and `/close`: the animateurs, their secretaries and the
/// coordinators of the RCP's center, and the platform administrator, who administers sessions
/// (all of these act as themselves).
pub fn may_start_or_close_session(p: &Principal, rcp: &RcpRoles) -> Result<Grant, DomainError> {
    if p.is_platform_admin || p.coordinates(&rcp.cancer_center_id) {
        return Ok(Grant::own());
    }
    may_run_session(p, rcp)
}

/// `POST /rcps/{id}/sessions`: the coordinators of the RCP's center, its managers, its
/// animateurs and the platform administrator, all as themselves; a secretary schedules nothing.
pub fn may_create_session(p: &Principal, rcp: &RcpRoles) -> Result<Grant, DomainError> {
    let id = &p.professional_id;
    if p.is_platform_admin || p.coordinates(&rcp.cancer_center_id) || rcp.is_manager(id) || rcp.is_animateur(id) {
        Ok(Grant::own())
    } else {
        Err(deny(ErrorCode::Forbidden))
    }
}

/// Members and managers of an RCP: the coordinators of its center, its managers and the
/// platform administrator.
pub fn may_manage_rcp(p: &Principal, rcp: &RcpRoles) -> Result<Grant, DomainError> {
    if p.is_platform_admin || p.coordinates(&rcp.cancer_center_id) || rcp.is_manager(&p.professional_id) {
        Ok(Grant::own())
    } else {
        Err(deny(ErrorCode::Forbidden))
    }
}

/// `POST /sessions/{id}/dossiers`: registering a patient before the session.
///
/// A member physician registers for himself, an animateur for any member; a secretary for a
/// physician of P(S) who is a member. The requester is always a member. Rights are checked
/// before the session's status, so that a refused caller learns nothing of the session.
/// Refusals: `not_member` when the caller has no standing in the RCP (neither a member nor a
/// secretary of one there), `not_requester` when it has but may not name this requester.
pub fn may_register_dossier(p: &Principal, rcp: &RcpRoles, requester_id: &str, status: SessionStatus) -> Result<Grant, DomainError> {
    let grant = registers_for(p, rcp, requester_id)?;
    if status != SessionStatus::Planned {
        return Err(DomainError::Conflict {
            code: ErrorCode::SessionNotOpen,
            message: format!("dossiers are registered before the session; this one is {}", status.as_str()),
        });
    }
    Ok(grant)
}

/// Whether the principal stands for `requester_id` in this RCP as a registration needs, whatever
/// the session's status: the requester himself, an animateur, a secretary of the requester.
fn registers_for(p: &Principal, rcp: &RcpRoles, requester_id: &str) -> Result<Grant, DomainError> {
    let requester_is_member = rcp.is_member(requester_id);
    let role = own_role(p, rcp);
    let may_name = |r: MemberRole| requester_id == p.professional_id || animateur(r);
    let delegated = delegated_on(p, rcp);
    let grant = combine([
        role.filter(|r| requester_is_member && may_name(*r)).map(|_| Grant::own()),
        (requester_is_member && delegated.iter().any(|id| id == requester_id)).then(|| Grant::delegated([requester_id.to_owned()])),
    ]);
    let Some(grant) = grant else {
        let standing = role.is_some() || delegated.iter().any(|id| rcp.is_member(id));
        return Err(deny(if standing { ErrorCode::NotRequester } else { ErrorCode::NotMember }));
    };
    Ok(grant)
}

/// Which parts of the fiche RCP a write touches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FicheParts {
    /// The referral (reasons, case status): administrative.
    pub referral: bool,
    /// Any other part (case, diagnosis, proposal, framework): medical content.
    pub medical: bool,
}

/// `PATCH /dossiers/{id}` on the fiche RCP. Its referral part is administrative: whoever may
/// register a dossier for this requester (a secretary of his included) writes it, whatever the
/// session's status (the dossier's own state, not validated, is judged by
/// `dossier::edit_transition`). Every other part is medical content ([`may_write_medical`]): a
/// secretary who sends any of it is refused whole (`medical_act_forbidden`).
pub fn may_write_fiche(
    p: &Principal,
    rcp: &RcpRoles,
    requester_id: &str,
    status: SessionStatus,
    parts: FicheParts,
) -> Result<Vec<Grant>, DomainError> {
    let mut grants = Vec::new();
    if parts.medical {
        grants.push(may_write_medical(p, rcp, requester_id, status)?);
    }
    if parts.referral {
        grants.push(registers_for(p, rcp, requester_id)?);
    }
    Ok(grants)
}

/// `PATCH /dossiers/{id}` on the medical content (summary, question, proposal): the requester
/// before the session, the members during it, nobody once it is closed; never a secretary, who
/// does no medical act, whatever her physicians may do.
pub fn may_write_medical(p: &Principal, rcp: &RcpRoles, requester_id: &str, status: SessionStatus) -> Result<Grant, DomainError> {
    if p.category == Category::Secretary {
        return Err(deny(ErrorCode::MedicalActForbidden));
    }
    let is_requester = requester_id == p.professional_id;
    let is_member = rcp.is_member(&p.professional_id);
    if !is_requester && !is_member {
        return Err(deny(if p.has_profile_kind(ProfileKind::Secretary) { ErrorCode::MedicalActForbidden } else { ErrorCode::Forbidden }));
    }
    match status {
        SessionStatus::Planned if is_requester => Ok(Grant::own()),
        SessionStatus::Planned => Err(deny(ErrorCode::NotRequester)),
        SessionStatus::InProgress if is_member => Ok(Grant::own()),
        SessionStatus::InProgress => Err(deny(ErrorCode::NotMember)),
        SessionStatus::Closed => Err(DomainError::Conflict {
            code: ErrorCode::SessionClosed,
            message: "the session is closed; its dossiers' medical content is frozen".to_owned(),
        }),
    }
}

/// Dossiers tab `rcp_passages`: a physician's own requests; for a secretary, the requests of
/// the physicians of P(S), in the RCPs of the centers where she holds a secretary profile.
pub fn in_rcp_passages_tab(p: &Principal, rcp: &RcpRoles, requester_id: &str) -> Option<Grant> {
    let inherited = delegated_on(p, rcp).iter().any(|id| id == requester_id);
    combine([(requester_id == p.professional_id).then(Grant::own), inherited.then(|| Grant::delegated([requester_id.to_owned()]))])
}

/// Dossiers tab `treating`: the dossiers of the patients the physician treats. Secretaries have
/// no such tab: only the principal's own link counts.
pub fn in_treating_tab(p: &Principal, treating_physician_id: Option<&str>) -> Option<Grant> {
    (treating_physician_id == Some(p.professional_id.as_str())).then(Grant::own)
}

/// Dossiers tab `correspondent`: the dossiers of the patients the physician corresponds for.
/// Secretaries have no such tab: only the principal's own link counts.
pub fn in_correspondent_tab(p: &Principal, correspondent_ids: &[String]) -> Option<Grant> {
    correspondent_ids.contains(&p.professional_id).then(Grant::own)
}

/// The relations of one dossier that its visibility depends on, besides its RCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierRelations {
    /// The requesting physician.
    pub requester_id: String,
    /// The patient's treating physician.
    pub treating_physician_id: Option<String>,
    /// The patient's correspondent physicians.
    pub correspondent_ids: Vec<String>,
}

/// "The dossiers p (or S) can see": those of the agenda and those of the dossiers tabs. This is
/// what `GET /dossiers/{id}` and the patient rules build on.
pub fn sees_dossier(p: &Principal, rcp: &RcpRoles, d: &DossierRelations) -> Option<Grant> {
    combine([
        sees_dossier_in_agenda(p, rcp, &d.requester_id),
        in_rcp_passages_tab(p, rcp, &d.requester_id),
        in_treating_tab(p, d.treating_physician_id.as_deref()),
        in_correspondent_tab(p, &d.correspondent_ids),
    ])
}

/// `POST /dossiers/{id}/report/transmissions`: whoever can see the dossier (the report must
/// also be validated, see [`crate::dossier::ensure_report_sendable`]).
pub fn may_send_report(p: &Principal, rcp: &RcpRoles, d: &DossierRelations) -> Result<Grant, DomainError> {
    sees_dossier(p, rcp, d).ok_or(deny(ErrorCode::Forbidden))
}

/// `POST /patients`, and the identity search that precedes it: physicians and secretaries.
pub fn may_add_patient(p: &Principal) -> Result<Grant, DomainError> {
    if is_clinical(p) { Ok(Grant::own()) } else { Err(deny(ErrorCode::Forbidden)) }
}

/// The relations of one patient that access to the record depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientRelations {
    /// Who added the patient.
    pub created_by: String,
    /// The treating physician.
    pub treating_physician_id: Option<String>,
    /// The correspondent physicians.
    pub correspondent_ids: Vec<String>,
    /// The grants of this patient's dossiers that the principal can see ([`sees_dossier`]).
    pub visible_dossier_grants: Vec<Grant>,
}

/// `GET /patients/{id}` and its documents: patients of visible dossiers, patients the principal
/// added, and for a physician the patients he treats or corresponds for. A secretary does not
/// inherit her physicians' treating or correspondent links: only their dossiers.
pub fn may_read_patient(p: &Principal, rel: &PatientRelations) -> Option<Grant> {
    let own_link = rel.created_by == p.professional_id
        || in_treating_tab(p, rel.treating_physician_id.as_deref()).is_some()
        || in_correspondent_tab(p, &rel.correspondent_ids).is_some();
    combine(std::iter::once(own_link.then(Grant::own)).chain(rel.visible_dossier_grants.iter().cloned().map(Some)))
}

/// `POST /patients/{id}/documents`: patients of visible dossiers and patients the principal
/// added. The table grants the latter to secretaries only; a physician gets it too, since
/// whoever may add a patient must be able to complete the record he just created.
pub fn may_add_document(p: &Principal, rel: &PatientRelations) -> Result<Grant, DomainError> {
    combine(
        std::iter::once((rel.created_by == p.professional_id).then(Grant::own)).chain(rel.visible_dossier_grants.iter().cloned().map(Some)),
    )
    .ok_or(deny(ErrorCode::Forbidden))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::affiliation::ActingFor;
    use crate::profile::Profile;
    use MemberRole::{Animateur, Participant};
    use SessionStatus::{Closed, InProgress, Planned};
    use proptest::prelude::*;

    fn rcp(center: &str, members: &[(&str, MemberRole)], managers: &[&str]) -> RcpRoles {
        RcpRoles {
            rcp_id: format!("rcp-{center}"),
            cancer_center_id: center.to_owned(),
            members: members.iter().map(|(id, r)| ((*id).to_owned(), *r)).collect(),
            managers: managers.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn principal(id: &str, category: Category, profiles: &[(&str, ProfileKind)], acting_for: &[&str]) -> Principal {
        Principal {
            account_id: format!("acc-{id}"),
            professional_id: id.to_owned(),
            category,
            is_platform_admin: false,
            profiles: profiles.iter().map(|(c, k)| Profile { cancer_center_id: (*c).to_owned(), kind: *k }).collect(),
            acting_for: acting_for.iter().map(|d| ActingFor { physician_id: (*d).to_owned(), via_group_id: None }).collect(),
        }
    }

    fn physician(id: &str) -> Principal {
        principal(id, Category::Physician, &[("c1", ProfileKind::Physician)], &[])
    }

    fn secretary_of(physicians: &[&str]) -> Principal {
        principal("s", Category::Secretary, &[("c1", ProfileKind::Secretary)], physicians)
    }

    fn coordinator(center: &str) -> Principal {
        principal("k", Category::Other, &[(center, ProfileKind::CenterCoordinator)], &[])
    }

    fn on_behalf(ids: &[&str]) -> Grant {
        Grant::delegated(ids.iter().map(|s| (*s).to_owned()))
    }

    fn relations(requester: &str) -> DossierRelations {
        DossierRelations { requester_id: requester.to_owned(), treating_physician_id: None, correspondent_ids: Vec::new() }
    }

    /// d1 chairs, d2 and d3 take part; d4 is no member.
    fn board() -> RcpRoles {
        rcp("c1", &[("d1", Animateur), ("d2", Participant), ("d3", Participant)], &["m"])
    }

    #[test]
    fn grants_list_physicians_sorted_once() {
        assert_eq!(on_behalf(&["b", "a", "b"]).on_behalf_of, vec!["a", "b"]);
        assert!(Grant::own().is_own() && !on_behalf(&["a"]).is_own());
    }

    // Row "agenda: which sessions".
    #[test]
    fn agenda_sessions() {
        let r = board();
        assert_eq!(sees_session(&physician("d2"), &r), Some(Grant::own()));
        assert_eq!(sees_session(&physician("d4"), &r), None);
        assert_eq!(sees_session(&secretary_of(&["d2", "d4"]), &r), Some(on_behalf(&["d2"])));
        assert_eq!(sees_session(&secretary_of(&["d3", "d1"]), &r), Some(on_behalf(&["d1", "d3"])));
        assert_eq!(sees_session(&secretary_of(&["d4"]), &r), None);
        assert_eq!(sees_session(&coordinator("c1"), &r), None);
    }

    // Row "agenda: which dossiers in such a session" (seed: "uniquement les dossiers auxquels
    // son / ses médecins sont demandeurs").
    #[test]
    fn secretary_of_a_participant_sees_only_her_physicians_dossiers_in_the_agenda() {
        let r = board();
        let s = secretary_of(&["d2"]);
        assert_eq!(sees_all_dossiers(&s, &r), None);
        assert_eq!(sees_dossier_in_agenda(&s, &r, "d2"), Some(on_behalf(&["d2"])));
        assert_eq!(sees_dossier_in_agenda(&s, &r, "d3"), None);
        assert_eq!(sees_dossier_in_agenda(&s, &r, "d1"), None);
        // A participant physician sees every dossier of his sessions.
        assert_eq!(sees_dossier_in_agenda(&physician("d2"), &r, "d3"), Some(Grant::own()));
        assert_eq!(sees_dossier_in_agenda(&physician("d4"), &r, "d4"), None);
    }

    // Same row: "whether or not that requester is still a member of the RCP".
    #[test]
    fn a_requester_who_left_the_rcp_keeps_his_dossiers_in_his_secretarys_agenda() {
        let r = board();
        // d4 requested a dossier, then left the RCP; d2 still takes part.
        assert_eq!(sees_dossier_in_agenda(&secretary_of(&["d2", "d4"]), &r, "d4"), Some(on_behalf(&["d4"])));
        // Without a member of P(S) she does not see the session, hence none of its dossiers.
        assert_eq!(sees_session(&secretary_of(&["d4"]), &r), None);
        assert_eq!(sees_dossier_in_agenda(&secretary_of(&["d4"]), &r, "d4"), None);
        // Registration keeps its own row: the requester must be a member.
        assert_eq!(
            may_register_dossier(&secretary_of(&["d2", "d4"]), &r, "d4", Planned),
            Err(DomainError::Forbidden(ErrorCode::NotRequester))
        );
    }

    #[test]
    fn secretary_of_an_animateur_sees_every_dossier_in_the_agenda() {
        let r = board();
        let s = secretary_of(&["d1"]);
        assert_eq!(sees_all_dossiers(&s, &r), Some(on_behalf(&["d1"])));
        assert_eq!(sees_dossier_in_agenda(&s, &r, "d3"), Some(on_behalf(&["d1"])));
        // Both the chair and the requester granted it: both are named in the audit.
        let both = secretary_of(&["d1", "d2"]);
        assert_eq!(sees_dossier_in_agenda(&both, &r, "d2"), Some(on_behalf(&["d1", "d2"])));
    }

    // Rows "session run" and "validate a dossier" (seed: "si son médecin est animateur : droit
    // de validation sur toutes les fiches de la RCP").
    #[test]
    fn secretary_of_an_animateur_runs_the_session_and_validates() {
        let r = board();
        let s = secretary_of(&["d1"]);
        assert_eq!(may_run_session(&s, &r), Ok(on_behalf(&["d1"])));
        assert_eq!(may_validate(&s, &r), Ok(on_behalf(&["d1"])));
        assert_eq!(may_run_session(&physician("d1"), &r), Ok(Grant::own()));
        assert_eq!(may_validate(&physician("d1"), &r), Ok(Grant::own()));
        for refused in [physician("d2"), physician("d4"), secretary_of(&["d2", "d3"]), coordinator("c1")] {
            assert_eq!(may_run_session(&refused, &r), Err(DomainError::Forbidden(ErrorCode::NotAnimateur)));
            assert_eq!(may_validate(&refused, &r), Err(DomainError::Forbidden(ErrorCode::NotAnimateur)));
        }
    }

    #[test]
    fn a_secretary_acts_on_each_center_through_that_centers_profile_only() {
        let c1 = rcp("c1", &[("d1", Participant)], &[]);
        let c2 = rcp("c2", &[("d1", Animateur)], &[]);
        let c3 = rcp("c3", &[("d1", Animateur)], &[]);
        let s = principal(
            "s",
            Category::Secretary,
            &[("c1", ProfileKind::Secretary), ("c2", ProfileKind::Secretary), ("c3", ProfileKind::Physician)],
            &["d1"],
        );
        // On c1 she inherits d1's participation, on c2 his chair.
        assert_eq!(sees_dossier_in_agenda(&s, &c1, "d2"), None);
        assert!(may_run_session(&s, &c1).is_err());
        assert_eq!(may_run_session(&s, &c2), Ok(on_behalf(&["d1"])));
        // On c3 she holds no secretary profile: nothing, although d1 chairs there.
        assert_eq!(sees_session(&s, &c3), None);
        assert_eq!(sees_dossier_in_agenda(&s, &c3, "d1"), None);
        assert_eq!(may_validate(&s, &c3), Err(DomainError::Forbidden(ErrorCode::NotAnimateur)));
        assert_eq!(in_rcp_passages_tab(&s, &c3, "d1"), None);
        assert_eq!(may_register_dossier(&s, &c3, "d1", Planned), Err(DomainError::Forbidden(ErrorCode::NotMember)));
    }

    #[test]
    fn sessions_are_started_and_closed_by_animateurs_their_secretaries_and_coordinators() {
        let r = board();
        assert_eq!(may_start_or_close_session(&physician("d1"), &r), Ok(Grant::own()));
        assert_eq!(may_start_or_close_session(&secretary_of(&["d1"]), &r), Ok(on_behalf(&["d1"])));
        assert_eq!(may_start_or_close_session(&coordinator("c1"), &r), Ok(Grant::own()));
        for refused in [physician("d2"), secretary_of(&["d2"]), coordinator("c2")] {
            assert_eq!(may_start_or_close_session(&refused, &r), Err(DomainError::Forbidden(ErrorCode::NotAnimateur)));
        }
    }

    #[test]
    fn the_platform_administrator_administers_sessions_but_sees_no_dossier() {
        let r = board();
        let mut admin = principal("a", Category::Other, &[], &[]);
        admin.is_platform_admin = true;
        assert_eq!(may_create_session(&admin, &r), Ok(Grant::own()));
        assert_eq!(may_start_or_close_session(&admin, &r), Ok(Grant::own()));
        assert_eq!(may_run_session(&admin, &r), Err(DomainError::Forbidden(ErrorCode::NotAnimateur)));
        assert_eq!(may_validate(&admin, &r), Err(DomainError::Forbidden(ErrorCode::NotAnimateur)));
        assert_eq!(sees_dossier(&admin, &r, &relations("d1")), None);
    }

    #[test]
    fn sessions_are_created_by_coordinators_managers_and_animateurs() {
        let r = board();
        assert!(may_create_session(&coordinator("c1"), &r).is_ok());
        assert!(may_create_session(&physician("m"), &r).is_ok());
        assert!(may_create_session(&physician("d1"), &r).is_ok());
        for refused in [physician("d2"), secretary_of(&["d1"]), coordinator("c2")] {
            assert_eq!(may_create_session(&refused, &r), Err(DomainError::Forbidden(ErrorCode::Forbidden)));
        }
    }

    #[test]
    fn rcps_are_managed_by_coordinators_managers_and_the_platform() {
        let r = board();
        let mut admin = principal("nes", Category::Other, &[], &[]);
        admin.is_platform_admin = true;
        for allowed in [coordinator("c1"), physician("m"), admin] {
            assert_eq!(may_manage_rcp(&allowed, &r), Ok(Grant::own()));
        }
        for refused in [coordinator("c2"), physician("d1"), secretary_of(&["d1"])] {
            assert_eq!(may_manage_rcp(&refused, &r), Err(DomainError::Forbidden(ErrorCode::Forbidden)));
        }
    }

    // Row "register a patient in a session before it starts".
    #[test]
    fn registration_by_physicians() {
        let r = board();
        assert_eq!(may_register_dossier(&physician("d2"), &r, "d2", Planned), Ok(Grant::own()));
        assert_eq!(may_register_dossier(&physician("d2"), &r, "d3", Planned), Err(DomainError::Forbidden(ErrorCode::NotRequester)));
        // An animateur names any member, but only a member.
        assert_eq!(may_register_dossier(&physician("d1"), &r, "d3", Planned), Ok(Grant::own()));
        assert_eq!(may_register_dossier(&physician("d1"), &r, "d4", Planned), Err(DomainError::Forbidden(ErrorCode::NotRequester)));
        assert_eq!(may_register_dossier(&physician("d4"), &r, "d4", Planned), Err(DomainError::Forbidden(ErrorCode::NotMember)));
        assert_eq!(may_register_dossier(&coordinator("c1"), &r, "d2", Planned), Err(DomainError::Forbidden(ErrorCode::NotMember)));
    }

    #[test]
    fn registration_by_secretaries_and_only_before_the_session() {
        let r = board();
        let s = secretary_of(&["d2", "d4"]);
        assert_eq!(may_register_dossier(&s, &r, "d2", Planned), Ok(on_behalf(&["d2"])));
        // d4 is hers but no member; d3 is a member but not hers.
        assert_eq!(may_register_dossier(&s, &r, "d4", Planned), Err(DomainError::Forbidden(ErrorCode::NotRequester)));
        assert_eq!(may_register_dossier(&s, &r, "d3", Planned), Err(DomainError::Forbidden(ErrorCode::NotRequester)));
        // A secretary of an animateur does not inherit his right to name anyone.
        assert!(may_register_dossier(&secretary_of(&["d1"]), &r, "d3", Planned).is_err());
        assert_eq!(may_register_dossier(&secretary_of(&["d4"]), &r, "d4", Planned), Err(DomainError::Forbidden(ErrorCode::NotMember)));
        for status in [InProgress, Closed] {
            assert!(matches!(
                may_register_dossier(&s, &r, "d2", status),
                Err(DomainError::Conflict { code: ErrorCode::SessionNotOpen, .. })
            ));
            // Rights come first: a stranger learns nothing of the session's state.
            assert_eq!(may_register_dossier(&physician("d4"), &r, "d4", status), Err(DomainError::Forbidden(ErrorCode::NotMember)));
        }
    }

    // Row "add a patient".
    #[test]
    fn physicians_and_secretaries_add_patients() {
        assert!(may_add_patient(&physician("d1")).is_ok());
        assert!(may_add_patient(&secretary_of(&[])).is_ok());
        assert_eq!(may_add_patient(&coordinator("c1")), Err(DomainError::Forbidden(ErrorCode::Forbidden)));
    }

    // Row "read a patient's record".
    #[test]
    fn reading_a_patient() {
        let base = PatientRelations {
            created_by: "x".into(),
            treating_physician_id: Some("d1".into()),
            correspondent_ids: vec!["d2".into()],
            visible_dossier_grants: Vec::new(),
        };
        assert_eq!(may_read_patient(&physician("d1"), &base), Some(Grant::own()));
        assert_eq!(may_read_patient(&physician("d2"), &base), Some(Grant::own()));
        assert_eq!(may_read_patient(&physician("d3"), &base), None);
        let added = PatientRelations { created_by: "d3".into(), ..base.clone() };
        assert_eq!(may_read_patient(&physician("d3"), &added), Some(Grant::own()));
        // A secretary does not inherit the treating or correspondent links…
        assert_eq!(may_read_patient(&secretary_of(&["d1", "d2"]), &base), None);
        // …but reads the patients of the dossiers she sees, and those she added.
        let seen = PatientRelations { visible_dossier_grants: vec![on_behalf(&["d2"]), on_behalf(&["d1"])], ..base.clone() };
        assert_eq!(may_read_patient(&secretary_of(&["d1", "d2"]), &seen), Some(on_behalf(&["d1", "d2"])));
        let hers = PatientRelations { created_by: "s".into(), ..base.clone() };
        assert_eq!(may_read_patient(&secretary_of(&[]), &hers), Some(Grant::own()));
        // The administrators read no medical data.
        let mut admin = coordinator("c1");
        admin.is_platform_admin = true;
        assert_eq!(may_read_patient(&admin, &base), None);
    }

    // Row "add documents to a patient dossier".
    #[test]
    fn adding_documents() {
        let base = PatientRelations {
            created_by: "x".into(),
            treating_physician_id: Some("d1".into()),
            correspondent_ids: vec!["d2".into()],
            visible_dossier_grants: Vec::new(),
        };
        // Treating or corresponding alone does not let one add documents.
        assert_eq!(may_add_document(&physician("d1"), &base), Err(DomainError::Forbidden(ErrorCode::Forbidden)));
        let seen = PatientRelations { visible_dossier_grants: vec![Grant::own()], ..base.clone() };
        assert_eq!(may_add_document(&physician("d1"), &seen), Ok(Grant::own()));
        let seen_by_s = PatientRelations { visible_dossier_grants: vec![on_behalf(&["d2"])], ..base.clone() };
        assert_eq!(may_add_document(&secretary_of(&["d2"]), &seen_by_s), Ok(on_behalf(&["d2"])));
        let hers = PatientRelations { created_by: "s".into(), ..base.clone() };
        assert_eq!(may_add_document(&secretary_of(&[]), &hers), Ok(Grant::own()));
        let his = PatientRelations { created_by: "d3".into(), ..base };
        assert_eq!(may_add_document(&physician("d3"), &his), Ok(Grant::own()));
    }

    // Row "send a validated report": the dossiers one can see.
    #[test]
    fn sending_reports() {
        let r = board();
        assert_eq!(may_send_report(&physician("d3"), &r, &relations("d2")), Ok(Grant::own()));
        assert_eq!(may_send_report(&secretary_of(&["d2"]), &r, &relations("d2")), Ok(on_behalf(&["d2"])));
        assert_eq!(may_send_report(&secretary_of(&["d2"]), &r, &relations("d3")), Err(DomainError::Forbidden(ErrorCode::Forbidden)));
        assert_eq!(may_send_report(&coordinator("c1"), &r, &relations("d2")), Err(DomainError::Forbidden(ErrorCode::Forbidden)));
        // A requester who left the RCP still sees, and sends, his own passages.
        let left = rcp("c1", &[("d1", Animateur)], &[]);
        assert_eq!(may_send_report(&physician("d2"), &left, &relations("d2")), Ok(Grant::own()));
    }

    // Row "dossier tabs".
    #[test]
    fn dossier_tabs() {
        let r = board();
        assert_eq!(in_rcp_passages_tab(&physician("d2"), &r, "d2"), Some(Grant::own()));
        assert_eq!(in_rcp_passages_tab(&physician("d2"), &r, "d3"), None);
        assert_eq!(in_rcp_passages_tab(&secretary_of(&["d2"]), &r, "d2"), Some(on_behalf(&["d2"])));
        assert_eq!(in_rcp_passages_tab(&secretary_of(&["d2"]), &r, "d1"), None);
        assert_eq!(in_treating_tab(&physician("d1"), Some("d1")), Some(Grant::own()));
        assert_eq!(in_treating_tab(&secretary_of(&["d1"]), Some("d1")), None);
        let correspondents = vec!["d1".to_owned()];
        assert_eq!(in_correspondent_tab(&physician("d1"), &correspondents), Some(Grant::own()));
        assert_eq!(in_correspondent_tab(&secretary_of(&["d1"]), &correspondents), None);
        // A correspondent sees the patient's dossiers of an RCP he is no member of.
        let d = DossierRelations { correspondent_ids: correspondents, ..relations("d2") };
        assert_eq!(sees_dossier(&physician("d1"), &rcp("c2", &[], &[]), &d), Some(Grant::own()));
    }

    // Row "write the medical content".
    #[test]
    fn medical_content() {
        let r = board();
        assert_eq!(may_write_medical(&physician("d2"), &r, "d2", Planned), Ok(Grant::own()));
        assert_eq!(may_write_medical(&physician("d3"), &r, "d2", Planned), Err(DomainError::Forbidden(ErrorCode::NotRequester)));
        assert_eq!(may_write_medical(&physician("d3"), &r, "d2", InProgress), Ok(Grant::own()));
        assert_eq!(may_write_medical(&physician("d4"), &r, "d2", InProgress), Err(DomainError::Forbidden(ErrorCode::Forbidden)));
        for status in [Planned, InProgress] {
            assert!(may_write_medical(&physician("d4"), &r, "d4", status).is_ok() == (status == Planned));
        }
        assert!(matches!(
            may_write_medical(&physician("d1"), &r, "d1", Closed),
            Err(DomainError::Conflict { code: ErrorCode::SessionClosed, .. })
        ));
        assert_eq!(may_write_medical(&coordinator("c1"), &r, "d2", InProgress), Err(DomainError::Forbidden(ErrorCode::Forbidden)));
    }

    #[test]
    fn a_secretary_never_writes_medical_content() {
        let r = board();
        for s in [secretary_of(&["d1"]), secretary_of(&["d2"])] {
            for status in [Planned, InProgress, Closed] {
                assert_eq!(may_write_medical(&s, &r, "d2", status), Err(DomainError::Forbidden(ErrorCode::MedicalActForbidden)));
            }
        }
        // Not even if the data named her requester or member.
        let odd = rcp("c1", &[("s", Animateur)], &[]);
        assert_eq!(
            may_write_medical(&secretary_of(&[]), &odd, "s", InProgress),
            Err(DomainError::Forbidden(ErrorCode::MedicalActForbidden))
        );
    }

    // ----- Random worlds checked against a reference model written from the table. -----

    const CENTERS: [&str; 2] = ["c1", "c2"];
    const DOCTORS: [&str; 4] = ["d0", "d1", "d2", "d3"];

    /// One random world: RCPs with random member roles, a principal, a requester.
    #[derive(Debug, Clone)]
    struct World {
        rcps: Vec<RcpRoles>,
        principal: Principal,
        /// P(S) as drawn, before any center rule applies.
        acting_for: Vec<String>,
        /// The centers of the secretary profiles (empty for a physician).
        secretary_centers: Vec<String>,
        is_secretary: bool,
        requester: String,
    }

    fn world() -> impl Strategy<Value = World> {
        let a_rcp = (0usize..2, proptest::collection::vec(proptest::option::of(prop_oneof![Just(Participant), Just(Animateur)]), 4))
            .prop_map(|(c, roles)| RcpRoles {
                rcp_id: String::new(),
                cancer_center_id: CENTERS[c].to_owned(),
                members: DOCTORS.iter().zip(roles).filter_map(|(d, r)| r.map(|r| ((*d).to_owned(), r))).collect(),
                managers: Vec::new(),
            });
        (
            proptest::collection::vec(a_rcp, 1..=3),
            any::<bool>(),
            0usize..4,
            proptest::collection::vec(any::<bool>(), 4),
            proptest::collection::vec(
                prop_oneof![Just(ProfileKind::Physician), Just(ProfileKind::Secretary), Just(ProfileKind::CenterCoordinator)],
                0..=2,
            ),
            proptest::collection::vec(0usize..2, 2),
            0usize..4,
        )
            .prop_map(|(rcps, is_secretary, me, represented, kinds, kind_centers, requester)| {
                let profiles: Vec<Profile> =
                    kinds.iter().zip(kind_centers).map(|(k, c)| Profile { cancer_center_id: CENTERS[c].to_owned(), kind: *k }).collect();
                let acting_for: Vec<String> = if is_secretary {
                    DOCTORS.iter().zip(&represented).filter(|(_, r)| **r).map(|(d, _)| (*d).to_owned()).collect()
                } else {
                    Vec::new()
                };
                let (id, category) =
                    if is_secretary { ("s".to_owned(), Category::Secretary) } else { (DOCTORS[me].to_owned(), Category::Physician) };
                let principal = Principal {
                    account_id: "acc".into(),
                    professional_id: id,
                    category,
                    is_platform_admin: false,
                    profiles: profiles.clone(),
                    acting_for: acting_for.iter().map(|d| ActingFor { physician_id: d.clone(), via_group_id: None }).collect(),
                };
                let secretary_centers =
                    profiles.iter().filter(|p| p.kind == ProfileKind::Secretary).map(|p| p.cancer_center_id.clone()).collect();
                World { rcps, principal, acting_for, secretary_centers, is_secretary, requester: DOCTORS[requester].to_owned() }
            })
    }

    /// The reference model: the table's cells, one by one, as sets of physicians.
    mod model {
        use super::*;

        /// Physicians of the RCP holding one of `roles`.
        fn holding(rcp: &RcpRoles, roles: &[MemberRole]) -> Vec<String> {
            rcp.members.iter().filter(|(_, r)| roles.contains(r)).map(|(d, _)| d.clone()).collect()
        }

        /// P(S) where the secretary may act on this RCP: empty off her secretary centers.
        fn ps_here(w: &World, rcp: &RcpRoles) -> Vec<String> {
            if w.is_secretary && w.secretary_centers.contains(&rcp.cancer_center_id) { w.acting_for.clone() } else { vec![] }
        }

        fn me(w: &World) -> &str {
            &w.principal.professional_id
        }

        /// `Some(expected on_behalf_of)` when granted.
        pub(super) fn session(w: &World, rcp: &RcpRoles) -> Option<Vec<String>> {
            if !w.is_secretary {
                return holding(rcp, &[Participant, Animateur]).iter().any(|d| d == me(w)).then(Vec::new);
            }
            let members = holding(rcp, &[Participant, Animateur]);
            let mut via: Vec<String> = ps_here(w, rcp).into_iter().filter(|d| members.contains(d)).collect();
            via.sort();
            (!via.is_empty()).then_some(via)
        }

        pub(super) fn run(w: &World, rcp: &RcpRoles) -> Option<Vec<String>> {
            let chairs = holding(rcp, &[Animateur]);
            if !w.is_secretary {
                return chairs.iter().any(|d| d == me(w)).then(Vec::new);
            }
            let mut via: Vec<String> = ps_here(w, rcp).into_iter().filter(|d| chairs.contains(d)).collect();
            via.sort();
            (!via.is_empty()).then_some(via)
        }

        pub(super) fn agenda_dossier(w: &World, rcp: &RcpRoles, requester: &str) -> Option<Vec<String>> {
            if !w.is_secretary {
                return session(w, rcp);
            }
            // Animateur RCP: all, through the chairs; an RCP she sees: the requester's, member
            // of the RCP or not.
            let mut via = run(w, rcp).unwrap_or_default();
            let ps = ps_here(w, rcp);
            if ps.iter().any(|d| d == requester) && session(w, rcp).is_some() {
                via.push(requester.to_owned());
            }
            via.sort();
            via.dedup();
            (!via.is_empty()).then_some(via)
        }

        pub(super) fn passages_tab(w: &World, rcp: &RcpRoles, requester: &str) -> Option<Vec<String>> {
            if !w.is_secretary {
                return (requester == me(w)).then(Vec::new);
            }
            ps_here(w, rcp).iter().any(|d| d == requester).then(|| vec![requester.to_owned()])
        }

        pub(super) fn register(w: &World, rcp: &RcpRoles, requester: &str) -> Option<Vec<String>> {
            let members = holding(rcp, &[Participant, Animateur]);
            if !members.iter().any(|d| d == requester) {
                return None;
            }
            if !w.is_secretary {
                let chairs = holding(rcp, &[Animateur]);
                let member = members.iter().any(|d| d == me(w));
                let chair = chairs.iter().any(|d| d == me(w));
                return (chair || (member && requester == me(w))).then(Vec::new);
            }
            ps_here(w, rcp).iter().any(|d| d == requester).then(|| vec![requester.to_owned()])
        }
    }

    fn behalf(g: Option<Grant>) -> Option<Vec<String>> {
        g.map(|g| g.on_behalf_of)
    }

    proptest! {
        #[test]
        fn rules_agree_with_the_reference_model(w in world()) {
            let p = &w.principal;
            let req = w.requester.as_str();
            for rcp in &w.rcps {
                prop_assert_eq!(behalf(sees_session(p, rcp)), model::session(&w, rcp));
                prop_assert_eq!(behalf(sees_dossier_in_agenda(p, rcp, req)), model::agenda_dossier(&w, rcp, req));
                prop_assert_eq!(behalf(may_run_session(p, rcp).ok()), model::run(&w, rcp));
                prop_assert_eq!(behalf(may_validate(p, rcp).ok()), model::run(&w, rcp));
                prop_assert_eq!(behalf(in_rcp_passages_tab(p, rcp, req)), model::passages_tab(&w, rcp, req));
                prop_assert_eq!(behalf(may_register_dossier(p, rcp, req, Planned).ok()), model::register(&w, rcp, req));
            }
        }

        #[test]
        fn invariants_hold(w in world()) {
            let p = &w.principal;
            let ps = p.represented_physicians();
            for rcp in &w.rcps {
                for req in DOCTORS {
                    let agenda = sees_dossier_in_agenda(p, rcp, req);
                    prop_assert!(agenda.is_none() || sees_session(p, rcp).is_some());
                    let grants = [
                        sees_session(p, rcp),
                        sees_all_dossiers(p, rcp),
                        agenda,
                        may_run_session(p, rcp).ok(),
                        may_start_or_close_session(p, rcp).ok(),
                        may_register_dossier(p, rcp, req, Planned).ok(),
                    ];
                    for g in grants.into_iter().flatten() {
                        for d in &g.on_behalf_of {
                            prop_assert!(ps.contains(d), "{} is not in P(S)", d);
                            // Only the requester of a dossier may have left the RCP.
                            prop_assert!(rcp.is_member(d) || d == req, "{} is no member of the RCP", d);
                        }
                    }
                    if let Some(g) = in_rcp_passages_tab(p, rcp, req) {
                        prop_assert!(g.on_behalf_of.iter().all(|d| ps.contains(d)));
                    }
                    if w.is_secretary {
                        prop_assert!(may_write_medical(p, rcp, req, InProgress).is_err());
                    }
                    if w.is_secretary && !p.has_profile(&rcp.cancer_center_id, ProfileKind::Secretary) {
                        prop_assert!(sees_session(p, rcp).is_none());
                        prop_assert!(sees_dossier_in_agenda(p, rcp, req).is_none());
                        prop_assert!(in_rcp_passages_tab(p, rcp, req).is_none());
                        prop_assert!(may_register_dossier(p, rcp, req, Planned).is_err());
                        prop_assert!(may_write_medical(p, rcp, req, Planned).is_err());
                        prop_assert!(may_run_session(p, rcp).is_err());
                        prop_assert!(may_validate(p, rcp).is_err());
                        // Only a coordinator profile on the center, her own right, may start it.
                        prop_assert_eq!(may_start_or_close_session(p, rcp).is_ok(), p.coordinates(&rcp.cancer_center_id));
                    }
                }
                prop_assert_eq!(may_validate(p, rcp), may_run_session(p, rcp));
            }
        }
    }

    #[test]
    fn the_referral_is_the_registrants_and_the_rest_of_the_fiche_is_medical() {
        let board = rcp("c1", &[("chair", Animateur), ("m", Participant)], &[]);
        let referral = FicheParts { referral: true, medical: false };
        let medical = FicheParts { referral: false, medical: true };
        let both = FicheParts { referral: true, medical: true };
        let sec = secretary_of(&["m"]);
        // The secretary prepares the referral for her physician, before or during the session.
        for status in [Planned, InProgress, Closed] {
            assert_eq!(may_write_fiche(&sec, &board, "m", status, referral), Ok(vec![on_behalf(&["m"])]));
        }
        // Never the medical parts, nor the referral sent with them.
        for parts in [medical, both] {
            assert_eq!(may_write_fiche(&sec, &board, "m", Planned, parts), Err(deny(ErrorCode::MedicalActForbidden)));
        }
        // Not for a physician she does not stand for.
        assert_eq!(may_write_fiche(&sec, &board, "chair", Planned, referral), Err(deny(ErrorCode::NotRequester)));
        // The requester writes both before the session; another member only the medical parts
        // during it, and the referral never (he does not register for the requester).
        assert_eq!(may_write_fiche(&physician("m"), &board, "m", Planned, both), Ok(vec![Grant::own(), Grant::own()]));
        assert_eq!(may_write_fiche(&physician("chair"), &board, "m", InProgress, medical), Ok(vec![Grant::own()]));
        assert_eq!(may_write_fiche(&physician("chair"), &board, "m", InProgress, referral), Ok(vec![Grant::own()]));
        let other = rcp("c1", &[("chair", Animateur), ("m", Participant), ("o", Participant)], &[]);
        assert_eq!(may_write_fiche(&physician("o"), &other, "m", InProgress, referral), Err(deny(ErrorCode::NotRequester)));
        assert_eq!(may_write_fiche(&physician("o"), &other, "m", InProgress, medical), Ok(vec![Grant::own()]));
        // Nothing asked, nothing granted.
        assert_eq!(may_write_fiche(&sec, &board, "m", Planned, FicheParts::default()), Ok(vec![]));
    }
}
