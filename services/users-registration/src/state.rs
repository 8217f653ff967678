//! Shared application state.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tessera_db::DbPool;
use tessera_jwt::{KeySet, Verifier};
use tessera_password::Hasher;
use tokio::sync::Notify;

use crate::config::Config;
use crate::document::DocumentKeys;
use crate::validation::Schemas;

/// Everything handlers share.
pub struct AppState {
    /// Settings.
    pub config: Arc<Config>,
    /// Database pool.
    pub pool: DbPool,
    /// Argon2id hasher (dedicated threads, bounded queue).
    pub hasher: Hasher,
    /// The HS256 key (`JWT_SECRET`) that signs access tokens.
    pub keys: Arc<KeySet>,
    /// Verifies access tokens.
    pub verifier: Arc<Verifier>,
    /// Seals and indexes `documentId`.
    pub documents: Arc<DocumentKeys>,
    /// The compiled request-body schemas.
    pub schemas: Arc<Schemas>,
    /// Wakes the outbox relay after a commit that wrote events.
    pub relay_wake: Arc<Notify>,
    /// `logins_total{outcome}` (`docs/metrics.md`).
    pub logins: tessera_http::metrics::prometheus::IntCounterVec,
}

impl AppState {
    /// The one place request handling reads the clock.
    pub fn now(&self) -> DateTime<Utc> {
        tessera_service::now()
    }
}
