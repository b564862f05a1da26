-- The dossiers of a session by patient name (issue 30, cost per row shown): the agenda's and the
-- run's order, on the trigger-maintained copy of the patient's name. The agenda reads the
-- dossier's columns from the index alone and needs no sort within a session; the run walks it
-- in its order and joins no patient. Before, each dossier shown cost the dossier's row and the
-- patient's row (two B-tree descents each), then a sort.
CREATE INDEX dossiers_session_names ON dossiers (session_id, patient_search_family, id, requester_id, rcp_id, patient_id, status);
