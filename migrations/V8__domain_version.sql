-- Several instances on one database (issue 16); see
-- migrations/postgres/V8__domain_version.pg.sql for what the tables are for.
--
-- domain_version stays empty on SQLite: one process owns the file and its
-- cached answers follow the commits it sees (the update hook). The table
-- exists so that both backends have the same schema.
CREATE TABLE domain_version (
    slot INTEGER PRIMARY KEY,
    v    INTEGER NOT NULL
);

-- When each recurring scan (reminders, clean-up) is next due.
CREATE TABLE scan_tick (
    name    TEXT PRIMARY KEY,
    next_at INTEGER NOT NULL,
    ran_by  TEXT NOT NULL,
    ran_at  INTEGER NOT NULL
);
