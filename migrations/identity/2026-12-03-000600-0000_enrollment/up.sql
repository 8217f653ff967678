-- An agent a tenant admin creates through the API has no password until it redeems its
-- one-time enrollment link (tessera_db::one_time, purpose 'enrollment'; issue #20). Login
-- verifies such an agent against the dummy hash, so it is refused like a wrong password.
ALTER TABLE agents ALTER COLUMN password_hash DROP NOT NULL;
