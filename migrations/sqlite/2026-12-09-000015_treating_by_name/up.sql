-- The dossier search's treating arm finds a physician's patients under a name prefix on this
-- index (#11, eighth round): on the physician alone it read each of the thousands of patients
-- he treats over the years, then kept one in nine for a common prefix. The physician alone
-- still leads it, for every other use.
DROP INDEX patients_treating;
CREATE INDEX patients_treating ON patients (treating_physician_id, search_family);
