DELETE FROM agents WHERE password_hash IS NULL;
ALTER TABLE agents ALTER COLUMN password_hash SET NOT NULL;
