-- identity (seed 002): tenants, agents, sessions, role assignments, recovery codes.

CREATE TABLE tenants (
    id          UUID        PRIMARY KEY,
    slug        TEXT        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status      TEXT        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One agent per (tenant, e-mail). The e-mail is stored lower-cased and trimmed.
-- `mfa_secret` is the TOTP secret sealed with AES-256-GCM (tessera_db::sealed, associated
-- data = the agent id); with `mfa_enabled = false` it is an enrollment awaiting its first code.
-- Brute-force state lives here so that it holds across replicas: separate counters for
-- passwords and second-factor codes, one lock. `totp_last_step` is the RFC 6238 time step of
-- the last accepted code: a code of that step or an earlier one is a replay (RFC 6238 §5.2).
CREATE TABLE agents (
    id                     UUID        PRIMARY KEY,
    tenant_id              UUID        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email                  TEXT        NOT NULL CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 254),
    password_hash          TEXT        NOT NULL,
    status                 TEXT        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    mfa_secret             BYTEA,
    mfa_enabled            BOOLEAN     NOT NULL DEFAULT false,
    failed_password_count  INTEGER     NOT NULL DEFAULT 0 CHECK (failed_password_count >= 0),
    failed_code_count      INTEGER     NOT NULL DEFAULT 0 CHECK (failed_code_count >= 0),
    locked_until           TIMESTAMPTZ,
    totp_last_step         BIGINT,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, email),
    CHECK (NOT mfa_enabled OR mfa_secret IS NOT NULL)
);

-- A login. `mfa_pending` until the second factor is verified; `aal` is the NIST SP 800-63B
-- authenticator assurance level reached (1 = password, 2 = password + TOTP/recovery code).
CREATE TABLE sessions (
    id           UUID        PRIMARY KEY,
    tenant_id    UUID        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    agent_id     UUID        NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    aal          SMALLINT    NOT NULL CHECK (aal IN (1, 2)),
    mfa_pending  BOOLEAN     NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX sessions_agent_idx ON sessions (agent_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- One role per agent (PUT replaces it).
CREATE TABLE role_assignments (
    agent_id     UUID        PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    tenant_id    UUID        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    role         TEXT        NOT NULL,
    assigned_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    assigned_by  UUID        REFERENCES agents (id) ON DELETE SET NULL
);
CREATE INDEX role_assignments_tenant_idx ON role_assignments (tenant_id, assigned_at, agent_id);

-- Single-use recovery codes, stored as SHA-256 of the code (codes carry 80 random bits).
CREATE TABLE recovery_codes (
    agent_id    UUID        NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    code_hash   BYTEA       NOT NULL CHECK (length(code_hash) = 32),
    used_at     TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_id, code_hash)
);
