//! The OpenAPI 3.1 document, generated from the handlers' annotations.
//!
//! Served at `GET /openapi.json`; committed as `docs/openapi/quotations.yaml`
//! (`quotations openapi`, or `make openapi`); a test fails when they drift.

use utoipa::OpenApi;

use tessera_http::openapi::{Bearer, BearerSchemes, Examples, UNPROCESSABLE_THROTTLED};

use crate::routes::{account, history, moderation, quote, user_tokens};

const BEARER: BearerSchemes = BearerSchemes(&[Bearer {
    name: "bearer",
    description: "A personal access token `{id}|{secret}` from POST /api/auth/token",
    format: None,
}]);

/// The `error_code`s this service answers with besides the framework's
/// ([`tessera_http::openapi::FRAMEWORK_ERROR_CODES`]).
const ERROR_CODES: tessera_http::openapi::ErrorCodes = tessera_http::openapi::ErrorCodes(&[
    tessera_http::ErrorCode::InvalidSymbol,
    tessera_http::ErrorCode::QuoteNotFound,
    tessera_http::ErrorCode::ProviderUnavailable,
    tessera_http::ErrorCode::ProviderRateLimited,
    tessera_http::ErrorCode::CsrfMismatch,
    tessera_http::ErrorCode::Conflict,
    tessera_http::ErrorCode::TooManyRequests,
]);

tessera_http::api! {
/// The document.
#[openapi(
    info(
        title = "Tessera quotations",
        description = "Market quotations from AwesomeAPI, Alpha Vantage, Yahoo Finance and Stooq with fallback (seed 001). \
                       Errors use the platform envelope `{message, error_code, request_id, errors?, details?}` with seed 001's \
                       `error_code` catalog; every response carries `X-Request-Id`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BEARER, &ERROR_CODES, &Examples, &UNPROCESSABLE_THROTTLED),
    components(schemas(tessera_http::ErrorCode)),
    tags((name = "quotations", description = "Current quotes and their history"),
         (name = "auth", description = "Personal access tokens"))
)]
pub struct ApiDoc;
operations = [
    quote::show,
    quote::collect,
    history::index,
    moderation::destroy,
    moderation::bulk,
    moderation::restore,
    moderation::bulk_restore,
    account::create,
    account::revoke,
    account::me,
    user_tokens::index,
    user_tokens::destroy,
];
}

/// The document as YAML (what `docs/openapi/quotations.yaml` holds).
///
/// # Errors
/// Serialisation failures.
pub fn yaml() -> anyhow::Result<String> {
    Ok(ApiDoc::openapi().to_yaml()?)
}

/// Registers every route of the service: the operations of [`ApiDoc`], `/openapi.json`
/// and the web pages (health, readiness and metrics are added by startup).
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    tessera_http::openapi::configure::<ApiDoc>(cfg, "quotations");
    cfg.configure(crate::web::configure);
}
