-- The directory and the delegation graph: cancer centers, professionals, accounts, profiles,
-- account requests, secretary groups and affiliations.
-- Ids are UUID strings (TEXT) and times UTC TIMESTAMP set from Rust, so both stores speak the same types.

CREATE TABLE cancer_centers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE professionals (
    id TEXT PRIMARY KEY,
    family_name TEXT NOT NULL,
    given_name TEXT NOT NULL,
    -- accent- and case-folded "family given" and "given family", byte-ordered (COLLATE "C")
    -- so a prefix search is a range scan on the index
    search_name TEXT COLLATE "C" NOT NULL,
    search_name_given_first TEXT COLLATE "C" NOT NULL,
    rpps TEXT UNIQUE,
    email TEXT,
    category TEXT NOT NULL CHECK (category IN ('physician', 'secretary', 'nurse', 'other')),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX professionals_search_name ON professionals (search_name, id);
CREATE INDEX professionals_search_name_given_first ON professionals (search_name_given_first, id);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    professional_id TEXT NOT NULL UNIQUE REFERENCES professionals (id),
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_platform_admin BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE profiles (
    professional_id TEXT NOT NULL REFERENCES professionals (id),
    cancer_center_id TEXT NOT NULL REFERENCES cancer_centers (id),
    kind TEXT NOT NULL CHECK (kind IN ('physician', 'secretary', 'center_coordinator')),
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (professional_id, cancer_center_id, kind)
);
CREATE INDEX profiles_center ON profiles (cancer_center_id, kind);

CREATE TABLE account_requests (
    id TEXT PRIMARY KEY,
    cancer_center_id TEXT NOT NULL REFERENCES cancer_centers (id),
    family_name TEXT NOT NULL,
    given_name TEXT NOT NULL,
    email TEXT NOT NULL,
    rpps TEXT,
    expected_profile TEXT NOT NULL CHECK (expected_profile IN ('physician', 'secretary', 'center_coordinator')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'fulfilled', 'rejected')),
    requested_by TEXT NOT NULL REFERENCES professionals (id),
    created_at TIMESTAMP NOT NULL,
    decided_by TEXT REFERENCES professionals (id),
    decided_at TIMESTAMP,
    reject_reason TEXT,
    professional_id TEXT REFERENCES professionals (id),
    account_id TEXT REFERENCES accounts (id)
);
CREATE INDEX account_requests_status ON account_requests (status, id);
CREATE INDEX account_requests_center ON account_requests (cancer_center_id, status, id);

CREATE TABLE secretary_groups (
    id TEXT PRIMARY KEY,
    cancer_center_id TEXT NOT NULL REFERENCES cancer_centers (id),
    name TEXT NOT NULL,
    search_name TEXT COLLATE "C" NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (cancer_center_id, search_name)
);
CREATE INDEX secretary_groups_search_name ON secretary_groups (search_name, id);

CREATE TABLE secretary_group_members (
    group_id TEXT NOT NULL REFERENCES secretary_groups (id),
    secretary_id TEXT NOT NULL REFERENCES professionals (id),
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, secretary_id)
);
CREATE INDEX secretary_group_members_secretary ON secretary_group_members (secretary_id, group_id);

-- A secretary affiliated to a physician directly.
CREATE TABLE secretary_affiliations (
    physician_id TEXT NOT NULL REFERENCES professionals (id),
    secretary_id TEXT NOT NULL REFERENCES professionals (id),
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (physician_id, secretary_id)
);
CREATE INDEX secretary_affiliations_secretary ON secretary_affiliations (secretary_id, physician_id);

-- A secretary group affiliated to a physician: every member holds the physician's rights.
CREATE TABLE physician_secretary_groups (
    physician_id TEXT NOT NULL REFERENCES professionals (id),
    group_id TEXT NOT NULL REFERENCES secretary_groups (id),
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (physician_id, group_id)
);
CREATE INDEX physician_secretary_groups_group ON physician_secretary_groups (group_id, physician_id);
