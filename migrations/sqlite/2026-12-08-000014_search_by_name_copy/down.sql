DROP INDEX dossiers_requester_start;
CREATE INDEX dossiers_requester_start ON dossiers (requester_id, session_starts_at DESC, id, rcp_id, patient_id);
DROP INDEX dossiers_rcp_start;
CREATE INDEX dossiers_rcp_start ON dossiers (rcp_id, session_starts_at DESC, id, patient_id);
DROP TRIGGER patients_search_family_moved;
DROP TRIGGER dossiers_patient_moved;
DROP TRIGGER dossiers_copies;
CREATE TRIGGER dossiers_session_start AFTER INSERT ON dossiers BEGIN
    UPDATE dossiers SET session_starts_at = (SELECT s.starts_at FROM rcp_sessions s WHERE s.id = NEW.session_id) WHERE id = NEW.id;
END;
ALTER TABLE dossiers DROP COLUMN patient_search_family;
