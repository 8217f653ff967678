//! HTTP routes (seed 004 "API REST"). Registered with `web::resource` so a wrong method is a
//! 405 envelope.

pub mod registrations;
pub mod session;
pub mod users;

use actix_web::web;

use crate::openapi::ApiDoc;

/// Registers every route of the service: the operations of [`ApiDoc`] and `/openapi.json`
/// (health, readiness and metrics are added by startup).
pub fn configure(cfg: &mut web::ServiceConfig) {
    tessera_http::openapi::register_operations::<ApiDoc>(cfg);
    // The document merges the committed JSON Schemas of the bodies (`crate::openapi::document`).
    tessera_http::openapi::serve_document(cfg, &crate::openapi::document());
}
