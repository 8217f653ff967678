//! Tessera identity: multi-tenant agent login with TOTP MFA, sessions and role assignments
//! (seed 002).
//!
//! Every endpoint is under `/tenants/{tenant_slug}`. An agent logs in with e-mail and
//! password (Argon2id); when MFA is on, the session waits for a TOTP or recovery code before
//! an access token (RFC 9068 JWT, ES256) is issued. Admins of a tenant manage its role
//! assignments; role changes and disabled agents are published as events. See `docs/identity.md`.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod mfa;
pub mod openapi;
pub mod operations;
pub mod password;
pub mod provision;
pub mod routes;
pub mod startup;
pub mod state;
