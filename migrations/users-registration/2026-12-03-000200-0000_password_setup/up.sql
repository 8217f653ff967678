-- Seed 004's own sign-up payload has no password (issue #20): a user may exist without one
-- until they redeem the one-time set-password link their approval notification carries.
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;

-- One-time set-password links. Only the SHA-256 of the token is stored; a token is usable
-- once, before expires_at, and redeeming one spends every other token of the same user.
CREATE TABLE password_setup_tokens (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX password_setup_tokens_user_id_idx ON password_setup_tokens (user_id);
