//! The session run ("déroulement"): a session with every dossier and its attendance, for the
//! animateurs of its RCP and their secretaries.

use concerto_domain::delegation;
use concerto_domain::principal::Principal;

use crate::attendance::{self, Attendance};
use crate::dossiers::{self, Dossier};
use crate::sessions::{self, Session};
use crate::{DbConnection, Error, audit, rcps as boards};

/// The session run: the session, every dossier and the attendance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRun {
    /// The session.
    pub session: Session,
    /// Every dossier, by patient name.
    pub dossiers: Vec<Dossier>,
    /// Who is present, and where the board stands against its quorum.
    pub attendance: Attendance,
}

/// The session run: the session with every dossier and its attendance, for the animateurs of its
/// RCP and their secretaries; `not_animateur` for anyone else. One audit event records the read.
pub fn run(conn: &mut DbConnection, p: &Principal, id: &str) -> Result<SessionRun, Error> {
    audit::audited_read(conn, p, "session.run", "session", |c, trail| {
        trail.resource_id = Some(id.to_owned());
        let session = sessions::find(c, id)?;
        let roles = boards::roles(c, &session.rcp_id)?;
        trail.cancer_center_id = Some(roles.cancer_center_id.clone());
        trail.grant = delegation::may_run_session(p, &roles)?;
        let dossiers = dossiers::of_session(c, id)?;
        let attendance = attendance::of_session(c, &session)?;
        Ok(SessionRun { session, dossiers, attendance })
    })
}
