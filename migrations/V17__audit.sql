-- Issue 23: the audit log. Append-only: an UPDATE is refused by a trigger;
-- rows are deleted only by the retention clean-up (audit.retention_days).
-- No foreign key to user: an entry outlives whatever it names.
CREATE TABLE audit (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    -- The actor: a user id (NULL for a tool such as the CLI), a snapshot of
    -- their email (or the tool's name), its folded copy for the filter, and
    -- the client address.
    actor_id     INTEGER,
    actor_email  TEXT,
    actor_key    TEXT,
    ip           TEXT,
    action       TEXT    NOT NULL,
    target_type  TEXT    NOT NULL,
    target_id    TEXT,
    -- JSON: {"field": {"before": ..., "after": ...}}.
    changes      TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_at ON audit (at, id);
CREATE INDEX audit_actor ON audit (actor_id, at);
CREATE INDEX audit_target ON audit (target_type, target_id, at);

CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;
