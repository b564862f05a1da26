-- The board's own rules: physicians' specialties, attendance of a session, the quorum an RCP
-- asks for, and whether a session reached it. Tables of their own, so the directory and the
-- clinical tables keep their shape.

CREATE TABLE professional_specialties (
    professional_id TEXT PRIMARY KEY REFERENCES professionals (id),
    specialty TEXT NOT NULL CHECK (specialty IN ('medical_oncology', 'radiotherapy', 'surgery', 'radiology',
        'nuclear_medicine', 'pathology', 'organ_specialist', 'geriatrics', 'palliative_care', 'other')),
    -- Free text: the organ of a surgeon or of an organ specialist ("digestive", "thoracic").
    subspecialty TEXT,
    set_by TEXT NOT NULL REFERENCES professionals (id),
    set_at TIMESTAMP NOT NULL
);
CREATE INDEX professional_specialties_specialty ON professional_specialties (specialty, professional_id);

-- Absent row: the default quorum (3 physicians of 3 specialties, none required).
CREATE TABLE rcp_quorum (
    rcp_id TEXT PRIMARY KEY REFERENCES rcps (id),
    min_physicians INTEGER NOT NULL CHECK (min_physicians BETWEEN 1 AND 50),
    min_specialties INTEGER NOT NULL CHECK (min_specialties BETWEEN 0 AND 10),
    -- Space-separated specialties that must be present (for example "surgery").
    required_specialties TEXT NOT NULL,
    set_by TEXT NOT NULL REFERENCES professionals (id),
    set_at TIMESTAMP NOT NULL
);

CREATE TABLE session_attendance (
    session_id TEXT NOT NULL REFERENCES rcp_sessions (id),
    professional_id TEXT NOT NULL REFERENCES professionals (id),
    recorded_by TEXT NOT NULL REFERENCES professionals (id),
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (session_id, professional_id)
);

-- A row once the session's attendance met its RCP's quorum (the activity report's quorum rate).
CREATE TABLE session_quorum (
    session_id TEXT PRIMARY KEY REFERENCES rcp_sessions (id),
    reached_at TIMESTAMP NOT NULL
);
