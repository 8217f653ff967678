//! Tessera control plane: the white-label (WL) registry and the peer-token issuer (seed 000).
//!
//! A WL that imports another WL's offers asks `POST /wls/{importerId}/peer-token` for a
//! short-lived JWT (RFC 9068 access token, ES256 by default) addressed to the target WL, which
//! verifies it offline against `GET /.well-known/jwks.json`. See `docs/control-plane/`.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod keys;
pub mod openapi;
pub mod registry;
pub mod routes;
pub mod scopes;
pub mod startup;
pub mod state;
pub mod tls;
