DROP INDEX dossiers_treating_start;
DROP TRIGGER patients_treating_moved;
DROP TRIGGER dossiers_patient_treating_moved;
DROP TRIGGER dossiers_copies;
CREATE TRIGGER dossiers_copies AFTER INSERT ON dossiers BEGIN
    UPDATE dossiers SET session_starts_at = (SELECT s.starts_at FROM rcp_sessions s WHERE s.id = NEW.session_id),
        patient_search_family = COALESCE((SELECT p.search_family FROM patients p WHERE p.id = NEW.patient_id), '')
    WHERE id = NEW.id;
END;
ALTER TABLE dossiers DROP COLUMN patient_treating_physician_id;
