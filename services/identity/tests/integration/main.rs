//! identity integration tests: the real server, PostgreSQL and RabbitMQ.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code"
)]

mod agents_admin;
#[expect(clippy::disallowed_methods, reason = "tests run in real time")]
mod enrollment;
#[expect(clippy::disallowed_methods, reason = "tests run in real time")]
mod flow;
#[expect(clippy::disallowed_methods, reason = "tests run in real time")]
mod helpers;
mod isolation;
#[expect(clippy::disallowed_methods, reason = "tests run in real time")]
mod lockout;
mod revocation;
mod roles;
mod service;
