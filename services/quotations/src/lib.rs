//! Tessera quotations: market quotes from four providers with fallback (seed 001).
//!
//! Current quotes over AwesomeAPI, Alpha Vantage, Yahoo Finance and Stooq with fallback; stored
//! history with Laravel's pagination; personal access tokens; admin soft deletes and restores;
//! the API throttle; web session auth with CSRF, dashboards and auto-collect. See
//! `docs/quotations.md`.

pub mod caller;
pub mod cli;
pub mod collect;
pub mod config;
pub mod counts;
pub mod db;
pub mod domain;
pub mod error;
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
pub mod throttle;
pub mod web;
