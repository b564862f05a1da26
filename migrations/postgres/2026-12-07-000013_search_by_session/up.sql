-- The dossier search walks what the caller sees newest session first and stops at the page, so
-- a dossier carries its session's start. The database keeps the copy right by itself (the
-- application never writes it): on every insert, when a dossier changes session, and when a
-- session moves.
ALTER TABLE dossiers ADD COLUMN session_starts_at TIMESTAMP;
UPDATE dossiers d SET session_starts_at = s.starts_at FROM rcp_sessions s WHERE s.id = d.session_id;
ALTER TABLE dossiers ALTER COLUMN session_starts_at SET NOT NULL;

CREATE FUNCTION dossiers_session_start() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.session_starts_at := (SELECT s.starts_at FROM rcp_sessions s WHERE s.id = NEW.session_id);
    RETURN NEW;
END $$;
CREATE TRIGGER dossiers_session_start BEFORE INSERT OR UPDATE OF session_id, session_starts_at ON dossiers
    FOR EACH ROW EXECUTE FUNCTION dossiers_session_start();

CREATE FUNCTION rcp_sessions_start_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE dossiers SET session_starts_at = NEW.starts_at WHERE session_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER rcp_sessions_start_moved AFTER UPDATE OF starts_at ON rcp_sessions
    FOR EACH ROW WHEN (OLD.starts_at IS DISTINCT FROM NEW.starts_at) EXECUTE FUNCTION rcp_sessions_start_moved();

-- One ordered walk per RCP seen whole and per requester, merged by the planner (Merge Append);
-- what the arms test (the RCP, the patient) is in the index.
CREATE INDEX dossiers_rcp_start ON dossiers (rcp_id, session_starts_at DESC, id) INCLUDE (patient_id);
CREATE INDEX dossiers_requester_start ON dossiers (requester_id, session_starts_at DESC, id) INCLUDE (rcp_id, patient_id);
-- The search tests each dossier's patient (name prefix, treating physician) on this index alone.
DROP INDEX patients_names;
CREATE INDEX patients_names ON patients (id) INCLUDE (family_name, given_name, birth_date, search_family, treating_physician_id);
