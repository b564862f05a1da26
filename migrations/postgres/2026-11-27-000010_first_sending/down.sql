DROP INDEX dossiers_session_requester;
CREATE INDEX dossiers_session_requester ON dossiers (session_id, requester_id);
ALTER TABLE dossiers DROP COLUMN first_sent_at;
