-- quotations (seed 001): API users and Sanctum-style personal access tokens.
CREATE TABLE users (
    id                 bigserial PRIMARY KEY,
    name               text        NOT NULL,
    -- Normalised: trimmed, lower-case.
    email              text        NOT NULL UNIQUE,
    password_hash      text        NOT NULL,
    is_admin           boolean     NOT NULL DEFAULT false,
    -- Named permissions, e.g. {"delete_quotations": true}; admins have every permission.
    permissions        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    email_verified_at  timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- A token is shown once as "{id}|{secret}"; only SHA-256(secret) is stored.
CREATE TABLE personal_access_tokens (
    id            bigserial PRIMARY KEY,
    user_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text        NOT NULL,
    token_hash    bytea       NOT NULL UNIQUE,
    abilities     jsonb       NOT NULL DEFAULT '["*"]'::jsonb,
    last_used_at  timestamptz,
    expires_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX personal_access_tokens_user_id_idx ON personal_access_tokens (user_id);
