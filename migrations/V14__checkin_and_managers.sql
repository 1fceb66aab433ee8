-- Check-in and event managers (issue 22, items 1-3).
--
-- A check-in row says a participant came. Tickets are not stored at all:
-- the server derives each one with HMAC from secret.key (see README
-- "Check-in, attendance and event managers"), so nothing in this database
-- lets anyone check in.
CREATE TABLE event_checkin (
    event_id       INTEGER NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    user_id        INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    checked_in_at  INTEGER NOT NULL,
    -- Who checked them in (an administrator or a manager of the event).
    checked_in_by  INTEGER REFERENCES user (id) ON DELETE SET NULL,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX event_checkin_user ON event_checkin (user_id);

-- Managers (co-organisers) of an event, set by administrators.
CREATE TABLE event_manager (
    event_id  INTEGER NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX event_manager_user ON event_manager (user_id);
