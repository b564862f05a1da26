ALTER TABLE cancer_centers DROP COLUMN finess;
ALTER TABLE rcps DROP COLUMN national_id;
ALTER TABLE rcps DROP COLUMN manager_id;
ALTER TABLE rcps DROP COLUMN network_id;
ALTER TABLE rcps DROP COLUMN organ;
ALTER TABLE rcps DROP COLUMN nature;
DROP TABLE dossier_treatments;
DROP TABLE dossier_fiches;
