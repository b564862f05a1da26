DROP INDEX dossiers_requester_start;
CREATE INDEX dossiers_requester_start ON dossiers (requester_id, session_starts_at DESC, id) INCLUDE (rcp_id, patient_id);
DROP INDEX dossiers_rcp_start;
CREATE INDEX dossiers_rcp_start ON dossiers (rcp_id, session_starts_at DESC, id) INCLUDE (patient_id);
DROP TRIGGER patients_search_family_moved ON patients;
DROP FUNCTION patients_search_family_moved();
DROP TRIGGER dossiers_patient_search_family ON dossiers;
DROP FUNCTION dossiers_patient_search_family();
ALTER TABLE dossiers DROP COLUMN patient_search_family;
