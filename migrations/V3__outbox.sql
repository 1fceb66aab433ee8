-- Typed outbox: notices are stored as facts and rendered when read or
-- delivered, outside the writer lock.

-- The typed notice (JSON: notice, recipient name, admin_view) of an in-app
-- notification. Rows written before this migration keep their rendered
-- title/content and have NULL here.
ALTER TABLE instant_notification ADD COLUMN notice TEXT;

-- A secret an email job must deliver (a code, a reset token, a password),
-- sealed with the data dir's key file; NULL once the job is done or failed.
ALTER TABLE job ADD COLUMN secret TEXT;
