-- No verification code or recovery token in clear (issue 13).
--
-- issued_registration.code (a clear 6-digit code) becomes code_sealed: the
-- code sealed with the data dir's key file (secret.key), which is not in the
-- database. issued_login_recovery.token becomes token_hash: the SHA-256 of
-- the token, hex, the only thing needed to recognise it.
--
-- Pending registrations and recovery tokens issued before this migration are
-- voided (the tables are recreated empty): a clear code cannot be sealed
-- without the key and nobody may keep using a clear token. People affected
-- register again or ask for a new link; both live at most 24 h anyway.
-- secure_delete zeroes the freed pages so the old values do not linger in
-- the file.

PRAGMA secure_delete = ON;

DROP TABLE issued_registration;
CREATE TABLE issued_registration (
    id             INTEGER PRIMARY KEY,
    token          TEXT    NOT NULL UNIQUE,
    email          TEXT    NOT NULL,
    email_key      TEXT    NOT NULL,
    full_name      TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    code_sealed    TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    used_at        INTEGER
);
CREATE INDEX issued_registration_created ON issued_registration (created_at);

DROP TABLE issued_login_recovery;
CREATE TABLE issued_login_recovery (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT    NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE INDEX issued_login_recovery_user ON issued_login_recovery (user_id);
CREATE INDEX issued_login_recovery_created ON issued_login_recovery (created_at);

PRAGMA secure_delete = OFF;
