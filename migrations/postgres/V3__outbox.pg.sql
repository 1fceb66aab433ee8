-- Typed outbox; see migrations/V3__outbox.sql.
ALTER TABLE instant_notification ADD COLUMN notice TEXT;
ALTER TABLE job ADD COLUMN secret TEXT;
