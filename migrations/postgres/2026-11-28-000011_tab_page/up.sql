-- The "rcp_passages" tab reads a page of each requester's dossiers from this index alone: the
-- RCP is in it for a secretary's center filter, so no dossier row is read before the page is cut.
DROP INDEX dossiers_requester;
CREATE INDEX dossiers_requester ON dossiers (requester_id, created_at, id, rcp_id);
