//! control-plane integration tests: the real server, PostgreSQL and RabbitMQ.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code"
)]

mod admin;
mod events;
mod helpers;
mod mtls;
#[expect(clippy::disallowed_methods, reason = "tests run in real time")]
mod peer_token;
#[expect(clippy::disallowed_methods, reason = "tests run in real time")]
mod rotation;
mod service;
