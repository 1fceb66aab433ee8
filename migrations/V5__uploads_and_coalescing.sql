-- Uploaded images, per user: the quota, the upload rate and the orphan
-- clean-up count these rows. `key` is the storage key (events/<uuid>.<ext>).
CREATE TABLE upload (
    key        TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    bytes      INTEGER NOT NULL CHECK (bytes >= 0),
    created_at INTEGER NOT NULL
);
CREATE INDEX upload_user_created ON upload (user_id, created_at);
CREATE INDEX upload_created ON upload (created_at);

-- Emails that are coalesced (administrator participation notices) carry a
-- key naming (recipient, kind, event, actor); one with the same key enqueued
-- within the window suppresses the next.
ALTER TABLE job ADD COLUMN coalesce_key TEXT;
CREATE INDEX job_coalesce ON job (coalesce_key, created_at) WHERE coalesce_key IS NOT NULL;
