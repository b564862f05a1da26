-- The dossier search walks what the caller sees newest session first and stops at the page, so
-- a dossier carries its session's start. The database keeps the copy right by itself (the
-- application never writes it): on every insert, when a dossier changes session, and when a
-- session moves. SQLite adds a NOT NULL column only with a default, and a trigger cannot set
-- the row being inserted: the insert writes the default, the trigger the start, in the same
-- statement.
ALTER TABLE dossiers ADD COLUMN session_starts_at TIMESTAMP NOT NULL DEFAULT '';
UPDATE dossiers SET session_starts_at = s.starts_at FROM rcp_sessions s WHERE s.id = dossiers.session_id;

CREATE TRIGGER dossiers_session_start AFTER INSERT ON dossiers BEGIN
    UPDATE dossiers SET session_starts_at = (SELECT s.starts_at FROM rcp_sessions s WHERE s.id = NEW.session_id) WHERE id = NEW.id;
END;
CREATE TRIGGER dossiers_session_moved AFTER UPDATE OF session_id, session_starts_at ON dossiers BEGIN
    UPDATE dossiers SET session_starts_at = (SELECT s.starts_at FROM rcp_sessions s WHERE s.id = NEW.session_id)
    WHERE id = NEW.id AND session_starts_at IS NOT (SELECT s.starts_at FROM rcp_sessions s WHERE s.id = NEW.session_id);
END;
CREATE TRIGGER rcp_sessions_start_moved AFTER UPDATE OF starts_at ON rcp_sessions WHEN OLD.starts_at IS NOT NEW.starts_at BEGIN
    UPDATE dossiers SET session_starts_at = NEW.starts_at WHERE session_id = NEW.id;
END;

-- One ordered walk per RCP seen whole and per requester, merged by SQLite's ordered compound
-- select; what the arms test (the RCP, the patient) is in the index.
CREATE INDEX dossiers_rcp_start ON dossiers (rcp_id, session_starts_at DESC, id, patient_id);
CREATE INDEX dossiers_requester_start ON dossiers (requester_id, session_starts_at DESC, id, rcp_id, patient_id);
-- The search tests each dossier's patient (name prefix, treating physician) on this index alone.
DROP INDEX patients_names;
CREATE INDEX patients_names ON patients (id, family_name, given_name, birth_date, search_family, treating_physician_id);
