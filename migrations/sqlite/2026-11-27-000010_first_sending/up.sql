-- When the report of a dossier was first sent: the activity report's "reports sent" and its
-- delay from validation to first sending read it from the dossier row, rather than probing the
-- transmissions of every dossier of the period (a region's year is 150,000 dossiers).
-- Maintained in the transaction of each sending (persistence::dossiers::send_report).
ALTER TABLE dossiers ADD COLUMN first_sent_at TIMESTAMP;
UPDATE dossiers SET first_sent_at = (SELECT MIN(t.sent_at) FROM report_transmissions t WHERE t.dossier_id = dossiers.id)
    WHERE EXISTS (SELECT 1 FROM report_transmissions t WHERE t.dossier_id = dossiers.id);

-- The agenda's index, widened to cover what the activity report reads of each dossier of a
-- period: the report walks it session by session and never reads a dossier row.
DROP INDEX dossiers_session_requester;
CREATE INDEX dossiers_session_requester ON dossiers (session_id, requester_id, status, created_at, validated_at, first_sent_at);
