-- quotations (seed 001): the persisted history of collected quotes.
CREATE TABLE quotations (
    id              bigserial PRIMARY KEY,
    symbol          text        NOT NULL,
    type            text        NOT NULL CHECK (type IN ('stock', 'crypto', 'currency')),
    source          text        NOT NULL CHECK (source IN ('awesome_api', 'alpha_vantage', 'yahoo_finance', 'stooq')),
    price           numeric(24, 8) NOT NULL,
    currency        text,
    quoted_at       timestamptz NOT NULL,
    status          text        NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'invalid')),
    invalid_reason  text,
    raw             jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
-- Deduplication of POST /api/quotation/{symbol}: one live row per (symbol, source, quoted_at, price).
CREATE UNIQUE INDEX quotations_dedup_key ON quotations (symbol, source, quoted_at, price) WHERE deleted_at IS NULL;
-- GET /api/quotations: live rows by status, newest first, optionally narrowed by symbol/type/source.
CREATE INDEX quotations_list_idx ON quotations (status, quoted_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX quotations_symbol_idx ON quotations (symbol, status, quoted_at DESC, id DESC) WHERE deleted_at IS NULL;
