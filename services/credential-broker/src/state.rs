//! Shared application state.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tessera_db::DbPool;
use tessera_events::GroupCommit;

use crate::config::Config;
use crate::db::audit_log::AuditBatch;
use crate::wallet::Wallet;

/// Everything handlers share.
pub struct AppState {
    /// Settings.
    pub config: Arc<Config>,
    /// Database pool.
    pub pool: DbPool,
    /// Pool for the rate-limit counters, whose sessions run with `synchronous_commit=off`:
    /// a counter increment need not wait for the WAL flush (a crash may forget the last few).
    pub counters: DbPool,
    /// The wallet backend.
    pub wallet: Wallet,
    /// HMAC key of issued tokens in the audit log.
    pub audit_key: aws_lc_rs::hmac::Key,
    /// The audit log's group commit (this worker's writer): audit rows with their events.
    pub audit: GroupCommit<AuditBatch>,
    /// `broker_tokens_total{outcome}` (`docs/metrics.md`).
    pub tokens: tessera_http::metrics::prometheus::IntCounterVec,
}

impl AppState {
    /// The one place request handling reads the clock.
    pub fn now(&self) -> DateTime<Utc> {
        tessera_service::now()
    }
}
