DROP INDEX dossiers_rcp_session;
DROP TABLE reports_to_send;
