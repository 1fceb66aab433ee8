-- Several instances on one database (issue 16); see
-- migrations/V8__domain_version.sql for the SQLite twin.
--
-- domain_version: the version cached answers (event cards, statistics) are
-- checked against on every request. Each write transaction that changed
-- domain data adds 1 to one slot (its connection's, pg_backend_pid() % 64,
-- so concurrent writers seldom wait for one another's row lock) just before
-- it commits; the version is sum(v). It only grows, and a snapshot that sees
-- a given sum sees exactly the same committed writes as any other snapshot
-- that sees that sum. Rows are created on first use.
CREATE TABLE domain_version (
    slot INTEGER PRIMARY KEY,
    v    BIGINT NOT NULL
);

-- scan_tick: one row per recurring scan (reminders, clean-up): when its next
-- run is due. The process that moves next_at forward runs the tick; every
-- other process skips it, so a tick runs once across all instances.
CREATE TABLE scan_tick (
    name    TEXT PRIMARY KEY,
    next_at BIGINT NOT NULL,
    ran_by  TEXT NOT NULL,
    ran_at  BIGINT NOT NULL
);
