-- Per-user notification preferences and reminders at several offsets
-- (issue #17).

-- What a user chose; no row (or NULL) = the server's default.
CREATE TABLE user_preferences (
    user_id    INTEGER PRIMARY KEY REFERENCES user (id) ON DELETE CASCADE,
    -- 'ru' or 'en'; NULL = ui.default_locale.
    locale     TEXT,
    -- IANA zone; NULL = ui.display_timezone.
    time_zone  TEXT,
    -- Notification types whose email is off, comma-separated.
    email_off  TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
);

-- Reminder offsets in minutes; a user without rows has one day.
CREATE TABLE user_reminder_offset (
    user_id INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    minutes INTEGER NOT NULL,
    PRIMARY KEY (user_id, minutes)
);

-- Which reminder (offset) went out to a participant, for which start time
-- and which join: a moved event or a new join re-arms it by itself.
CREATE TABLE reminder_sent (
    participant_id INTEGER NOT NULL REFERENCES event_participant (id) ON DELETE CASCADE,
    minutes        INTEGER NOT NULL,
    starts_at      INTEGER NOT NULL,
    joined_at      INTEGER NOT NULL,
    sent_at        INTEGER NOT NULL,
    PRIMARY KEY (participant_id, minutes)
);

-- Reminders sent before this migration were the one-day ones.
INSERT INTO reminder_sent (participant_id, minutes, starts_at, joined_at, sent_at)
SELECT p.id, 1440, e.starts_at, p.created_at, p.reminder_sent_at
FROM event_participant p JOIN event e ON e.id = p.event_id
WHERE p.reminder_sent_at IS NOT NULL;
