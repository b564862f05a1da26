ALTER TABLE code_systems DROP COLUMN load_id;
-- The folded columns come back empty: `concerto terminology load` of the same files fills them.
ALTER TABLE terminology_codes ADD COLUMN code_key TEXT NOT NULL DEFAULT '';
ALTER TABLE terminology_codes ADD COLUMN search_label TEXT NOT NULL DEFAULT '';
CREATE TABLE terminology_terms (
    system TEXT NOT NULL,
    term TEXT NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (system, term, code),
    FOREIGN KEY (system, code) REFERENCES terminology_codes (system, code)
);
