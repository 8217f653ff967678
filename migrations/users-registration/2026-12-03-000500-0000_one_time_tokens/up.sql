-- Set-password links move to the platform's one_time_tokens (tessera_db::one_time, created by
-- its own migration, which runs first), shared with identity's enrollment links.
INSERT INTO one_time_tokens (token_hash, purpose, subject_id, created_at, expires_at, used_at)
SELECT token_hash, 'password_setup', user_id, created_at, expires_at, used_at
FROM password_setup_tokens;
DROP TABLE password_setup_tokens;
