-- Waiting list (issue 18): a participant row may be WAITLISTED. Its
-- created_at is when the user joined the list; the list is in
-- (created_at, id) order, and a row that (re)joins the list is written
-- anew, so a later join always has a larger id than everyone already on it.
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt
-- with the same columns (in the same order) and indexes. Nothing references
-- event_participant, so dropping the old table is safe with foreign keys on.
CREATE TABLE event_participant_v9 (
    id                INTEGER PRIMARY KEY,
    event_id          INTEGER NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    user_id           INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    status            TEXT    NOT NULL CHECK (status IN ('PARTICIPATING', 'REJECTED', 'WAITLISTED')),
    created_at        INTEGER NOT NULL,
    reminder_sent_at  INTEGER,
    UNIQUE (event_id, user_id)
);
INSERT INTO event_participant_v9 (id, event_id, user_id, status, created_at, reminder_sent_at)
    SELECT id, event_id, user_id, status, created_at, reminder_sent_at FROM event_participant;
DROP TABLE event_participant;
ALTER TABLE event_participant_v9 RENAME TO event_participant;
CREATE INDEX event_participant_user ON event_participant (user_id, status);
CREATE INDEX event_participant_event_status ON event_participant (event_id, status, created_at);

-- Whether signed-in users may see who is going (GET /events/{id}/attendees);
-- administrators always may. 0/1.
ALTER TABLE event ADD COLUMN attendees_visible INTEGER NOT NULL DEFAULT 1 CHECK (attendees_visible IN (0, 1));
