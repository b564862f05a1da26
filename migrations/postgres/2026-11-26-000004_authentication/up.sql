-- Authentication hardening: a token generation per account (tokens carry the generation they
-- were issued in; a password change or a disable moves it on, so older tokens stop at once),
-- and the login throttling counters, shared by every instance on this database.
ALTER TABLE accounts ADD COLUMN token_generation BIGINT NOT NULL DEFAULT 0;

CREATE TABLE login_throttle (
    -- "account:<digest>" or "address:<digest>": a keyed SHA-256 of the attempted username or
    -- the client address, so the table holds no typed username (or password typed by mistake)
    key TEXT PRIMARY KEY,
    -- attempts counted in the current window (an attempt in flight counts until it succeeds)
    failures INTEGER NOT NULL,
    window_start TIMESTAMP NOT NULL
);
CREATE INDEX login_throttle_window ON login_throttle (window_start);
