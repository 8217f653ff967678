//! Shared application state.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tessera_http::metrics::prometheus::{IntCounterVec, Opts, Registry as PromRegistry};

use crate::config::Config;
use crate::keys::KeyStore;
use crate::registry::Registry;

/// Service counters (exported on `/metrics` next to the RED metrics).
#[derive(Debug, Clone)]
pub struct Metrics {
    issued: IntCounterVec,
    denied: IntCounterVec,
}

impl Metrics {
    /// Registers `peer_tokens_issued_total{scope}` and `peer_token_denials_total{reason}`.
    ///
    /// # Errors
    /// When a name is already registered.
    pub fn register(registry: &PromRegistry) -> anyhow::Result<Self> {
        let issued = IntCounterVec::new(
            Opts::new(
                "peer_tokens_issued_total",
                "Peer tokens issued, by requested scope.",
            ),
            &["scope"],
        )?;
        let denied = IntCounterVec::new(
            Opts::new(
                "peer_token_denials_total",
                "Peer-token requests refused, by reason.",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(issued.clone()))?;
        registry.register(Box::new(denied.clone()))?;
        Ok(Self { issued, denied })
    }

    /// Counts an issued token once per scope it carries.
    pub fn issued(&self, scopes: &[String]) {
        for s in scopes {
            self.issued.with_label_values(&[s.as_str()]).inc();
        }
    }

    /// Counts a refusal (`reason` is one of the documented reasons, so cardinality is bounded).
    pub fn denied(&self, reason: &str) {
        self.denied.with_label_values(&[reason]).inc();
    }
}

/// Everything handlers share.
pub struct AppState {
    /// Settings.
    pub config: Arc<Config>,
    /// Registry look-ups (cached) and the pool.
    pub registry: Registry,
    /// Signing keys.
    pub keys: KeyStore,
    /// Counters.
    pub metrics: Metrics,
    /// `PEER_TOKEN_SCOPES`, parsed.
    pub known_scopes: Vec<String>,
}

impl AppState {
    /// The one place request handling reads the clock.
    pub fn now(&self) -> DateTime<Utc> {
        tessera_service::now()
    }
}
