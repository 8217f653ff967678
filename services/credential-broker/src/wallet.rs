//! The wallet: the user's real upstream access token for (user, upstream, scopes).
//!
//! Backends: `static` (a configured token per upstream host, for local use; seed 003
//! milestone 2). The `oauth` backend (refresh_token grant against each upstream's token
//! endpoint, encrypted credentials) is not built yet: see `docs/credential-broker.md`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use secrecy::SecretString;

/// An upstream access token. `Debug` never shows the value.
pub struct UpstreamToken {
    /// The token.
    pub value: SecretString,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// Why the wallet has no token.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// No credential is stored for this user and upstream.
    #[error("no credential for this user and upstream")]
    NoCredential,
    /// The upstream token endpoint failed or refused (message safe to log, no secrets).
    #[error("upstream token endpoint: {0}")]
    Upstream(String),
}

/// The wallet backend.
pub enum Wallet {
    /// A fixed token per upstream host, valid `ttl` from each request.
    Static {
        /// host → token.
        tokens: BTreeMap<String, SecretString>,
        /// Reported lifetime.
        ttl: std::time::Duration,
    },
}

impl Wallet {
    /// A token for `host` (normalised) on behalf of the binding's owner.
    ///
    /// # Errors
    /// [`WalletError`].
    pub async fn token(
        &self,
        _tenant: &str,
        _agent_id: uuid::Uuid,
        host: &str,
        _scopes: &[String],
        now: DateTime<Utc>,
    ) -> Result<UpstreamToken, WalletError> {
        match self {
            Self::Static { tokens, ttl } => {
                let value = tokens.get(host).cloned().ok_or(WalletError::NoCredential)?;
                Ok(UpstreamToken {
                    value,
                    expires_at: now + *ttl,
                })
            }
        }
    }
}
