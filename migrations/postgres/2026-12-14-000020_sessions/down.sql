ALTER TABLE audit_events DROP COLUMN detail;
DROP TABLE login_session_used_tokens;
DROP TABLE login_sessions;
