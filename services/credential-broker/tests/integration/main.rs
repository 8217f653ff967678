//! credential-broker integration tests: the real server, PostgreSQL and RabbitMQ.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

mod admin;
#[expect(clippy::disallowed_methods, reason = "tests run in real time")]
mod events;
mod helpers;
mod ratelimit;
mod roles;
mod secrecy;
mod service;
#[expect(clippy::disallowed_methods, reason = "tests run in real time")]
mod token;
#[expect(clippy::disallowed_methods, reason = "tests run in real time")]
mod wallet;
