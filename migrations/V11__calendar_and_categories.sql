-- Issue 19: calendar feeds and categories (PostgreSQL twin:
-- migrations/postgres/V11__calendar_and_categories.pg.sql).

-- Every change of an event adds 1 to ics_sequence and stamps updated_at
-- (NULL: unchanged since created_at): the feeds' SEQUENCE and LAST-MODIFIED.
ALTER TABLE event ADD COLUMN ics_sequence INTEGER NOT NULL DEFAULT 0;
ALTER TABLE event ADD COLUMN updated_at INTEGER;

-- One personal feed token per user: its SHA-256 (what a request is matched
-- against) and the token sealed with the data dir's key (so the profile can
-- show the current URL again). Rotating replaces the row.
CREATE TABLE calendar_token (
    user_id       INTEGER PRIMARY KEY REFERENCES user (id) ON DELETE CASCADE,
    token_hash    TEXT    NOT NULL UNIQUE,
    token_sealed  TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Categories: name_key is the Unicode-lower-cased name (folded in Rust),
-- unique, so names are unique case-insensitively in any script.
CREATE TABLE category (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL UNIQUE,
    color       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

ALTER TABLE event ADD COLUMN category_id INTEGER REFERENCES category (id) ON DELETE SET NULL;
CREATE INDEX event_category ON event (category_id);
