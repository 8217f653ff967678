//! HTTP routes, all under `/tenants/{tenant_slug}` (seed 002), one module per resource. Each
//! operation is declared once, in [`crate::openapi::ApiDoc`], and registered from there
//! ([`crate::openapi::configure`]).

pub mod agent_enrollment;
pub mod agents;
pub mod enroll;
pub mod jwks;
pub mod roles;
pub mod session;
