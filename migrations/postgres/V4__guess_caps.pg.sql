-- Wrong codes entered against a pending registration; see
-- migrations/V4__guess_caps.sql.
ALTER TABLE issued_registration ADD COLUMN failed_attempts BIGINT NOT NULL DEFAULT 0;
