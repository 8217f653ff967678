CREATE TABLE password_setup_tokens (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX password_setup_tokens_user_id_idx ON password_setup_tokens (user_id);
INSERT INTO password_setup_tokens (token_hash, user_id, created_at, expires_at, used_at)
SELECT t.token_hash, t.subject_id, t.created_at, t.expires_at, t.used_at
FROM one_time_tokens t JOIN users u ON u.id = t.subject_id
WHERE t.purpose = 'password_setup';
DELETE FROM one_time_tokens WHERE purpose = 'password_setup';
