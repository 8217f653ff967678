//! Tessera users-registration: rural-producer sign-up, analyst approval, JWT login, user events
//! and notifications (seed 004, "ECO LEDGER").
//!
//! A producer submits `POST /registrations` (JSON Schema validated, idempotent with
//! `Idempotency-Key`); the user is `PENDING` until an analyst approves or rejects it with
//! `PATCH /users/{id}/status`. Approved users log in (`POST /auth/login`) for an HS256 access
//! token and a rotating refresh token; one who signed up without a password (seed 004's own
//! payload) sets it first with the one-time link of their approval notification
//! (`POST /auth/password`). `users.user.registered/approved/rejected` go out through
//! the outbox; the notification dispatcher turns them into calls to `NOTIFY_ENDPOINT`.
//! `documentId` is sealed at rest with a blind index for uniqueness. See
//! `docs/users-registration.md`.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod document;
pub mod domain;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod notify;
pub mod openapi;
pub mod operations;
pub mod provision;
pub mod routes;
pub mod startup;
pub mod state;
pub mod validation;
pub mod view;
