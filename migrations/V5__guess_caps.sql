-- Wrong codes entered against a pending registration (issue 14): after
-- `MAX_CODE_FAILURES` (domain::account) the registration is void and the
-- person registers again.
ALTER TABLE issued_registration ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
