//! `GET /api/quotation/{symbol}`: the current quote, not persisted (seed 001).

use actix_web::{HttpRequest, HttpResponse, web};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use tessera_http::{ApiError, FieldErrors};
use utoipa::{IntoParams, ToSchema};

use crate::caller::Caller;
use crate::db::quotations::{self, Quotation};
use crate::error::Error;
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

/// With `QUOTATIONS_REQUIRE_AUTH=true`, 401 unless the caller is identified.
///
/// # Errors
/// 401 `unauthenticated`.
pub fn require_auth(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    if state.config.quotations_require_auth {
        caller.require_identified()
    } else {
        Ok(())
    }
}

/// Resolves the path's symbol (422 `invalid_symbol`) and asks the providers for its quote.
async fn fetch(
    state: &AppState,
    raw: &str,
    kind: Option<AssetType>,
    provider: Option<Provider>,
) -> Result<Quote, ApiError> {
    let symbol = state
        .market
        .resolve(raw, kind)
        .map_err(|e| Error::InvalidSymbol(e.0))?;
    Ok(crate::quote::current(&state.providers, &symbol, provider).await?)
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
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<QuoteQuery>,
) -> Result<HttpResponse, ApiError> {
    require_auth(&state, &caller)?;
    crate::throttle::check(&state, &req, &caller).await?;
    let (provider, kind) = parse_choice(query.provider.as_deref(), query.kind.as_deref())?;
    let quote = fetch(&state, &path, kind, provider).await?;
    Ok(HttpResponse::Ok().json(QuoteResponse { data: quote }))
}

/// `{"data": Quotation}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotationResponse {
    /// The stored quotation.
    pub data: Quotation,
}

/// `POST /api/quotation/{symbol}` body (optional; unknown members are ignored, as Laravel does).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CollectBody {
    /// `stock|crypto|currency`.
    #[serde(rename = "type", default)]
    #[schema(example = "crypto")]
    pub kind: Option<String>,
    /// `awesome_api|alpha_vantage|yahoo_finance|stooq`: only this provider.
    #[serde(default)]
    #[schema(example = "awesome_api")]
    pub provider: Option<String>,
}

/// Fetches the current quote and stores it: 201 with the new row, or 200 with the existing one
/// when an equivalent quotation (same symbol, source, `quoted_at` and price) is stored already.
/// A new row publishes `quotations.quotation.collected`.
#[utoipa::path(post, path = "/api/quotation/{symbol}", tag = "quotations",
    params(("symbol" = String, Path, description = "e.g. `AAPL`, `BTC`, `USD-BRL`")),
    request_body(content = Option<CollectBody>, description = "Optional"),
    responses((status = 201, body = QuotationResponse, description = "Stored"),
              (status = 200, body = QuotationResponse, description = "An equivalent quotation exists (deduplicated)"),
              (status = 404, body = tessera_http::ErrorEnvelope, description = "`quote_not_found`"),
              (status = 422, body = tessera_http::ErrorEnvelope, description = "`invalid_symbol`, `validation_error`"),
              (status = 429, body = tessera_http::ErrorEnvelope, description = "`provider_rate_limited`"),
              (status = 503, body = tessera_http::ErrorEnvelope, description = "`provider_unavailable`")))]
pub async fn collect(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_auth(&state, &caller)?;
    crate::throttle::check(&state, &req, &caller).await?;
    let body: CollectBody = if body.iter().all(u8::is_ascii_whitespace) {
        CollectBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::validation(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                FieldErrors::from([(
                    "body".to_owned(),
                    vec![format!(
                        "The body must be a JSON object with optional type and provider: {e}"
                    )],
                )]),
            )
        })?
    };
    let (provider, kind) = parse_choice(body.provider.as_deref(), body.kind.as_deref())?;
    let quote = fetch(&state, &path, kind, provider).await?;
    let now = tessera_service::now();
    let mut conn = state.pool.get().await?;
    let (row, created) = conn
        .transaction::<_, diesel::result::Error, _>(async |c| {
            let (row, created) = quotations::insert_dedup(c, &quote).await?;
            if created {
                crate::events::collected(c, &row, now).await?;
            }
            Ok((row, created))
        })
        .await?;
    if created {
        state.relay_wake.notify_one();
        Ok(HttpResponse::Created().json(QuotationResponse { data: row }))
    } else {
        Ok(HttpResponse::Ok().json(QuotationResponse { data: row }))
    }
}
