-- The clinical core: RCPs and their members, sessions, patients, documents, dossiers, reports,
-- report transmissions, and the audit trail of patient data.

CREATE TABLE rcps (
    id TEXT PRIMARY KEY,
    cancer_center_id TEXT NOT NULL REFERENCES cancer_centers (id),
    name TEXT NOT NULL,
    specialty TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX rcps_center ON rcps (cancer_center_id, id);

CREATE TABLE rcp_members (
    rcp_id TEXT NOT NULL REFERENCES rcps (id),
    professional_id TEXT NOT NULL REFERENCES professionals (id),
    role TEXT NOT NULL CHECK (role IN ('participant', 'animateur')),
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (rcp_id, professional_id)
);
-- "the RCPs where p (or one of P(S)) is a member / animateur": looked up by professional.
CREATE INDEX rcp_members_professional ON rcp_members (professional_id, role, rcp_id);

CREATE TABLE rcp_managers (
    rcp_id TEXT NOT NULL REFERENCES rcps (id),
    professional_id TEXT NOT NULL REFERENCES professionals (id),
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (rcp_id, professional_id)
);
CREATE INDEX rcp_managers_professional ON rcp_managers (professional_id, rcp_id);

CREATE TABLE rcp_sessions (
    id TEXT PRIMARY KEY,
    rcp_id TEXT NOT NULL REFERENCES rcps (id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP,
    location TEXT,
    status TEXT NOT NULL CHECK (status IN ('planned', 'in_progress', 'closed')),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX rcp_sessions_rcp_start ON rcp_sessions (rcp_id, starts_at, id);
CREATE INDEX rcp_sessions_start ON rcp_sessions (starts_at, id);

CREATE TABLE patients (
    id TEXT PRIMARY KEY,
    family_name TEXT NOT NULL,
    given_name TEXT NOT NULL,
    -- accent- and case-folded family name, byte-ordered, for the identity search
    search_family TEXT NOT NULL,
    search_given TEXT NOT NULL,
    birth_date DATE NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    birth_place_code TEXT,
    ins TEXT UNIQUE,
    treating_physician_id TEXT REFERENCES professionals (id),
    created_by TEXT NOT NULL REFERENCES professionals (id),
    created_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX patients_identity ON patients (birth_date, search_family, id);
CREATE INDEX patients_search_family ON patients (search_family, birth_date);
CREATE INDEX patients_treating ON patients (treating_physician_id);
CREATE INDEX patients_created_by ON patients (created_by);

CREATE TABLE patient_correspondents (
    patient_id TEXT NOT NULL REFERENCES patients (id),
    professional_id TEXT NOT NULL REFERENCES professionals (id),
    PRIMARY KEY (patient_id, professional_id)
);
CREATE INDEX patient_correspondents_professional ON patient_correspondents (professional_id, patient_id);

CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients (id),
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    document_date DATE NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    uploaded_by TEXT NOT NULL REFERENCES professionals (id),
    uploaded_at TIMESTAMP NOT NULL
);
CREATE INDEX documents_patient ON documents (patient_id, uploaded_at, id);

CREATE TABLE dossiers (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES rcp_sessions (id),
    rcp_id TEXT NOT NULL REFERENCES rcps (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    requester_id TEXT NOT NULL REFERENCES professionals (id),
    status TEXT NOT NULL CHECK (status IN ('registered', 'discussed', 'validated', 'withdrawn')),
    clinical_summary TEXT,
    question TEXT,
    proposal TEXT,
    version INTEGER NOT NULL,
    registered_by TEXT NOT NULL REFERENCES professionals (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    validated_by TEXT REFERENCES professionals (id),
    validated_at TIMESTAMP
);
CREATE INDEX dossiers_session ON dossiers (session_id, id);
-- The "rcp_passages" tab and a secretary's agenda share: dossiers by requester.
CREATE INDEX dossiers_requester ON dossiers (requester_id, created_at, id);
CREATE INDEX dossiers_patient ON dossiers (patient_id);
CREATE INDEX dossiers_rcp ON dossiers (rcp_id, requester_id);

CREATE TABLE reports (
    dossier_id TEXT PRIMARY KEY REFERENCES dossiers (id),
    body TEXT NOT NULL,
    produced_by TEXT NOT NULL REFERENCES professionals (id),
    produced_at TIMESTAMP NOT NULL
);

CREATE TABLE report_transmissions (
    id TEXT PRIMARY KEY,
    dossier_id TEXT NOT NULL REFERENCES dossiers (id),
    channel TEXT NOT NULL CHECK (channel IN ('mssante', 'mail', 'print')),
    sent_by TEXT NOT NULL REFERENCES professionals (id),
    sent_at TIMESTAMP NOT NULL
);
CREATE INDEX report_transmissions_dossier ON report_transmissions (dossier_id, sent_at, id);

CREATE TABLE report_transmission_recipients (
    transmission_id TEXT NOT NULL REFERENCES report_transmissions (id),
    recipient_id TEXT NOT NULL REFERENCES professionals (id),
    PRIMARY KEY (transmission_id, recipient_id)
);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    actor_id TEXT NOT NULL,
    -- space-separated physician ids whose rights a secretary used; empty when acting as oneself
    on_behalf_of TEXT NOT NULL,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    patient_id TEXT,
    -- the center whose RCP the accessed dossier belongs to, for coordinators' view of the trail
    cancer_center_id TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied'))
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_patient ON audit_events (patient_id, at);
CREATE INDEX audit_events_actor ON audit_events (actor_id, at);
CREATE INDEX audit_events_center ON audit_events (cancer_center_id, at);
