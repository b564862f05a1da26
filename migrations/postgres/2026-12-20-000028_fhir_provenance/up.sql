-- FHIR Provenance (issue 28): who registered a dossier, validated it and sent its report, read
-- from the audit trail by dossier. Only those writes' events are indexed: on PostgreSQL every
-- read of a patient writes an event too, and a patient's reads would otherwise be walked.
-- The predicate is the literal list `audit::PROVENANCE_ACTIONS` writes in its query.
CREATE INDEX audit_events_provenance ON audit_events (resource_id, at)
    WHERE action IN ('dossier.create', 'dossier.validate', 'report.send');
