DROP INDEX dossiers_session_requester;
DROP INDEX dossiers_one_per_session;
