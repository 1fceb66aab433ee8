-- Rate limits, login guards and the first-run setup token (issue 16): kept
-- in the database rather than in one process's memory, so that every
-- instance on one database counts the same attempts and accepts the same
-- setup link. One code path on both backends (see service::limits).

-- One row per limited key; `key` is the SHA-256 (hex) of the key text
-- (`login:<email>`, `registration:<email>`, …), so attempted addresses are
-- not kept in clear. A row whose `expires_at` has passed counts as absent;
-- the hourly clean-up deletes it.
CREATE TABLE rate_limit (
    key        TEXT PRIMARY KEY,
    -- Attempts (backoff keys), actions (windows) or spent guesses.
    count      INTEGER NOT NULL DEFAULT 0,
    -- Guesses reserved and not yet resolved (guess guard).
    pending    INTEGER NOT NULL DEFAULT 0,
    -- Guesses reserved in this window (guess guard: overlap detection).
    reserved   INTEGER NOT NULL DEFAULT 0,
    -- Microseconds since the epoch, like every timestamp.
    expires_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX rate_limit_expires ON rate_limit (expires_at);

-- Pending first-run setup links (SHA-256 of the token). Every instance that
-- starts without an administrator prints a link and adds its digest here;
-- any of them is accepted through any instance until the first
-- administrator exists, and creating it deletes them all.
CREATE TABLE setup_token (
    token_hash TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
