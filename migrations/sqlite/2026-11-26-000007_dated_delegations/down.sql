DROP TABLE delegation_events;
ALTER TABLE physician_secretary_groups DROP COLUMN valid_until;
ALTER TABLE physician_secretary_groups DROP COLUMN valid_from;
ALTER TABLE secretary_affiliations DROP COLUMN valid_until;
ALTER TABLE secretary_affiliations DROP COLUMN valid_from;
