-- The "rcp_passages" tab reads no table row: every dossier column it shows is in the requester
-- index, and the patients' names in their own covering index. SQLite empties a connection's page
-- cache whenever another one commits (every audited read does), so each row a request reads is
-- two B-tree descents read again from the operating system.
DROP INDEX dossiers_requester;
CREATE INDEX dossiers_requester ON dossiers (requester_id, created_at, id, rcp_id, session_id, patient_id, status);
CREATE INDEX patients_names ON patients (id, family_name, given_name, birth_date);
