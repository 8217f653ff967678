//! Tessera credential broker (seed 003): a code sandbox's auth proxy asks `POST /api/token`
//! for an upstream access token; the sandbox's binding decides (every check fails closed), the
//! wallet supplies the owner's token, and every request is audited and rate limited.
//!
//! Work in progress (issue #5): the token endpoint, audit, rate limit, static wallet and the
//! identity-event consumer are built; the OAuth wallet and the operator API are not yet.

pub mod auth;
pub mod cli;
pub mod config;
pub mod consumer;
pub mod db;
pub mod domain;
pub mod error;
pub mod hosts;
pub mod openapi;
pub mod routes;
pub mod startup;
pub mod state;
pub mod wallet;
