-- Uploaded images per user and coalesced emails; see
-- migrations/V5__uploads_and_coalescing.sql.
CREATE TABLE upload (
    key        TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    bytes      BIGINT NOT NULL CHECK (bytes >= 0),
    created_at BIGINT NOT NULL
);
CREATE INDEX upload_user_created ON upload (user_id, created_at);
CREATE INDEX upload_created ON upload (created_at);

ALTER TABLE job ADD COLUMN coalesce_key TEXT;
CREATE INDEX job_coalesce ON job (coalesce_key, created_at) WHERE coalesce_key IS NOT NULL;
