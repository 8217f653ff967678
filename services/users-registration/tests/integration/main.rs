//! users-registration integration tests: the real server, PostgreSQL and RabbitMQ; only the
//! notification service is a local HTTP stub (wiremock).

#![expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

mod access;
mod documents;
mod helpers;
#[expect(clippy::disallowed_methods, reason = "tests run in real time")]
mod idempotency;
mod login_limits;
mod notifications;
mod password_setup;
mod queue;
mod scenarios;
mod service;
