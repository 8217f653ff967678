-- Demo history for the quotations dashboards (`make up`, the browser test): one quote an hour
-- for the last 90 days of BTC, ETH, USDBRL and AAPL. Each symbol is its own random walk
-- (deterministic: the steps come from md5 of the symbol and the hour), with its own volatility
-- and drift, so no two charts share a shape and every range (24 h / 7 d / 30 d / all) has points.
-- Re-runnable: the dedup index skips rows already there.
INSERT INTO quotations (symbol, type, source, price, currency, quoted_at)
SELECT symbol, type, source,
       round((base * exp(drift * step + vol * sum(noise) OVER (PARTITION BY symbol ORDER BY step)))::numeric, 4),
       currency, quoted_at
FROM (
  SELECT s.*, 2160 - h AS step,
         date_trunc('hour', now()) - (h || ' hours')::interval AS quoted_at,
         -- a uniform step in [-1, 1) from the hash's first 32 bits
         ('x' || substr(md5(s.symbol || ':' || h), 1, 8))::bit(32)::int / 2147483648.0 AS noise
  FROM (VALUES ('BTC', 'crypto', 'awesome_api', 84000.0, 'USD', 0.012, 0.00004),
               ('ETH', 'crypto', 'awesome_api', 3000.0, 'USD', 0.016, -0.00003),
               ('USDBRL', 'currency', 'awesome_api', 5.3, 'BRL', 0.0015, 0.00001),
               ('AAPL', 'stock', 'alpha_vantage', 271.5, 'USD', 0.004, 0.00002))
         AS s(symbol, type, source, base, currency, vol, drift),
       generate_series(1, 2160) AS h
) walk
ON CONFLICT (symbol, source, quoted_at, price) WHERE deleted_at IS NULL DO NOTHING;
