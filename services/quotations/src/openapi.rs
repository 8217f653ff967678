//! The OpenAPI 3.1 document, generated from the handlers' annotations.
//!
//! Served at `GET /openapi.json`; committed as `docs/openapi/quotations.yaml`
//! (`quotations openapi`, or `make openapi`); a test fails when they drift.

use tessera_http::openapi::UNPROCESSABLE_THROTTLED;

use crate::routes::{account, history, moderation, quote, user_tokens};

tessera_http::api! {
service = "quotations";
bearer = [("bearer", "A personal access token `{id}|{secret}` from POST /api/auth/token", None)];
error_codes = [InvalidSymbol, QuoteNotFound, ProviderUnavailable, ProviderRateLimited, CsrfMismatch, Conflict, TooManyRequests];
modifiers = [&UNPROCESSABLE_THROTTLED];
/// The document.
#[openapi(
    info(
        title = "Tessera quotations",
        description = "Market quotations from AwesomeAPI, Alpha Vantage, Yahoo Finance and Stooq with fallback (seed 001). \
                       Errors use the platform envelope `{message, error_code, request_id, errors?, details?}` with seed 001's \
                       `error_code` catalog; every response carries `X-Request-Id`.",
        license(name = "Apache-2.0")
    ),
    components(schemas(tessera_http::ErrorCode)),
    tags((name = "quotations", description = "Current quotes and their history"),
         (name = "auth", description = "Personal access tokens"))
)]
pub struct ApiDoc;
operations = [
    quote::{show, collect},
    history::{index},
    moderation::{destroy, bulk, restore, bulk_restore},
    account::{create, revoke, me},
    user_tokens::{index, destroy},
];
}
