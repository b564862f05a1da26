DROP INDEX dossiers_treating_start;
DROP TRIGGER patients_treating_moved ON patients;
DROP FUNCTION patients_treating_moved();
DROP TRIGGER dossiers_patient_treating ON dossiers;
DROP FUNCTION dossiers_patient_treating();
ALTER TABLE dossiers DROP COLUMN patient_treating_physician_id;
