-- The "rcp_passages" tab reads no table row: every dossier column it shows is in the requester
-- index, and the patients' names in their own covering index (index-only scans).
DROP INDEX dossiers_requester;
CREATE INDEX dossiers_requester ON dossiers (requester_id, created_at, id, rcp_id) INCLUDE (session_id, patient_id, status);
CREATE INDEX patients_names ON patients (id) INCLUDE (family_name, given_name, birth_date);
