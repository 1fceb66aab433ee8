-- Wrong codes entered against a pending registration (issue 14): after
-- `MAX_CODE_FAILURES` (domain::account) the registration is void and the
-- person registers again. Recovery tokens need no such counter: a guess is a
-- random 122-bit UUID that matches no row, so there is no row to count on.
ALTER TABLE issued_registration ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
