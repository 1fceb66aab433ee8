-- Check-in and event managers (issue 22, items 1-3); see
-- migrations/V14__checkin_and_managers.sql for the SQLite twin. Tickets are
-- derived with HMAC from secret.key and never stored.
CREATE TABLE event_checkin (
    event_id       BIGINT NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    user_id        BIGINT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    checked_in_at  BIGINT NOT NULL,
    checked_in_by  BIGINT REFERENCES "user" (id) ON DELETE SET NULL,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX event_checkin_user ON event_checkin (user_id);

CREATE TABLE event_manager (
    event_id  BIGINT NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX event_manager_user ON event_manager (user_id);
