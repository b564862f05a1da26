-- Invariants held by the database rather than by a check in an earlier statement.
-- One live dossier per patient and session: two registrations racing each other cannot both
-- commit. A database that already holds such duplicates is reported by `concerto serve` before
-- this migration runs (see README, "Duplicate registrations"); were one to slip through, this
-- statement fails and the migration stops, dropping nothing.
CREATE UNIQUE INDEX dossiers_one_per_session ON dossiers (session_id, patient_id) WHERE status <> 'withdrawn';
-- A secretary's agenda asks for the dossiers of some sessions requested by some physicians:
-- both columns in one index, so neither store walks all of a physician's dossiers.
CREATE INDEX dossiers_session_requester ON dossiers (session_id, requester_id);
