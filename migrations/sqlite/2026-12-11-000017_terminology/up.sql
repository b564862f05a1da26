-- Code lists as data (issue 27, item 2): the code systems a coded field names, the codes of each
-- loaded version, the words a picker searches, and which version was loaded when.

CREATE TABLE code_systems (
    name TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    -- the code system's OID, when the list is one code system (CIM-10, CIM-O-3)
    oid TEXT,
    -- the FRCP 2025.01 value set the list stands for, when it is one
    value_set_oid TEXT,
    -- the version loaded last and when; NULL until a list is loaded (422 `list_not_loaded`)
    version TEXT,
    loaded_at TIMESTAMP
);

INSERT INTO code_systems (name, label, oid, value_set_oid) VALUES
    ('cim10', 'CIM-10: tumour sites', '2.16.840.1.113883.6.3', '1.2.250.1.213.1.1.4.2.281.21'),
    ('cim-o-3', 'CIM-O-3: morphologies', '2.16.840.1.113883.6.43.1', '1.2.250.1.213.1.1.5.585'),
    ('frcp-treatment', 'FRCP treatment types', NULL, '1.2.250.1.213.1.1.5.595'),
    ('frcp-organ-system', 'FRCP organ systems', NULL, '1.2.250.1.213.1.1.5.597'),
    ('frcp-organ', 'FRCP organs', NULL, '1.2.250.1.213.1.1.5.598'),
    ('frcp-rcp-nature', 'FRCP natures of an RCP', NULL, NULL);

-- Codes are never deleted: a code that leaves a list gets a valid_until, so the dossiers that
-- hold it still read it. Byte-ordered (SQLite's default; COLLATE "C" on PostgreSQL) so pages
-- follow the same order on both stores.
CREATE TABLE terminology_codes (
    system TEXT NOT NULL REFERENCES code_systems (name),
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    -- the code lowercased, punctuation dropped ("C50.9" -> "c509"): matched by prefix
    code_key TEXT NOT NULL,
    -- the label folded as names are (accents, case, spacing)
    search_label TEXT NOT NULL,
    valid_from DATE NOT NULL,
    -- last day of validity, inclusive; NULL while the code is in the list
    valid_until DATE,
    PRIMARY KEY (system, code)
);

-- One row per word of a code (its key and each word of its label): a prefix search on any word
-- is a range scan of this primary key, which also holds the code (no table row read).
CREATE TABLE terminology_terms (
    system TEXT NOT NULL,
    term TEXT NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (system, term, code),
    FOREIGN KEY (system, code) REFERENCES terminology_codes (system, code)
);

CREATE TABLE terminology_loads (
    id TEXT PRIMARY KEY,
    system TEXT NOT NULL REFERENCES code_systems (name),
    version TEXT NOT NULL,
    source TEXT NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    codes INTEGER NOT NULL,
    added INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    retired INTEGER NOT NULL
);
CREATE INDEX terminology_loads_system ON terminology_loads (system, loaded_at);
