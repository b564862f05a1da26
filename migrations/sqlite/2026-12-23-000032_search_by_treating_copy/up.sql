-- The dossier search's treating arm (issue 30, item 2) walks a physician's patients' dossiers
-- newest session first and stops at the page, as its other arms do: a dossier carries its
-- patient's treating physician, which the database keeps right by itself (the application never
-- writes it), on every insert, when a dossier changes patient, and when a patient's treating
-- physician changes. Before, the arm read every patient he treats under the name prefix (all of
-- twenty years), then each one's dossiers, then sorted them. The one insert trigger now writes
-- the three copies.
ALTER TABLE dossiers ADD COLUMN patient_treating_physician_id TEXT;
UPDATE dossiers SET patient_treating_physician_id = p.treating_physician_id FROM patients p
WHERE p.id = dossiers.patient_id AND p.treating_physician_id IS NOT NULL;

DROP TRIGGER dossiers_copies;
CREATE TRIGGER dossiers_copies AFTER INSERT ON dossiers BEGIN
    UPDATE dossiers SET session_starts_at = (SELECT s.starts_at FROM rcp_sessions s WHERE s.id = NEW.session_id),
        patient_search_family = COALESCE((SELECT p.search_family FROM patients p WHERE p.id = NEW.patient_id), ''),
        patient_treating_physician_id = (SELECT p.treating_physician_id FROM patients p WHERE p.id = NEW.patient_id)
    WHERE id = NEW.id;
END;
CREATE TRIGGER dossiers_patient_treating_moved AFTER UPDATE OF patient_id, patient_treating_physician_id ON dossiers BEGIN
    UPDATE dossiers SET patient_treating_physician_id = (SELECT p.treating_physician_id FROM patients p WHERE p.id = NEW.patient_id)
    WHERE id = NEW.id AND patient_treating_physician_id IS NOT (SELECT p.treating_physician_id FROM patients p WHERE p.id = NEW.patient_id);
END;
CREATE TRIGGER patients_treating_moved AFTER UPDATE OF treating_physician_id ON patients
    WHEN OLD.treating_physician_id IS NOT NEW.treating_physician_id BEGIN
    UPDATE dossiers SET patient_treating_physician_id = NEW.treating_physician_id WHERE patient_id = NEW.id;
END;

-- The treating arm reads only this index, in the page's order: what the search tests of a
-- dossier (its RCP, requester, patient's search key) is in it.
CREATE INDEX dossiers_treating_start ON dossiers (patient_treating_physician_id, session_starts_at DESC, id, rcp_id, requester_id, patient_search_family);
