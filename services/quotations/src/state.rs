//! Shared application state.

use std::sync::Arc;

use tessera_db::DbPool;

use crate::config::Config;
use crate::market::MarketData;
use crate::providers::Providers;

/// Everything handlers share.
pub struct AppState {
    /// Settings.
    pub config: Arc<Config>,
    /// Database pool.
    pub pool: DbPool,
    /// Symbol lists.
    pub market: Arc<MarketData>,
    /// Argon2id hasher (token issuance checks passwords).
    pub hasher: tessera_password::Hasher,
    /// Cached list totals.
    pub counts: crate::counts::CountCache,
    /// Provider clients.
    pub providers: Providers,
    /// Wakes the outbox relay after a commit that wrote events.
    pub relay_wake: std::sync::Arc<tokio::sync::Notify>,
    /// Outgoing e-mail.
    pub mailer: crate::mail::Mailer,
    /// Signs e-mail verification links (derived from `APP_KEY`).
    pub signing_key: aws_lc_rs::hmac::Key,
}
