DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE idempotency_keys;
DROP TABLE user_events;
DROP TABLE user_attachments;
DROP TABLE registrations;
DROP TABLE users;
