DROP INDEX patients_treating;
CREATE INDEX patients_treating ON patients (treating_physician_id);
