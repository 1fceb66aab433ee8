-- Issue 22 item 4: recurring events (PostgreSQL twin:
-- migrations/postgres/V15__series.pg.sql).

-- A series: its repeat rule (JSON of domain::series::Rule), the time zone
-- it is expanded in, its first occurrence's local start (ISO-8601 without
-- offset: every occurrence starts at that wall-clock time), the fields new
-- occurrences get (JSON of domain::series::Template) and the generator's
-- horizon state: occurrences 0..next_index exist (or were already past).
CREATE TABLE series (
    id           INTEGER PRIMARY KEY,
    rule         TEXT    NOT NULL,
    timezone     TEXT    NOT NULL,
    first_local  TEXT    NOT NULL,
    template     TEXT    NOT NULL,
    next_index   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);

-- Occurrences are ordinary events linked to their series, numbered in it;
-- the unique pair makes generation idempotent.
ALTER TABLE event ADD COLUMN series_id INTEGER REFERENCES series (id);
ALTER TABLE event ADD COLUMN series_index INTEGER;
CREATE UNIQUE INDEX event_series_occurrence ON event (series_id, series_index);
