-- Delegations with dates (holiday cover) and the history of every change of who holds whose
-- rights. A link grants from valid_from (inclusive, none: at once) until valid_until
-- (exclusive, none: until ended).
ALTER TABLE secretary_affiliations ADD COLUMN valid_from TIMESTAMP;
ALTER TABLE secretary_affiliations ADD COLUMN valid_until TIMESTAMP;
ALTER TABLE physician_secretary_groups ADD COLUMN valid_from TIMESTAMP;
ALTER TABLE physician_secretary_groups ADD COLUMN valid_until TIMESTAMP;

CREATE TABLE delegation_events (
    id TEXT PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    -- Who made the change.
    actor_id TEXT NOT NULL,
    -- affiliation (physician ↔ secretary), group_affiliation (physician ↔ group),
    -- group_membership (group ↔ secretary), profile (professional ↔ center).
    kind TEXT NOT NULL CHECK (kind IN ('affiliation', 'group_affiliation', 'group_membership', 'profile')),
    action TEXT NOT NULL CHECK (action IN ('granted', 'changed', 'ended')),
    physician_id TEXT,
    secretary_id TEXT,
    group_id TEXT,
    cancer_center_id TEXT,
    profile_kind TEXT,
    valid_from TIMESTAMP,
    valid_until TIMESTAMP,
    previous_valid_from TIMESTAMP,
    previous_valid_until TIMESTAMP
);
CREATE INDEX delegation_events_physician ON delegation_events (physician_id, at, id);
CREATE INDEX delegation_events_secretary ON delegation_events (secretary_id, at, id);
CREATE INDEX delegation_events_group ON delegation_events (group_id, at, id);

-- What existed before the history: one `granted` event per link, at the time it was made.
INSERT INTO delegation_events (id, at, actor_id, kind, action, physician_id, secretary_id)
    SELECT 'init-a-' || physician_id || '-' || secretary_id, added_at, 'migration', 'affiliation', 'granted', physician_id, secretary_id
    FROM secretary_affiliations;
INSERT INTO delegation_events (id, at, actor_id, kind, action, physician_id, group_id)
    SELECT 'init-g-' || physician_id || '-' || group_id, added_at, 'migration', 'group_affiliation', 'granted', physician_id, group_id
    FROM physician_secretary_groups;
INSERT INTO delegation_events (id, at, actor_id, kind, action, secretary_id, group_id)
    SELECT 'init-m-' || group_id || '-' || secretary_id, added_at, 'migration', 'group_membership', 'granted', secretary_id, group_id
    FROM secretary_group_members;
INSERT INTO delegation_events (id, at, actor_id, kind, action, secretary_id, cancer_center_id, profile_kind)
    SELECT 'init-p-' || professional_id || '-' || cancer_center_id || '-' || kind, granted_at, 'migration', 'profile', 'granted',
        professional_id, cancer_center_id, kind
    FROM profiles;
