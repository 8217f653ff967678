//! HTTP routes, all under `/tenants/{tenant_slug}` (seed 002). Registered with
//! `web::resource` so a wrong method is a 405 envelope.

pub mod agents;
pub mod enroll;
pub mod jwks;
pub mod roles;
pub mod session;

use actix_web::web;

use crate::openapi::ApiDoc;

/// Registers every route of the service: the operations of [`ApiDoc`] and `/openapi.json`
/// (health, readiness and metrics are added by startup).
pub fn configure(cfg: &mut web::ServiceConfig) {
    tessera_http::openapi::configure::<ApiDoc>(cfg);
}
