//! A [`KeySet`] reloaded from a key directory, so rotation needs no restart.
//!
//! Rotation (`rotate_dir`) writes a new key that activates after the publish lead and
//! schedules the current one to retire then; every replica picks the change up within the
//! reload interval, publishes the new key at once, signs with it from its activation, and
//! keeps the old one in the JWKS until the last token it signed has expired.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::{Algorithm, KeyError, KeySet, SigningKey};

/// The current [`KeySet`], swappable by the reload task. Cloning shares the set.
#[derive(Debug, Clone)]
pub struct KeyStore {
    current: Arc<RwLock<Arc<KeySet>>>,
    dir: Option<PathBuf>,
    lead: Duration,
    max_ttl: Duration,
}

impl KeyStore {
    /// Loads `dir` (see [`KeySet::load_dir`]); without a directory, generates an ephemeral
    /// ES256 key when `allow_ephemeral` (logging a warning), else fails.
    ///
    /// `lead` is how long a new key is published before it signs; `max_ttl` the longest token
    /// lifetime, so a retired key stays published until its last token has expired.
    ///
    /// # Errors
    /// [`KeyError`] when the directory cannot be loaded, or [`KeyError::NoKey`] when there is
    /// no directory and ephemeral keys are not allowed.
    pub fn open(
        dir: Option<&Path>,
        allow_ephemeral: bool,
        lead: Duration,
        max_ttl: Duration,
    ) -> Result<Self, KeyError> {
        let set = match dir {
            Some(dir) => KeySet::load_dir(dir, lead, max_ttl)?,
            None if !allow_ephemeral => return Err(KeyError::NoKey),
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
            dir: dir.map(Path::to_path_buf),
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
    pub fn reload(&self) -> Result<(), KeyError> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let set = KeySet::load_dir(dir, self.lead, self.max_ttl)?;
        if let Ok(mut g) = self.current.write() {
            *g = Arc::new(set);
        }
        Ok(())
    }

    /// Reloads every `every` until the process ends (no-op without a directory). Call from
    /// inside a tokio runtime.
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
