DROP INDEX audit_events_provenance;
