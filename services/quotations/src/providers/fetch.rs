//! Fetching a quote from each provider in its own format (AwesomeAPI, Alpha Vantage, Yahoo
//! Finance, Stooq) and the fallback across them.

use super::*;
use crate::market::{AssetType, Symbol};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde_json::Value;

pub(super) fn unavailable(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unavailable(e.to_string())
}

pub(super) fn number(v: &Value) -> Option<f64> {
    let n = match v {
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    (n.is_finite() && n > 0.0).then_some(n)
}

/// The outcomes of `quotation_fetches_total`.
pub const FETCH_OUTCOMES: [&str; 5] = [
    "ok",
    "not_found",
    "rate_limited",
    "unavailable",
    "not_configured",
];

fn fetch_outcome(result: &Result<Quote, ProviderError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(ProviderError::NotFound) => "not_found",
        Err(ProviderError::RateLimited) => "rate_limited",
        Err(ProviderError::Unavailable(_)) => "unavailable",
        Err(ProviderError::NotConfigured) => "not_configured",
    }
}

impl Providers {
    /// Clients with `settings`.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(settings: ProviderSettings) -> anyhow::Result<Self> {
        let http = tessera_telemetry::http::traced(
            reqwest::Client::builder()
                .timeout(settings.timeout)
                .user_agent(settings.user_agent.clone())
                .build()?,
        );
        let fetches = tessera_http::metrics::prometheus::IntCounterVec::new(
            tessera_http::metrics::prometheus::Opts::new(
                "quotation_fetches_total",
                "Quotes asked of a market-data provider, by provider and outcome",
            ),
            &["provider", "outcome"],
        )?;
        for provider in Provider::ALL {
            for outcome in FETCH_OUTCOMES {
                fetches
                    .with_label_values(&[provider.as_str(), outcome])
                    .reset();
            }
        }
        Ok(Self {
            http,
            settings,
            fetches,
        })
    }

    /// The `quotation_fetches_total` counter, for registering on `/metrics`.
    pub fn fetches(&self) -> tessera_http::metrics::prometheus::IntCounterVec {
        self.fetches.clone()
    }

    /// Whether `provider` can be asked (Alpha Vantage needs its key).
    pub fn configured(&self, provider: Provider) -> bool {
        provider != Provider::AlphaVantage || self.settings.alpha_vantage_key.is_some()
    }

    /// One provider's quote for `symbol`.
    ///
    /// # Errors
    /// [`ProviderError`].
    pub async fn fetch(&self, provider: Provider, symbol: &Symbol) -> Result<Quote, ProviderError> {
        let result = self.ask(provider, symbol).await;
        self.fetches
            .with_label_values(&[provider.as_str(), fetch_outcome(&result)])
            .inc();
        result
    }

    /// [`Self::fetch`]'s work, whose result `quotation_fetches_total` counts.
    async fn ask(&self, provider: Provider, symbol: &Symbol) -> Result<Quote, ProviderError> {
        if !self.configured(provider) {
            return Err(ProviderError::NotConfigured);
        }
        let (price, currency, quoted_at, raw) = match provider {
            Provider::AwesomeApi => self.awesome_api(symbol).await?,
            Provider::AlphaVantage => self.alpha_vantage(symbol).await?,
            Provider::YahooFinance => self.yahoo_finance(symbol).await?,
            Provider::Stooq => self.stooq(symbol).await?,
        };
        Ok(Quote {
            symbol: symbol.symbol.clone(),
            kind: symbol.kind,
            source: provider,
            price,
            currency,
            quoted_at,
            raw,
        })
    }

    async fn get(
        &self,
        url: String,
        query: &[(&str, &str)],
    ) -> Result<reqwest::Response, ProviderError> {
        let url = url::Url::parse_with_params(&url, query).map_err(unavailable)?;
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| unavailable(tessera_telemetry::http::error_text(e)))?;
        match resp.status().as_u16() {
            404 => Err(ProviderError::NotFound),
            429 => Err(ProviderError::RateLimited),
            s if !(200..300).contains(&s) => Err(unavailable(format!("HTTP {s}"))),
            _ => Ok(resp),
        }
    }

    async fn json(&self, url: String, query: &[(&str, &str)]) -> Result<Value, ProviderError> {
        self.get(url, query)
            .await?
            .json::<Value>()
            .await
            .map_err(|e| unavailable(e.without_url()))
    }

    async fn awesome_api(
        &self,
        s: &Symbol,
    ) -> Result<(f64, Option<String>, DateTime<Utc>, Value), ProviderError> {
        let (base, quote) = s
            .pair
            .clone()
            .unwrap_or_else(|| (s.symbol.clone(), String::new()));
        let path = if quote.is_empty() {
            base.clone()
        } else {
            format!("{base}-{quote}")
        };
        let url = format!(
            "{}/json/last/{path}",
            self.settings.awesome_api_url.trim_end_matches('/')
        );
        let body = self.json(url, &[]).await?;
        let key = format!("{base}{quote}");
        let entry = body.get(&key).ok_or(ProviderError::NotFound)?;
        let price = entry
            .get("bid")
            .and_then(number)
            .ok_or_else(|| unavailable("no bid"))?;
        let at = entry
            .get("timestamp")
            .and_then(|t| {
                t.as_str()
                    .and_then(|s| s.parse::<i64>().ok())
                    .or_else(|| t.as_i64())
            })
            .and_then(|t| Utc.timestamp_opt(t, 0).single())
            .ok_or_else(|| unavailable("no timestamp"))?;
        let currency = entry
            .get("codein")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok((
            price,
            currency.or(Some(quote)).filter(|c| !c.is_empty()),
            at,
            body,
        ))
    }

    async fn alpha_vantage(
        &self,
        s: &Symbol,
    ) -> Result<(f64, Option<String>, DateTime<Utc>, Value), ProviderError> {
        let key = self.settings.alpha_vantage_key.clone().unwrap_or_default();
        let url = format!(
            "{}/query",
            self.settings.alpha_vantage_url.trim_end_matches('/')
        );
        let body = match &s.pair {
            None => {
                self.json(
                    url,
                    &[
                        ("function", "GLOBAL_QUOTE"),
                        ("symbol", &s.symbol),
                        ("apikey", &key),
                    ],
                )
                .await?
            }
            Some((from, to)) => {
                self.json(
                    url,
                    &[
                        ("function", "CURRENCY_EXCHANGE_RATE"),
                        ("from_currency", from),
                        ("to_currency", to),
                        ("apikey", &key),
                    ],
                )
                .await?
            }
        };
        if body.get("Information").is_some() || body.get("Note").is_some() {
            return Err(ProviderError::RateLimited);
        }
        if body.get("Error Message").is_some() {
            return Err(ProviderError::NotFound);
        }
        if let Some(q) = body.get("Global Quote") {
            if q.as_object().is_none_or(serde_json::Map::is_empty) {
                return Err(ProviderError::NotFound);
            }
            let price = q
                .get("05. price")
                .and_then(number)
                .ok_or_else(|| unavailable("no price"))?;
            let day = q
                .get("07. latest trading day")
                .and_then(Value::as_str)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| unavailable("no trading day"))?;
            let at = Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN));
            return Ok((price, None, at, body));
        }
        if let Some(r) = body.get("Realtime Currency Exchange Rate") {
            let price = r
                .get("5. Exchange Rate")
                .and_then(number)
                .ok_or_else(|| unavailable("no rate"))?;
            let at = r
                .get("6. Last Refreshed")
                .and_then(Value::as_str)
                .and_then(|d| NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M:%S").ok())
                .map(|d| Utc.from_utc_datetime(&d))
                .ok_or_else(|| unavailable("no refresh time"))?;
            let currency = r
                .get("3. To_Currency Code")
                .and_then(Value::as_str)
                .map(str::to_owned);
            return Ok((price, currency, at, body));
        }
        Err(unavailable("unexpected Alpha Vantage answer"))
    }

    fn yahoo_symbol(s: &Symbol) -> String {
        match (&s.pair, s.kind) {
            (Some((b, q)), AssetType::Currency) => format!("{b}{q}=X"),
            (Some((b, q)), _) => format!("{b}-{q}"),
            (None, _) => s.symbol.clone(),
        }
    }

    async fn yahoo_finance(
        &self,
        s: &Symbol,
    ) -> Result<(f64, Option<String>, DateTime<Utc>, Value), ProviderError> {
        let url = format!(
            "{}/v8/finance/chart/{}",
            self.settings.yahoo_finance_url.trim_end_matches('/'),
            Self::yahoo_symbol(s)
        );
        let body = self
            .json(url, &[("interval", "1d"), ("range", "1d")])
            .await?;
        let meta = body
            .pointer("/chart/result/0/meta")
            .ok_or(ProviderError::NotFound)?;
        let price = meta
            .get("regularMarketPrice")
            .and_then(number)
            .ok_or_else(|| unavailable("no price"))?;
        let at = meta
            .get("regularMarketTime")
            .and_then(Value::as_i64)
            .and_then(|t| Utc.timestamp_opt(t, 0).single())
            .ok_or_else(|| unavailable("no market time"))?;
        let currency = meta
            .get("currency")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok((price, currency, at, body))
    }

    fn stooq_symbol(s: &Symbol) -> String {
        match &s.pair {
            Some((b, q)) => format!("{b}{q}").to_ascii_lowercase(),
            None if s.symbol.contains('.') => s.symbol.to_ascii_lowercase(),
            None => format!("{}.us", s.symbol.to_ascii_lowercase()),
        }
    }

    async fn stooq(
        &self,
        s: &Symbol,
    ) -> Result<(f64, Option<String>, DateTime<Utc>, Value), ProviderError> {
        let url = format!("{}/q/l/", self.settings.stooq_url.trim_end_matches('/'));
        let sym = Self::stooq_symbol(s);
        let text = self
            .get(
                url,
                &[("s", &sym), ("f", "sd2t2ohlcv"), ("h", ""), ("e", "csv")],
            )
            .await?
            .text()
            .await
            .map_err(|e| unavailable(e.without_url()))?;
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default().trim();
        if header != "Symbol,Date,Time,Open,High,Low,Close,Volume" {
            return Err(unavailable("not the Stooq CSV header"));
        }
        let row: Vec<&str> = lines.next().unwrap_or_default().trim().split(',').collect();
        let field = |i: usize| row.get(i).copied().unwrap_or_default();
        if field(1) == "N/D" || field(6) == "N/D" {
            return Err(ProviderError::NotFound);
        }
        let price =
            number(&Value::String(field(6).to_owned())).ok_or_else(|| unavailable("no close"))?;
        let at = NaiveDateTime::parse_from_str(
            &format!("{} {}", field(1), field(2)),
            "%Y-%m-%d %H:%M:%S",
        )
        .map(|d| Utc.from_utc_datetime(&d))
        .map_err(|_| unavailable("no date"))?;
        let raw = serde_json::json!({"csv": text});
        Ok((price, None, at, raw))
    }
}
