//! quotations integration tests: the real server on the real PostgreSQL; the market-data
//! providers are a local HTTP stub (wiremock) replaying their real response formats.

#![expect(
    clippy::disallowed_methods,
    reason = "integration tests drive a real server in real time: the wall clock is their input"
)]
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod access;
mod collect;
mod contract;
mod helpers;
mod history;
mod pager;
mod providers;
mod quote;
mod web;
