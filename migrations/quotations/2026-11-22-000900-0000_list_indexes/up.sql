-- GET /api/quotations walks an index in (quoted_at DESC, id DESC) order and stops after a page:
-- one index per leading equality filter, so no filter combination sorts a large set.
CREATE INDEX quotations_type_idx ON quotations (type, status, quoted_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX quotations_source_idx ON quotations (source, status, quoted_at DESC, id DESC) WHERE deleted_at IS NULL;
-- include_invalid=true without status: both statuses, i.e. no status condition at all.
CREATE INDEX quotations_recent_idx ON quotations (quoted_at DESC, id DESC) WHERE deleted_at IS NULL;
