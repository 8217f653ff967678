-- Transactional outbox (tessera_events): one row per event, written in the transaction of the
-- business change; the relay publishes pending rows and stamps published_at.
CREATE TABLE outbox (
    id            UUID PRIMARY KEY,
    routing_key   TEXT        NOT NULL,
    body          TEXT        NOT NULL,
    headers       JSONB       NOT NULL DEFAULT '{}'::jsonb,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at  TIMESTAMPTZ,
    attempts      INTEGER     NOT NULL DEFAULT 0,
    last_error    TEXT
);

-- The relay's claim query scans pending rows oldest first.
CREATE INDEX outbox_pending_idx ON outbox (created_at) WHERE published_at IS NULL;
-- Pruning of published rows.
CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
