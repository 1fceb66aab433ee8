-- The scheduled backups' record (one row); see migrations/V6__backup_status.sql.
-- PostgreSQL installs are backed up with pg_dump, but the table exists on
-- both backends so that the schemas (and a copy between them) match.
CREATE TABLE backup_status (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    last_run_at     BIGINT,
    armed_at        BIGINT,
    last_success_at BIGINT,
    last_failure_at BIGINT,
    last_failure    TEXT
);
