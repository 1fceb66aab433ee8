-- Per-user notification preferences and reminders at several offsets
-- (issue #17); see migrations/V10__preferences.sql.
CREATE TABLE user_preferences (
    user_id    BIGINT PRIMARY KEY REFERENCES "user" (id) ON DELETE CASCADE,
    locale     TEXT,
    time_zone  TEXT,
    email_off  TEXT   NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);

CREATE TABLE user_reminder_offset (
    user_id BIGINT NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    minutes BIGINT NOT NULL,
    PRIMARY KEY (user_id, minutes)
);

CREATE TABLE reminder_sent (
    participant_id BIGINT NOT NULL REFERENCES event_participant (id) ON DELETE CASCADE,
    minutes        BIGINT NOT NULL,
    starts_at      BIGINT NOT NULL,
    joined_at      BIGINT NOT NULL,
    sent_at        BIGINT NOT NULL,
    PRIMARY KEY (participant_id, minutes)
);

INSERT INTO reminder_sent (participant_id, minutes, starts_at, joined_at, sent_at)
SELECT p.id, 1440, e.starts_at, p.created_at, p.reminder_sent_at
FROM event_participant p JOIN event e ON e.id = p.event_id
WHERE p.reminder_sent_at IS NOT NULL;
