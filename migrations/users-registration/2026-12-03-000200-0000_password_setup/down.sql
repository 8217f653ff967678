DROP TABLE password_setup_tokens;
-- A user still without a password keeps an unverifiable hash ('!' is no PHC string: every
-- password is wrong), so the column can be NOT NULL again.
UPDATE users SET password_hash = '!' WHERE password_hash IS NULL;
ALTER TABLE users ALTER COLUMN password_hash SET NOT NULL;
