-- White-label registry (control-plane, seed 000).
CREATE TABLE white_labels (
    id          TEXT        PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    name        TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status      TEXT        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- "Visibility": an importer may ask for peer tokens to a target only through an active row,
-- and only for the scopes listed here.
CREATE TABLE wl_relationships (
    importer_id TEXT        NOT NULL REFERENCES white_labels (id) ON DELETE CASCADE,
    target_id   TEXT        NOT NULL REFERENCES white_labels (id) ON DELETE CASCADE,
    scopes      TEXT[]      NOT NULL,
    status      TEXT        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (importer_id, target_id),
    CHECK (importer_id <> target_id)
);
CREATE INDEX wl_relationships_target_idx ON wl_relationships (target_id);

-- How a WL authenticates to the control plane: API keys, stored as SHA-256 only.
CREATE TABLE wl_credentials (
    id          UUID        PRIMARY KEY,
    wl_id       TEXT        NOT NULL REFERENCES white_labels (id) ON DELETE CASCADE,
    kind        TEXT        NOT NULL DEFAULT 'api_key' CHECK (kind IN ('api_key')),
    secret_hash BYTEA       NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    key_prefix  TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX wl_credentials_wl_idx ON wl_credentials (wl_id);
