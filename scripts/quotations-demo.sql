-- Demo history for the quotations dashboards (`make up`, the browser test): one quote an hour
-- for the last 48 hours of BTC, ETH, USDBRL and AAPL, drifting around a base price.
-- Re-runnable: the dedup index skips rows already there.
INSERT INTO quotations (symbol, type, source, price, currency, quoted_at)
SELECT s.symbol, s.type, s.source,
       round((s.base * (1 + 0.03 * sin(h / 5.0) + 0.01 * cos(h / 1.7)))::numeric, 4),
       s.currency,
       date_trunc('hour', now()) - (h || ' hours')::interval
FROM (VALUES ('BTC', 'crypto', 'awesome_api', 84000.0, 'USD'),
             ('ETH', 'crypto', 'awesome_api', 3000.0, 'USD'),
             ('USDBRL', 'currency', 'awesome_api', 5.3, 'BRL'),
             ('AAPL', 'stock', 'alpha_vantage', 271.5, 'USD')) AS s(symbol, type, source, base, currency),
     generate_series(1, 48) AS h
ON CONFLICT (symbol, source, quoted_at, price) WHERE deleted_at IS NULL DO NOTHING;
