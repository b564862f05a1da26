DROP INDEX dossiers_session_names;
