//! The signing key set, reloaded from `JWT_SIGNING_KEYS_DIR` so rotation needs no restart.
//!
//! Rotation (docs/control-plane/peer-token.md): `control-plane keys rotate --dir …` writes a new
//! key that activates after `JWT_KEY_PUBLISH_LEAD_SECONDS` and schedules the current one to
//! retire then; every replica picks the change up within `JWT_KEYS_RELOAD_SECONDS`, publishes
//! the new key at once, signs with it from its activation, and keeps the old one in the JWKS
//! until the last token it signed has expired.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tessera_jwt::{Algorithm, KeySet, SigningKey};

use crate::config::{AppEnv, Config};

/// The current [`KeySet`], swappable by the reload task.
#[derive(Debug, Clone)]
pub struct KeyStore {
    current: Arc<RwLock<Arc<KeySet>>>,
    dir: Option<PathBuf>,
    lead: Duration,
    max_ttl: Duration,
}

impl KeyStore {
    /// Loads the keys the configuration names; an ephemeral ES256 key outside production.
    ///
    /// # Errors
    /// When the directory cannot be loaded, or no directory is set in production.
    pub fn from_config(cfg: &Config) -> anyhow::Result<Self> {
        let lead = Duration::from_secs(cfg.jwt_key_publish_lead_seconds);
        let max_ttl = Duration::from_secs(cfg.peer_token_max_ttl_seconds);
        let set = match &cfg.jwt_signing_keys_dir {
            Some(dir) => KeySet::load_dir(dir, lead, max_ttl).map_err(|e| {
                anyhow::anyhow!("invalid environment variable JWT_SIGNING_KEYS_DIR: {e}")
            })?,
            None if cfg.app_env == AppEnv::Production => {
                anyhow::bail!(
                    "missing environment variable JWT_SIGNING_KEYS_DIR (required when APP_ENV=production)"
                )
            }
            None => {
                let (key, _) = SigningKey::generate(Algorithm::ES256)?;
                tracing::warn!(
                    kid = key.kid(),
                    "JWT_SIGNING_KEYS_DIR is not set: signing with an EPHEMERAL key. Tokens will not verify \
                     after a restart or across replicas. Never do this in production."
                );
                KeySet::new(vec![key], lead, max_ttl)
            }
        };
        Ok(Self {
            current: Arc::new(RwLock::new(Arc::new(set))),
            dir: cfg.jwt_signing_keys_dir.clone(),
            lead,
            max_ttl,
        })
    }

    /// A store over a fixed set (tests, benchmarks).
    pub fn fixed(set: KeySet) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(set))),
            dir: None,
            lead: Duration::ZERO,
            max_ttl: Duration::ZERO,
        }
    }

    /// The current key set.
    pub fn get(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Re-reads the key directory; keeps the previous set when that fails.
    ///
    /// # Errors
    /// The load error (the previous set stays in use).
    pub fn reload(&self) -> anyhow::Result<()> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let set = KeySet::load_dir(dir, self.lead, self.max_ttl)?;
        if let Ok(mut g) = self.current.write() {
            *g = Arc::new(set);
        }
        Ok(())
    }

    /// Reloads every `every` until the process ends (no-op without a directory).
    pub fn spawn_reloader(&self, every: Duration) {
        if self.dir.is_none() || every.is_zero() {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = store.reload() {
                    tracing::error!(error = %e, "reloading signing keys failed; keeping the previous set");
                }
            }
        });
    }
}
