-- Scheduled backups (issue 15): one row remembering the last scheduled run,
-- so a restart neither repeats today's backup nor forgets a failure that
-- administrators should see.
CREATE TABLE backup_status (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    -- When the last scheduled run started (success or not).
    last_run_at INTEGER,
    -- When the schedule was first seen (the first run is the next slot after).
    armed_at INTEGER,
    last_success_at INTEGER,
    last_failure_at INTEGER,
    last_failure TEXT
);
