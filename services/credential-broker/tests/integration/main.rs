//! credential-broker integration tests: the real server, PostgreSQL and RabbitMQ.

#![expect(
    clippy::disallowed_methods,
    reason = "integration tests drive a real server in real time: the wall clock is their input"
)]
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

mod admin;
mod events;
mod helpers;
mod ratelimit;
mod secrecy;
mod service;
mod token;
mod wallet;
