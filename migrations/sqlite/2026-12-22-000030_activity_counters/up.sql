-- The activity report's counters (issue 30): its figures per scope (`rcp:<id>`, `center:<id>`,
-- `region`) × period (`YYYY-MM` and `YYYY` of the session's start) × breakdown (`dim`: all,
-- requester, tumour_site, proposal_type; `k` its key), kept by every write that changes them
-- (persistence/src/activity_counters.rs). The delays are histograms (`bucket:count ...`).
CREATE TABLE activity_counters (
    scope TEXT NOT NULL,
    dim TEXT NOT NULL,
    period TEXT NOT NULL,
    k TEXT NOT NULL,
    sessions_held INTEGER NOT NULL DEFAULT 0,
    quorum_reached INTEGER NOT NULL DEFAULT 0,
    registered INTEGER NOT NULL DEFAULT 0,
    discussed INTEGER NOT NULL DEFAULT 0,
    validated INTEGER NOT NULL DEFAULT 0,
    withdrawn INTEGER NOT NULL DEFAULT 0,
    sent INTEGER NOT NULL DEFAULT 0,
    conform INTEGER NOT NULL DEFAULT 0,
    conform_known INTEGER NOT NULL DEFAULT 0,
    validation_delays TEXT NOT NULL DEFAULT '',
    sending_delays TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scope, dim, period, k)
);
-- A store that already holds sessions: the server fills the counters from them at its next
-- start (`activity_counters::rebuild_if_pending`), in Rust, where the delays' buckets are computed.
INSERT INTO activity_counters (scope, dim, period, k)
    SELECT 'rebuild', '', '', '' WHERE EXISTS (SELECT 1 FROM rcp_sessions);
