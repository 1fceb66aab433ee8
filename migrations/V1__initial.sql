-- Afisha schema. Timestamps are INTEGER microseconds since the Unix epoch, UTC.
-- *_key / *_fold columns hold Unicode-lower-cased copies (folded in Rust,
-- because SQLite's lower() folds ASCII only) for case-insensitive matching.

CREATE TABLE user (
    id              INTEGER PRIMARY KEY,
    email           TEXT    NOT NULL,
    email_key       TEXT    NOT NULL,
    full_name       TEXT    NOT NULL,
    full_name_fold  TEXT    NOT NULL,
    password_hash   TEXT    NOT NULL,
    role            TEXT    NOT NULL DEFAULT 'USER' CHECK (role IN ('USER', 'ADMINISTRATOR')),
    is_system       INTEGER NOT NULL DEFAULT 0 CHECK (is_system IN (0, 1)),
    created_at      INTEGER NOT NULL,
    deleted_at      INTEGER
);
CREATE UNIQUE INDEX user_email_key ON user (email_key);
CREATE INDEX user_created_at ON user (created_at);

CREATE TABLE login_session (
    uid           TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    token_hash    TEXT    NOT NULL,
    user_agent    TEXT,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX login_session_user ON login_session (user_id);
CREATE INDEX login_session_last_seen ON login_session (last_seen_at);

CREATE TABLE issued_registration (
    id             INTEGER PRIMARY KEY,
    token          TEXT    NOT NULL UNIQUE,
    email          TEXT    NOT NULL,
    email_key      TEXT    NOT NULL,
    full_name      TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    code           INTEGER NOT NULL CHECK (code BETWEEN 100000 AND 999999),
    created_at     INTEGER NOT NULL,
    used_at        INTEGER
);
CREATE INDEX issued_registration_created ON issued_registration (created_at);

CREATE TABLE issued_login_recovery (
    id          INTEGER PRIMARY KEY,
    token       TEXT    NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX issued_login_recovery_user ON issued_login_recovery (user_id);
CREATE INDEX issued_login_recovery_created ON issued_login_recovery (created_at);

CREATE TABLE event (
    id                      INTEGER PRIMARY KEY,
    name                    TEXT    NOT NULL,
    name_fold               TEXT    NOT NULL,
    short_description       TEXT,
    description             TEXT    NOT NULL,
    starts_at               INTEGER NOT NULL,
    ends_at                 INTEGER NOT NULL,
    image_url               TEXT    NOT NULL,
    payment_info            TEXT,
    max_participants_count  INTEGER CHECK (max_participants_count IS NULL OR max_participants_count > 0),
    location                TEXT,
    created_at              INTEGER NOT NULL,
    rejected_at             INTEGER,
    CHECK (ends_at > starts_at)
);
CREATE INDEX event_starts_at ON event (starts_at, id);
CREATE INDEX event_ends_at ON event (ends_at);

CREATE TABLE event_participant (
    id                INTEGER PRIMARY KEY,
    event_id          INTEGER NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    user_id           INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    status            TEXT    NOT NULL CHECK (status IN ('PARTICIPATING', 'REJECTED')),
    created_at        INTEGER NOT NULL,
    reminder_sent_at  INTEGER,
    UNIQUE (event_id, user_id)
);
CREATE INDEX event_participant_user ON event_participant (user_id, status);
CREATE INDEX event_participant_event_status ON event_participant (event_id, status, created_at);

CREATE TABLE instant_notification (
    id            INTEGER PRIMARY KEY,
    recipient_id  INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    type          TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    content       TEXT    NOT NULL,
    cta_url       TEXT,
    cta_label     TEXT,
    created_at    INTEGER NOT NULL,
    acked_at      INTEGER
);
CREATE INDEX instant_notification_recipient ON instant_notification (recipient_id, created_at DESC, id DESC);
CREATE INDEX instant_notification_unread ON instant_notification (recipient_id) WHERE acked_at IS NULL;

CREATE TABLE job (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    run_at        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    last_error    TEXT,
    locked_by     TEXT,
    locked_until  INTEGER,
    created_at    INTEGER NOT NULL,
    done_at       INTEGER,
    failed_at     INTEGER
);
-- Pending jobs only: what the scheduler scans.
CREATE INDEX job_due ON job (run_at, id) WHERE done_at IS NULL AND failed_at IS NULL;
CREATE INDEX job_done ON job (done_at) WHERE done_at IS NOT NULL;
CREATE INDEX job_failed ON job (failed_at) WHERE failed_at IS NOT NULL;
