//! identity integration tests: the real server, PostgreSQL and RabbitMQ.

#![expect(
    clippy::disallowed_methods,
    reason = "integration tests drive a real server in real time: the wall clock is their input"
)]
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
