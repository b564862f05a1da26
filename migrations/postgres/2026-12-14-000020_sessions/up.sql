-- Login sessions (issue 29). Named apart from `sessions`, which are the boards' meetings.
-- A login opens one; its access tokens name it and are honoured only while it is open, its
-- refresh token rotates on every use.
CREATE TABLE login_sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    -- how the user authenticated: `password` or `psc` (Pro Santé Connect)
    method TEXT NOT NULL,
    -- the authentication context class of a Pro Santé Connect login (`eidas1`)
    acr TEXT,
    -- the client address and user agent at login (what `/me/sessions` shows)
    client_address TEXT NOT NULL,
    user_agent TEXT,
    created_at TIMESTAMP NOT NULL,
    -- the last user request (background calls do not count), written at most once a minute
    last_activity_at TIMESTAMP NOT NULL,
    -- the absolute end of the session, whatever its activity
    expires_at TIMESTAMP NOT NULL,
    -- SHA-256 (hex) of the current refresh token; rotated by each refresh
    refresh_hash TEXT NOT NULL,
    refreshed_at TIMESTAMP,
    ended_at TIMESTAMP,
    -- `logout`, `ended_by_user`, `ended_by_admin`, `password_changed`, `account_disabled`, `refresh_token_reused`
    end_reason TEXT
);
CREATE UNIQUE INDEX login_sessions_refresh ON login_sessions (refresh_hash);
CREATE INDEX login_sessions_account ON login_sessions (account_id, created_at);

-- The refresh tokens a session has rotated away from: presenting one again is a reuse, which
-- ends the session (its whole family of tokens).
CREATE TABLE login_session_used_tokens (
    refresh_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES login_sessions (id),
    used_at TIMESTAMP NOT NULL
);
CREATE INDEX login_session_used_tokens_session ON login_session_used_tokens (session_id);

-- What an audit event adds in words: how a login authenticated (and its acr), why a refusal.
ALTER TABLE audit_events ADD COLUMN detail TEXT;
