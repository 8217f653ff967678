-- users-registration (seed 004): users, registrations, user_attachments, user_events, plus
-- idempotency keys, login sessions and refresh tokens. The outbox tables come from
-- tessera_events' own migrations.

CREATE TABLE users (
    id                  uuid PRIMARY KEY,
    name                text        NOT NULL,
    -- Normalised: trimmed, lower-case.
    email               text        NOT NULL,
    role                text        NOT NULL CHECK (role IN ('producer', 'analyst', 'auditor')),
    -- Rows written before encryption existed hold the plaintext here until `backfill`
    -- moves it into document_id_sealed / document_id_index and clears it.
    document_id         text,
    -- AES-256-GCM (tessera_db::sealed) of the normalised documentId, the row id as AAD.
    document_id_sealed  bytea,
    -- Blind index: HMAC-SHA256 of the normalised documentId; carries the uniqueness.
    document_id_index   bytea,
    password_hash       text        NOT NULL,
    status              text        NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
    status_reason       text,
    -- Explicit scopes for this user; NULL = the role's default scopes.
    scopes              text[],
    farm_data           jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((document_id_sealed IS NULL) = (document_id_index IS NULL))
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_document_id_index_key ON users (document_id_index);
-- Uniqueness of the rows not yet backfilled, on the normalised plaintext (see document.rs).
CREATE UNIQUE INDEX users_document_id_legacy_key
    ON users ((regexp_replace(upper(document_id), '[^0-9A-Z]', '', 'g')))
    WHERE document_id IS NOT NULL;
CREATE INDEX users_status_idx ON users (status, created_at);

CREATE TABLE registrations (
    id            uuid PRIMARY KEY,
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    submitted_at  timestamptz NOT NULL
);
CREATE INDEX registrations_user_id_idx ON registrations (user_id);

CREATE TABLE user_attachments (
    id               bigserial PRIMARY KEY,
    registration_id  uuid     NOT NULL REFERENCES registrations (id) ON DELETE CASCADE,
    position         smallint NOT NULL,
    type             text     NOT NULL,
    url              text     NOT NULL,
    UNIQUE (registration_id, position)
);

-- The history of a user's lifecycle: registered, approved, rejected, updated.
CREATE TABLE user_events (
    id           bigserial PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         text        NOT NULL,
    -- Who did it (an analyst's user id); NULL for the user's own sign-up.
    actor_id     uuid,
    reason       text,
    occurred_at  timestamptz NOT NULL
);
CREATE INDEX user_events_user_id_idx ON user_events (user_id, occurred_at);

-- Idempotency-Key (draft-ietf-httpapi-idempotency-key-header, Stripe semantics): the first
-- response to a key, stored with the request's fingerprint for 24 h. A request in flight holds
-- the row's uncommitted insert, so a concurrent one with the same key waits on it.
CREATE TABLE idempotency_keys (
    key              text        PRIMARY KEY,
    fingerprint      bytea       NOT NULL,
    response_status  smallint    NOT NULL,
    response_body    jsonb       NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL
);
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);

-- A login session: the family of rotated refresh tokens; access tokens carry its id as `sid`.
CREATE TABLE sessions (
    id          uuid PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    revoked_reason text
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    -- SHA-256 of the opaque token; the token itself is never stored.
    token_hash  bytea PRIMARY KEY,
    session_id  uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
