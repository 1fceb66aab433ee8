-- Waiting list (issue 18); see migrations/V9__waiting_list.sql for the
-- SQLite twin. A participant row may be WAITLISTED: its created_at is when
-- the user joined the list, and the list is in (created_at, id) order.
ALTER TABLE event_participant DROP CONSTRAINT event_participant_status_check;
ALTER TABLE event_participant ADD CONSTRAINT event_participant_status_check
    CHECK (status IN ('PARTICIPATING', 'REJECTED', 'WAITLISTED'));

-- Whether signed-in users may see who is going; administrators always may.
-- 0/1, as every flag.
ALTER TABLE event ADD COLUMN attendees_visible BIGINT NOT NULL DEFAULT 1 CHECK (attendees_visible IN (0, 1));
