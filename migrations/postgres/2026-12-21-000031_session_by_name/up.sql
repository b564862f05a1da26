-- The dossiers of a session by patient name (issue 30, cost per row shown): the agenda's and the
-- run's order, on the trigger-maintained copy of the patient's name, in the byte order of
-- `patients.search_family` (`COLLATE "C"`; the copy has the database's collation). The agenda
-- reads the dossier's columns from the index alone (an index-only scan) and needs no sort within
-- a session; the run walks it in its order and joins no patient.
CREATE INDEX dossiers_session_names ON dossiers (session_id, patient_search_family COLLATE "C", id)
    INCLUDE (requester_id, rcp_id, patient_id, status);
