//! `GET /api/quotation/{symbol}`: the current quote, not persisted (seed 001).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use tessera_http::{ApiError, ErrorCode, FieldErrors};
use utoipa::{IntoParams, ToSchema};

use crate::market::AssetType;
use crate::providers::{Provider, Quote};
use crate::state::AppState;

/// `?provider=&type=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct QuoteQuery {
    /// `awesome_api|alpha_vantage|yahoo_finance|stooq`: ask only this provider (no fallback).
    pub provider: Option<String>,
    /// `stock|crypto|currency`: otherwise inferred from the symbol.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
}

/// `{"data": Quote}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteResponse {
    /// The quote.
    pub data: Quote,
}

/// Checks `provider` and `type` (422 `validation_error` naming each bad one).
///
/// # Errors
/// The 422.
pub fn parse_choice(
    provider: Option<&str>,
    kind: Option<&str>,
) -> Result<(Option<Provider>, Option<AssetType>), ApiError> {
    let mut errors = FieldErrors::new();
    let provider = match provider.filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => Provider::parse(p).or_else(|| {
            errors.insert(
                "provider".into(),
                vec!["The selected provider is invalid (awesome_api, alpha_vantage, yahoo_finance, stooq).".into()],
            );
            None
        }),
    };
    let kind = match kind.filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => AssetType::parse(k).or_else(|| {
            errors.insert(
                "type".into(),
                vec!["The selected type is invalid (stock, crypto, currency).".into()],
            );
            None
        }),
    };
    if errors.is_empty() {
        Ok((provider, kind))
    } else {
        Err(ApiError::validation(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        ))
    }
}

/// The current quote of a symbol, from the first provider of its chain that has one (or only
/// from `provider`).
#[utoipa::path(get, path = "/api/quotation/{symbol}", tag = "quotations",
    params(("symbol" = String, Path, description = "e.g. `AAPL`, `BTC`, `USD-BRL`"), QuoteQuery),
    responses((status = 200, body = QuoteResponse),
              (status = 404, body = tessera_http::ErrorEnvelope, description = "`quote_not_found`"),
              (status = 422, body = tessera_http::ErrorEnvelope, description = "`invalid_symbol`, `validation_error`"),
              (status = 429, body = tessera_http::ErrorEnvelope, description = "`provider_rate_limited` (`Retry-After`)"),
              (status = 503, body = tessera_http::ErrorEnvelope, description = "`provider_unavailable`")))]
pub async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<QuoteQuery>,
) -> Result<HttpResponse, ApiError> {
    let (provider, kind) = parse_choice(query.provider.as_deref(), query.kind.as_deref())?;
    let symbol = state.market.resolve(&path, kind).map_err(|e| {
        ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidSymbol,
            e.0,
        )
    })?;
    let quote = crate::quote::current(&state.providers, &symbol, provider).await?;
    Ok(HttpResponse::Ok().json(QuoteResponse { data: quote }))
}
