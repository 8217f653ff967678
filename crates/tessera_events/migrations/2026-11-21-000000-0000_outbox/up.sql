-- Transactional outbox (tessera_events): one row per event, written in the transaction of the
-- business change. A row exists exactly while its event is unpublished: the relay deletes it
-- once the broker confirmed it (a delete writes less than an update, which would insert new
-- entries into every index, and keeps the table small).
CREATE TABLE outbox (
    id            UUID        PRIMARY KEY,
    routing_key   TEXT        NOT NULL,
    body          TEXT        NOT NULL,
    headers       JSONB       NOT NULL DEFAULT '{}'::jsonb,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts      INTEGER     NOT NULL DEFAULT 0,
    last_error    TEXT
);

-- The relay reads pending rows oldest first.
CREATE INDEX outbox_created_idx ON outbox (created_at);
