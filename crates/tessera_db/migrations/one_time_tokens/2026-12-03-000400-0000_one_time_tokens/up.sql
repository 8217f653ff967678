-- One-time tokens (tessera_db::one_time): set-password links (users-registration) and agent
-- enrollment links (identity). Only the SHA-256 of a token is stored; a token is usable once,
-- before expires_at, for the purpose it was issued for.
CREATE TABLE one_time_tokens (
    token_hash  bytea PRIMARY KEY,
    purpose     text        NOT NULL,
    subject_id  uuid        NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    CONSTRAINT one_time_tokens_expiry_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX one_time_tokens_unused_idx ON one_time_tokens (purpose, subject_id)
    WHERE used_at IS NULL;
