//! HTTP routes (seed 001). Registered with `web::resource` so a wrong method is a 405 envelope.

pub mod account;
pub mod deletes;
pub mod history;
pub mod quote;
pub mod user_tokens;

use actix_web::web;
use tessera_http::ApiError;

use crate::openapi::ApiDoc;

/// Registers every route of the service: the operations of [`ApiDoc`] and `/openapi.json`
/// (health, readiness and metrics are added by startup).
pub fn configure(cfg: &mut web::ServiceConfig) {
    tessera_http::openapi::configure::<ApiDoc>(cfg);
    cfg.configure(crate::web::configure);
}

/// A numeric id of the path, or `not_found()` (a malformed id is simply not found).
///
/// # Errors
/// `not_found()`.
pub fn path_id(raw: &str, not_found: impl FnOnce() -> ApiError) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| not_found())
}
