//! Shared application state.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tessera_db::DbPool;
use tessera_db::sealed::SealingKey;
use tessera_jwt::KeyStore;
use tokio::sync::Notify;

use crate::config::Config;
use crate::password::Hasher;

/// Everything handlers share.
pub struct AppState {
    /// Settings.
    pub config: Arc<Config>,
    /// Database pool.
    pub pool: DbPool,
    /// Argon2id hasher (blocking pool, bounded).
    pub hasher: Hasher,
    /// Access-token signing keys.
    pub keys: KeyStore,
    /// Seals TOTP secrets at rest.
    pub mfa_key: Arc<SealingKey>,
    /// `IDENTITY_ROLES`, parsed.
    pub roles: Vec<String>,
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
