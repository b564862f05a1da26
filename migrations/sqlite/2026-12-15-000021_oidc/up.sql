-- Pro Santé Connect login (issue 29, parts 3-4). An attempt is what `/auth/oidc/start` keeps
-- server-side for its callback: the state (key), the nonce and the PKCE verifier; single use
-- (the callback deletes it), dead after `expires_at`.
CREATE TABLE oidc_attempts (
    state TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX oidc_attempts_expiry ON oidc_attempts (expires_at);

-- The (issuer, sub) an account logged in with the first time: a later login of the same RPPS
-- with another sub is refused.
CREATE TABLE oidc_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE UNIQUE INDEX oidc_identities_account ON oidc_identities (issuer, account_id);
