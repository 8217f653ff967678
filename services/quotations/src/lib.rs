//! Tessera quotations: market quotes from four providers with fallback (seed 001).
//!
//! Built so far (issue #6, first part): symbol normalisation and type inference from the
//! market-data file, the four provider clients with their real response formats, the fallback
//! chains and error mapping, and `GET /api/quotation/{symbol}`. See `docs/quotations.md`.

pub mod auth;
pub mod cli;
pub mod collect;
pub mod config;
pub mod counts;
pub mod db;
pub mod events;
pub mod mail;
pub mod market;
pub mod openapi;
pub mod providers;
pub mod quote;
pub mod reconcile;
pub mod routes;
pub mod scheduler;
pub mod startup;
pub mod state;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod web;
