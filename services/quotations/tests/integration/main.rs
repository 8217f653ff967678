//! quotations integration tests: the real server on the real PostgreSQL; the market-data
//! providers are a local HTTP stub (wiremock) replaying their real response formats.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[expect(clippy::disallowed_methods, reason = "tests run in real time")]
mod access;
#[expect(clippy::disallowed_methods, reason = "tests run in real time")]
mod collect;
#[expect(clippy::disallowed_methods, reason = "tests run in real time")]
mod contract;
mod helpers;
mod history;
mod pager;
mod providers;
mod quote;
#[expect(clippy::disallowed_methods, reason = "tests run in real time")]
mod web;
