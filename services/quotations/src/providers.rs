//! Market-data providers (seed 001 "Providers ativos"): `awesome_api`, `alpha_vantage`,
//! `yahoo_finance`, `stooq`, each parsing the provider's real response format, with a
//! configurable base URL, timeout and User-Agent, and the fallback chains of seed 001
//! "Regras de fallback de provider".
//!
//! | provider | request | unknown symbol | rate limited |
//! |---|---|---|---|
//! | AwesomeAPI | `GET /json/last/USD-BRL` → `{"USDBRL": {"bid": "5.01", "timestamp": "1700000000", …}}` | 404 | 429 |
//! | Alpha Vantage | `GET /query?function=GLOBAL_QUOTE&symbol=IBM` (`"05. price"`), `CURRENCY_EXCHANGE_RATE` (`"5. Exchange Rate"`) | `{"Global Quote": {}}`, `"Error Message"` | HTTP 200 with `Information` or `Note` |
//! | Yahoo Finance | `GET /v8/finance/chart/AAPL` (`meta.regularMarketPrice`, `regularMarketTime`) | 404 | 429 (plain text) |
//! | Stooq | `GET /q/l/?s=aapl.us&f=sd2t2ohlcv&h&e=csv` → `Symbol,Date,Time,Open,High,Low,Close,Volume` | `N/D` | — (anything not the CSV header is a failure) |
//!
//! A timeout, a 5xx or an unparseable answer is [`ProviderError::Unavailable`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::market::AssetType;

mod fetch;

/// A provider (`source` of a quotation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// AwesomeAPI (economia.awesomeapi.com.br): currencies and crypto.
    AwesomeApi,
    /// Alpha Vantage (needs `ALPHA_VANTAGE_API_KEY`): stocks, currencies, crypto.
    AlphaVantage,
    /// Yahoo Finance chart API: stocks, currencies, crypto.
    YahooFinance,
    /// Stooq CSV quotes: stocks, currencies.
    Stooq,
}

impl Provider {
    /// Every provider.
    pub const ALL: [Self; 4] = [
        Self::AwesomeApi,
        Self::AlphaVantage,
        Self::YahooFinance,
        Self::Stooq,
    ];

    /// The wire form (`awesome_api`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwesomeApi => "awesome_api",
            Self::AlphaVantage => "alpha_vantage",
            Self::YahooFinance => "yahoo_finance",
            Self::Stooq => "stooq",
        }
    }

    /// Parses the wire form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Whether the provider quotes this type at all (AwesomeAPI: crypto and currencies; Stooq:
    /// stocks and currencies; the others: every type). Auto-collect falls back to the type's
    /// chain when a configured provider does not (see `crate::collect`).
    pub fn supports(self, kind: AssetType) -> bool {
        match self {
            Self::AwesomeApi => kind != AssetType::Stock,
            Self::Stooq => kind != AssetType::Crypto,
            Self::AlphaVantage | Self::YahooFinance => true,
        }
    }

    /// The fallback chain without an explicit provider (seed 001): stock `alpha_vantage →
    /// yahoo_finance → awesome_api`; crypto and currency `awesome_api → alpha_vantage`.
    pub fn chain(kind: AssetType) -> &'static [Self] {
        match kind {
            AssetType::Stock => &[Self::AlphaVantage, Self::YahooFinance, Self::AwesomeApi],
            AssetType::Crypto | AssetType::Currency => &[Self::AwesomeApi, Self::AlphaVantage],
        }
    }
}

/// A current quote.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Quote {
    /// Normalised symbol.
    pub symbol: String,
    /// Asset type.
    #[serde(rename = "type")]
    pub kind: AssetType,
    /// The provider that answered.
    pub source: Provider,
    /// Last price (or bid, for AwesomeAPI), in `currency`.
    pub price: f64,
    /// Currency of `price`, when the provider says it.
    pub currency: Option<String>,
    /// When the provider says the price was quoted (RFC 3339).
    pub quoted_at: DateTime<Utc>,
    /// The provider's payload, as received (kept with persisted quotes).
    #[serde(skip)]
    pub raw: Value,
}

/// Why a provider gave no quote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider does not know the symbol.
    #[error("symbol not found")]
    NotFound,
    /// The provider rate-limited us.
    #[error("rate limited")]
    RateLimited,
    /// Timeout, 5xx, or an answer that does not parse (the cause, for logs).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Not configured (no API key): skipped in a chain.
    #[error("not configured")]
    NotConfigured,
}

/// Base URLs, credentials and HTTP settings of the providers.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// AwesomeAPI base URL.
    pub awesome_api_url: String,
    /// Alpha Vantage base URL.
    pub alpha_vantage_url: String,
    /// Alpha Vantage key; `None` skips the provider.
    pub alpha_vantage_key: Option<String>,
    /// Yahoo Finance base URL.
    pub yahoo_finance_url: String,
    /// Stooq base URL.
    pub stooq_url: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// `User-Agent` sent to every provider.
    pub user_agent: String,
}

/// The HTTP clients of the providers.
#[derive(Debug, Clone)]
pub struct Providers {
    http: tessera_telemetry::http::HttpClient,
    settings: ProviderSettings,
    /// `quotation_fetches_total{provider,outcome}` (`docs/metrics.md`).
    fetches: tessera_http::metrics::prometheus::IntCounterVec,
}
