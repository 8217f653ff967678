//! HTTP routes, one module per resource. Each operation is declared once, in
//! [`crate::openapi::ApiDoc`], and registered from there ([`crate::openapi::configure`]).

pub mod audit;
pub mod bindings;
pub mod token;
pub mod wallet;
