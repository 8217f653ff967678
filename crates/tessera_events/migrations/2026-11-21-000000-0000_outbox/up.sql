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

-- A queue table: rows are deleted about as fast as they are inserted. Vacuum it eagerly, so the
-- relay's oldest-first index scan does not wade through the dead tuples of published events.
ALTER TABLE outbox SET (
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 10000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0.0,
    autovacuum_analyze_threshold = 10000
);
