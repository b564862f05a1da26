-- The structured fiche RCP (CI-SIS volet FRCP 2025.01) of a dossier: one row once any part is
-- filled in. Apart from `dossiers`, whose narrow rows every list reads: the fiche is read with
-- one dossier, and its projections below are what the activity report counts by.
CREATE TABLE dossier_fiches (
    dossier_id TEXT PRIMARY KEY REFERENCES dossiers (id),
    -- concerto_domain::fiche::Fiche as JSON
    fiche TEXT NOT NULL,
    -- the tumour site's CIM-10 category (`C34` of `C34.1`), when given
    tumour_site TEXT,
    -- the framework's conformity to its guideline, when said
    conform BOOLEAN,
    -- nothing that a validated fiche needs is missing
    complete BOOLEAN NOT NULL,
    -- the board's quorum when the dossier was validated
    quorum TEXT NOT NULL DEFAULT 'unknown' CHECK (quorum IN ('reached', 'not_reached', 'unknown')),
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX dossier_fiches_site ON dossier_fiches (tumour_site, dossier_id);

-- The distinct treatment types a dossier's proposal holds: the activity report by proposal type.
CREATE TABLE dossier_treatments (
    dossier_id TEXT NOT NULL REFERENCES dossiers (id),
    code TEXT NOT NULL,
    PRIMARY KEY (dossier_id, code)
);

-- An RCP's national settings (the FRCP header): its nature and organ (coded), and the national
-- identifiers of its regional network, of its manager and of itself.
ALTER TABLE rcps ADD COLUMN nature TEXT;
ALTER TABLE rcps ADD COLUMN organ TEXT;
ALTER TABLE rcps ADD COLUMN network_id TEXT;
ALTER TABLE rcps ADD COLUMN manager_id TEXT;
ALTER TABLE rcps ADD COLUMN national_id TEXT;
-- A cancer center's FINESS (organisations are identified by it in the CDA header).
ALTER TABLE cancer_centers ADD COLUMN finess TEXT;
