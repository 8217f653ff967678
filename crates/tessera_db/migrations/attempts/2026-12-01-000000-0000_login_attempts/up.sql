-- Failed sign-in attempts per key (an account, a client address), shared by every replica
-- (tessera_db::attempts; issue #17). One row per key: the failures counted in the current
-- window, and until when the key is locked after too many.
CREATE TABLE login_attempts (
    key           text        PRIMARY KEY,
    failures      integer     NOT NULL,
    window_start  timestamptz NOT NULL,
    locked_until  timestamptz
);
