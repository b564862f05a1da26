DROP INDEX patients_names;
CREATE INDEX patients_names ON patients (id) INCLUDE (family_name, given_name, birth_date);
DROP INDEX dossiers_requester_start;
DROP INDEX dossiers_rcp_start;
DROP TRIGGER rcp_sessions_start_moved ON rcp_sessions;
DROP FUNCTION rcp_sessions_start_moved();
DROP TRIGGER dossiers_session_start ON dossiers;
DROP FUNCTION dossiers_session_start();
ALTER TABLE dossiers DROP COLUMN session_starts_at;
