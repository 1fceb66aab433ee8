-- Rate limits, login guards and the first-run setup token; see
-- migrations/V7__shared_limits.sql.
CREATE TABLE rate_limit (
    key        TEXT PRIMARY KEY,
    count      BIGINT NOT NULL DEFAULT 0,
    pending    BIGINT NOT NULL DEFAULT 0,
    reserved   BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX rate_limit_expires ON rate_limit (expires_at);

CREATE TABLE setup_token (
    token_hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);
