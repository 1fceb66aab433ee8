-- Outgoing webhooks (issue 23).
--
-- webhook_endpoint: where administrators want changes sent.
--   url             http(s) URL the deliveries are POSTed to
--   event_types     the subscribed types, comma-separated (event.created,…)
--   enabled         1 = deliveries are queued and sent
--   secret_sealed   the signing secret, sealed with <data_dir>/secret.key
--                   (it must be usable to sign, so it cannot be a hash)
--   failing_since   first failed attempt since the last success (NULL = OK)
--   disabled_reason why the server disabled it (NULL = by an administrator
--                   or enabled)
-- webhook_delivery: one message to one endpoint; its id is the idempotency
--   id (`Afisha-Delivery`), the same on every attempt and on a resend.
--   body is the exact JSON sent (signed as it is).
--   status pending | delivered | failed
-- webhook_attempt: one HTTP attempt of a delivery (the delivery log).
CREATE TABLE webhook_endpoint (
    id               INTEGER PRIMARY KEY,
    url              TEXT    NOT NULL,
    event_types      TEXT    NOT NULL,
    enabled          INTEGER NOT NULL,
    secret_sealed    TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    failing_since    INTEGER,
    disabled_reason  TEXT
);

CREATE TABLE webhook_delivery (
    id               TEXT    PRIMARY KEY,
    endpoint_id      INTEGER NOT NULL REFERENCES webhook_endpoint (id) ON DELETE CASCADE,
    event_type       TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    last_attempt_at  INTEGER,
    response_code    INTEGER,
    duration_ms      INTEGER,
    error            TEXT
);
CREATE INDEX webhook_delivery_endpoint ON webhook_delivery (endpoint_id, created_at);

CREATE TABLE webhook_attempt (
    id               INTEGER PRIMARY KEY,
    delivery_id      TEXT    NOT NULL REFERENCES webhook_delivery (id) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    at               INTEGER NOT NULL,
    response_code    INTEGER,
    duration_ms      INTEGER NOT NULL,
    error            TEXT,
    success          INTEGER NOT NULL
);
CREATE INDEX webhook_attempt_delivery ON webhook_attempt (delivery_id, id);
