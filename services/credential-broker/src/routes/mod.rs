//! HTTP routes. Registered with `web::resource` so a wrong method is a 405 envelope.

pub mod admin;
pub mod token;

use actix_web::web;

use crate::openapi::ApiDoc;

/// Registers every route of the service: the operations of [`ApiDoc`] and `/openapi.json`
/// (health, readiness and metrics are added by startup).
pub fn configure(cfg: &mut web::ServiceConfig) {
    tessera_http::openapi::configure::<ApiDoc>(cfg);
}
