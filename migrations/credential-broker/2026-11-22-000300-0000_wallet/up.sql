-- The oauth wallet: per user (identity agent) and upstream host, the refresh token and the
-- cached access token, both sealed with AES-256-GCM (BROKER_WALLET_ENCRYPTION_KEY; associated
-- data "<agent_id>/<upstream_host>/<column>", so a value copied elsewhere does not open).
CREATE TABLE wallet_credentials (
    agent_id           UUID        NOT NULL,
    upstream_host      TEXT        NOT NULL CHECK (upstream_host = lower(upstream_host) AND upstream_host !~ '\.$'),
    refresh_token      BYTEA       NOT NULL,
    access_token       BYTEA,
    access_scopes      TEXT,
    access_expires_at  TIMESTAMPTZ,
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_id, upstream_host)
);
