-- The dossier search tests the name prefix while it walks what the caller sees, before it reads
-- any patient: a dossier carries its patient's search key, which the database keeps right by
-- itself (the application never writes it), on every insert, when a dossier changes patient,
-- and when a patient's family name is corrected (#11). As for `session_starts_at`, the insert
-- writes the default and a trigger the copy, in the same statement: the one insert trigger now
-- writes both copies.
-- The two indexes that gain the copy are rebuilt: dropped before the backfill, which then
-- does not maintain them.
DROP INDEX dossiers_rcp_start;
DROP INDEX dossiers_requester_start;
ALTER TABLE dossiers ADD COLUMN patient_search_family TEXT NOT NULL DEFAULT '';
UPDATE dossiers SET patient_search_family = p.search_family FROM patients p WHERE p.id = dossiers.patient_id;

DROP TRIGGER dossiers_session_start;
CREATE TRIGGER dossiers_copies AFTER INSERT ON dossiers BEGIN
    UPDATE dossiers SET session_starts_at = (SELECT s.starts_at FROM rcp_sessions s WHERE s.id = NEW.session_id),
        patient_search_family = COALESCE((SELECT p.search_family FROM patients p WHERE p.id = NEW.patient_id), '')
    WHERE id = NEW.id;
END;
CREATE TRIGGER dossiers_patient_moved AFTER UPDATE OF patient_id, patient_search_family ON dossiers BEGIN
    UPDATE dossiers SET patient_search_family = COALESCE((SELECT p.search_family FROM patients p WHERE p.id = NEW.patient_id), '')
    WHERE id = NEW.id AND patient_search_family IS NOT COALESCE((SELECT p.search_family FROM patients p WHERE p.id = NEW.patient_id), '');
END;
CREATE TRIGGER patients_search_family_moved AFTER UPDATE OF search_family ON patients
    WHEN OLD.search_family IS NOT NEW.search_family BEGIN
    UPDATE dossiers SET patient_search_family = NEW.search_family WHERE patient_id = NEW.id;
END;

-- Each arm of the search reads only its index: the requester (to tell P(S)'s requests from the
-- others) and the patient's search key beside what the arms already held.
CREATE INDEX dossiers_rcp_start ON dossiers (rcp_id, session_starts_at DESC, id, patient_id, requester_id, patient_search_family);
CREATE INDEX dossiers_requester_start ON dossiers (requester_id, session_starts_at DESC, id, rcp_id, patient_id, patient_search_family);
