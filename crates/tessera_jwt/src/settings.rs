//! A token issuer's signing-key settings (control-plane and identity read the same ones).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::store::KeyStore;

fn default_lead() -> u64 {
    600
}
fn default_reload() -> u64 {
    30
}
fn default_jwks_max_age() -> u64 {
    300
}

/// The signing-key settings, read from the environment beside the service's own (each field is
/// its variable upper-cased).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct KeySettings {
    /// `JWT_SIGNING_KEYS_DIR`: directory of PKCS#8 PEM keys with an optional `keys.json`
    /// schedule. Required in production; elsewhere an ephemeral ES256 key is generated (with a
    /// warning).
    #[serde(default)]
    pub jwt_signing_keys_dir: Option<PathBuf>,
    /// `JWT_KEY_PUBLISH_LEAD_SECONDS`: a new key is in the JWKS this long before it signs
    /// (default 600).
    #[serde(default = "default_lead")]
    pub jwt_key_publish_lead_seconds: u64,
    /// `JWT_KEYS_RELOAD_SECONDS`: how often the key directory is re-read (default 30).
    #[serde(default = "default_reload")]
    pub jwt_keys_reload_seconds: u64,
    /// `JWKS_MAX_AGE_SECONDS`: `Cache-Control: max-age` of the JWKS in seconds (default 300;
    /// keep it below the lead, so a client sees a new key before it signs).
    #[serde(default = "default_jwks_max_age")]
    pub jwks_max_age_seconds: u64,
}

impl Default for KeySettings {
    /// No directory (an ephemeral key outside production) and the documented defaults.
    fn default() -> Self {
        Self {
            jwt_signing_keys_dir: None,
            jwt_key_publish_lead_seconds: default_lead(),
            jwt_keys_reload_seconds: default_reload(),
            jwks_max_age_seconds: default_jwks_max_age(),
        }
    }
}

impl KeySettings {
    /// For tests: an ephemeral key, no lead, the default reload and cache times.
    pub fn for_tests() -> Self {
        Self {
            jwt_key_publish_lead_seconds: 0,
            ..Self::default()
        }
    }

    /// Checks the settings for a production deployment or not.
    ///
    /// # Errors
    /// One line naming `JWT_SIGNING_KEYS_DIR` when it is missing in production.
    pub fn check(&self, production: bool) -> Result<(), String> {
        if production && self.jwt_signing_keys_dir.is_none() {
            return Err(
                "missing environment variable JWT_SIGNING_KEYS_DIR (required when APP_ENV=production)"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// Opens the key directory (an ephemeral ES256 key outside production when none is set) for
    /// tokens living at most `max_ttl`.
    ///
    /// # Errors
    /// One line naming `JWT_SIGNING_KEYS_DIR` when its keys cannot be loaded.
    pub fn open(&self, production: bool, max_ttl: Duration) -> Result<KeyStore, String> {
        KeyStore::open(
            self.jwt_signing_keys_dir.as_deref(),
            !production,
            Duration::from_secs(self.jwt_key_publish_lead_seconds),
            max_ttl,
        )
        .map_err(|e| format!("invalid environment variable JWT_SIGNING_KEYS_DIR: {e}"))
    }

    /// How often the directory is re-read (`KeyStore::spawn_reloader`).
    pub fn reload_every(&self) -> Duration {
        Duration::from_secs(self.jwt_keys_reload_seconds)
    }
}
