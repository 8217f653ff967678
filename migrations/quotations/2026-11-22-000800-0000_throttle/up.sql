-- The API throttle (seed 001 "429 rate limit (throttle da API)"): requests per key (a token id or
-- a client IP) per one-minute window, shared by every replica. Old windows are deleted by the
-- service once a minute.
CREATE TABLE api_throttle (
    key           text        NOT NULL,
    window_start  timestamptz NOT NULL,
    hits          integer     NOT NULL,
    PRIMARY KEY (key, window_start)
);
