-- quotations (seed 001): web sessions, password resets, auto-collect settings and run history.

-- A browser session (issue #7). The cookie holds a random 32-byte value; only its SHA-256 is
-- stored. Guests get a session too (it carries the CSRF token of the login/register forms).
CREATE TABLE web_sessions (
    id_hash       bytea       PRIMARY KEY,
    user_id       bigint      REFERENCES users (id) ON DELETE CASCADE,
    csrf_token    text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX web_sessions_user_id_idx ON web_sessions (user_id);
CREATE INDEX web_sessions_expires_at_idx ON web_sessions (expires_at);

-- One outstanding reset per e-mail; only SHA-256(token) is stored; valid 60 minutes.
CREATE TABLE password_reset_tokens (
    email       text        PRIMARY KEY,
    token_hash  bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The dashboard's auto-collect settings (one row). Until it exists, the
-- QUOTATIONS_AUTO_COLLECT_* environment variables are the settings.
CREATE TABLE auto_collect_settings (
    id                smallint    PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    enabled           boolean     NOT NULL,
    interval_minutes  integer     NOT NULL CHECK (interval_minutes BETWEEN 1 AND 59),
    symbols           text[]      NOT NULL,
    provider          text        CHECK (provider IN ('awesome_api', 'alpha_vantage', 'yahoo_finance', 'stooq')),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Collection runs (`quotations collect`, the dashboard's run-now, the scheduler). Dry runs are
-- not recorded: a dry run persists nothing.
CREATE TABLE collect_runs (
    run_id              uuid        PRIMARY KEY,
    trigger             text        NOT NULL CHECK (trigger IN ('manual', 'dashboard', 'scheduler')),
    status              text        NOT NULL CHECK (status IN ('running', 'success', 'partial', 'failed')),
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz,
    summary             jsonb,
    exit_code           integer,
    symbols             text[]      NOT NULL,
    requested_provider  text,
    effective_provider  text,
    command             text        NOT NULL
);
CREATE INDEX collect_runs_started_at_idx ON collect_runs (started_at DESC);
CREATE INDEX collect_runs_trigger_idx ON collect_runs (trigger, started_at DESC);
