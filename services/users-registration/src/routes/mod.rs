//! HTTP routes (seed 004 "API REST"), one module per resource. Each operation is declared
//! once, in [`crate::openapi::ApiDoc`], and registered from there
//! ([`crate::openapi::configure`]).

pub mod listing;
pub mod password;
pub mod registrations;
pub mod session;
pub mod users;
