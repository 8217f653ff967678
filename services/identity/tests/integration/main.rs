//! identity integration tests: the real server, PostgreSQL and RabbitMQ.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code"
)]

mod flow;
mod helpers;
mod isolation;
mod lockout;
mod revocation;
mod roles;
mod service;
