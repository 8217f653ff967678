//! The signing key set, reloaded from `JWT_SIGNING_KEYS_DIR` so rotation needs no restart.
//!
//! Rotation (docs/control-plane/peer-token.md): `control-plane keys rotate --dir …` writes a new
//! key that activates after `JWT_KEY_PUBLISH_LEAD_SECONDS` and schedules the current one to
//! retire then; see [`tessera_jwt::store`].

use std::time::Duration;

pub use tessera_jwt::KeyStore;

use crate::config::{AppEnv, Config};

/// Loads the keys the configuration names; an ephemeral ES256 key outside production.
///
/// # Errors
/// When the directory cannot be loaded, or no directory is set in production.
pub fn key_store(cfg: &Config) -> anyhow::Result<KeyStore> {
    cfg.keys
        .open(
            cfg.base.app_env == AppEnv::Production,
            Duration::from_secs(cfg.peer_token_max_ttl_seconds),
        )
        .map_err(anyhow::Error::msg)
}
