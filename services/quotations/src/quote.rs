//! Asking providers for a quote: the fallback chain, fail-fast with an explicit provider, and
//! the mapping of seed 001 (`quote_not_found` 404, `provider_rate_limited` 429,
//! `provider_unavailable` 503).
//!
//! When a chain is exhausted without a quote, the answer reflects the most actionable
//! failure: a rate limit (429, retry later) over an outage (503) over "unknown" (404) — a
//! symbol one provider does not know may exist at a provider that was down. Providers without
//! credentials are skipped; a chain where every provider was skipped is a 503.

use actix_web::http::StatusCode;
use tessera_http::{ApiError, ErrorCode};

use crate::market::Symbol;
use crate::providers::{Provider, ProviderError, Providers, Quote};

/// `Retry-After` (seconds) of a `provider_rate_limited` answer.
pub const PROVIDER_RETRY_AFTER_SECONDS: u64 = 60;

/// The outcome class of an exhausted chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteFailure {
    /// 404 `quote_not_found`.
    NotFound,
    /// 429 `provider_rate_limited`.
    RateLimited,
    /// 503 `provider_unavailable`.
    Unavailable,
}

/// Why no quote could be had: the class, and what each provider asked said (shown as
/// `details.providers` only with `APP_DEBUG=true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteError {
    /// The answer's class.
    pub failure: QuoteFailure,
    /// `(provider, outcome)` in the order asked.
    pub attempts: Vec<(Provider, String)>,
}

impl From<QuoteError> for ApiError {
    fn from(e: QuoteError) -> Self {
        let details = serde_json::json!({
            "providers": e.attempts.iter().map(|(p, why)| serde_json::json!({"provider": p.as_str(), "outcome": why})).collect::<Vec<_>>()
        });
        let error = match e.failure {
            QuoteFailure::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::QuoteNotFound,
                "No quote is available for this symbol.",
            ),
            QuoteFailure::RateLimited => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::ProviderRateLimited,
                "The market-data provider is rate limiting requests; retry later.",
            )
            .with_retry_after(PROVIDER_RETRY_AFTER_SECONDS),
            QuoteFailure::Unavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ProviderUnavailable,
                "The market-data provider is unavailable; retry later.",
            ),
        };
        error.with_details(details)
    }
}

/// The current quote of `symbol`: from `explicit` only (no fallback), or along the chain of
/// its type.
///
/// # Errors
/// [`QuoteError`] per the module docs.
pub async fn current(
    providers: &Providers,
    symbol: &Symbol,
    explicit: Option<Provider>,
) -> Result<Quote, QuoteError> {
    let chain: Vec<Provider> = match explicit {
        Some(p) => vec![p],
        None => Provider::chain(symbol.kind).to_vec(),
    };
    let (mut rate_limited, mut unavailable, mut not_found) = (false, false, false);
    let mut attempts = Vec::new();
    for provider in chain {
        let e = match providers.fetch(provider, symbol).await {
            Ok(q) => return Ok(q),
            Err(e) => e,
        };
        match &e {
            ProviderError::NotFound => not_found = true,
            ProviderError::RateLimited => rate_limited = true,
            ProviderError::NotConfigured => {
                tracing::debug!(
                    provider = provider.as_str(),
                    "provider not configured; skipped"
                );
            }
            ProviderError::Unavailable(cause) => {
                tracing::warn!(provider = provider.as_str(), symbol = %symbol.symbol, %cause, "provider failed");
                unavailable = true;
            }
        }
        attempts.push((provider, e.to_string()));
    }
    let failure = if rate_limited {
        QuoteFailure::RateLimited
    } else if unavailable || !not_found {
        QuoteFailure::Unavailable
    } else {
        QuoteFailure::NotFound
    };
    Err(QuoteError { failure, attempts })
}
