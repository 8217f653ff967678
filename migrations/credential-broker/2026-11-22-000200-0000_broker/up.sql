-- credential-broker (seed 003): bindings, their upstreams and scopes, the audit log, and the
-- per-sandbox request counters of the rate limit (shared by every replica).

-- A sandbox bound to the identity agent who owns it.
CREATE TABLE bindings (
    sandbox_id        TEXT        PRIMARY KEY CHECK (sandbox_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$'),
    tenant            TEXT        NOT NULL,
    agent_id          UUID        NOT NULL,
    status            TEXT        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'revoked')),
    status_reason     TEXT,
    expires_at        TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX bindings_agent_idx ON bindings (tenant, agent_id);

-- Upstream hosts a binding may get tokens for (stored lower-case, no trailing dot), with the
-- scopes allowed for each.
CREATE TABLE binding_upstreams (
    sandbox_id     TEXT   NOT NULL REFERENCES bindings (sandbox_id) ON DELETE CASCADE,
    upstream_host  TEXT   NOT NULL CHECK (upstream_host = lower(upstream_host) AND upstream_host !~ '\.$'),
    scopes         TEXT[] NOT NULL,
    PRIMARY KEY (sandbox_id, upstream_host)
);

-- Every token request, whatever its outcome. Never the token: at most its HMAC-SHA256
-- (BROKER_AUDIT_HMAC_KEY), for correlation.
CREATE TABLE audit_log (
    id             BIGSERIAL   PRIMARY KEY,
    at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    request_id     TEXT,
    caller         TEXT        NOT NULL,
    sandbox_id     TEXT        NOT NULL,
    upstream_host  TEXT        NOT NULL,
    scopes         TEXT[]      NOT NULL,
    outcome        TEXT        NOT NULL CHECK (outcome IN ('issued', 'denied', 'error')),
    reason         TEXT,
    token_hmac     BYTEA       CHECK (token_hmac IS NULL OR length(token_hmac) = 32)
);
CREATE INDEX audit_log_sandbox_idx ON audit_log (sandbox_id, at DESC);

-- Sliding-window rate limit: requests per sandbox per minute window.
CREATE TABLE rate_windows (
    sandbox_id    TEXT        NOT NULL,
    window_start  TIMESTAMPTZ NOT NULL,
    count         INTEGER     NOT NULL,
    PRIMARY KEY (sandbox_id, window_start)
);
