DROP INDEX patients_names;
DROP INDEX dossiers_requester;
CREATE INDEX dossiers_requester ON dossiers (requester_id, created_at, id, rcp_id);
