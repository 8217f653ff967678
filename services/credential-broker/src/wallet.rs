//! The wallet: the user's real upstream access token for (user, upstream, scopes).
//!
//! Backends:
//! - `static`: a configured token per upstream host, for local use (seed 003 milestone 2);
//! - `oauth`: per upstream a token endpoint and client credentials; the stored refresh token is
//!   exchanged (refresh_token grant, RFC 6749 §6) when the cached access token is missing, was
//!   obtained for other scopes, or is within [`REFRESH_MARGIN_SECONDS`] of expiry. Concurrent
//!   requests for one credential share one refresh: in a process through a per-credential
//!   mutex, across replicas through a row lock held during the exchange. A rotated refresh
//!   token (RFC 6749 §6, "MAY issue a new refresh token") replaces the stored one in the same
//!   transaction. Both tokens are sealed at rest (AES-256-GCM, `tessera_db::sealed`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use secrecy::SecretString;
use serde::Deserialize;
use uuid::Uuid;

mod oauth;
pub use oauth::*;

/// A cached access token is refreshed when it expires within this many seconds.
pub const REFRESH_MARGIN_SECONDS: i64 = 60;

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
    /// No credential is stored for this user and upstream (or no client for the upstream).
    #[error("no credential for this user and upstream")]
    NoCredential,
    /// The token endpoint refused (RFC 6749 §5.2 `error`, e.g. `invalid_grant`); no secrets.
    #[error("upstream token endpoint refused: {0}")]
    Upstream(String),
    /// The token endpoint could not be reached, timed out or failed (5xx).
    #[error("upstream token endpoint unavailable: {0}")]
    Unavailable(String),
    /// Storage failed.
    #[error("wallet storage: {0}")]
    Storage(String),
}

impl From<diesel::result::Error> for WalletError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

/// One upstream's OAuth client (`WALLET_OAUTH_UPSTREAMS`).
#[derive(Clone, Deserialize)]
pub struct OAuthClient {
    /// The token endpoint URL.
    pub token_endpoint: String,
    /// `client_id`.
    pub client_id: String,
    /// `client_secret` (sent in the form body, RFC 6749 §2.3.1).
    pub client_secret: SecretString,
}

/// The wallet backend.
pub enum Wallet {
    /// A fixed token per upstream host, valid `ttl` from each request.
    Static {
        /// host → token.
        tokens: BTreeMap<String, SecretString>,
        /// Reported lifetime.
        ttl: Duration,
    },
    /// Real refresh-token exchanges.
    OAuth(OAuthWallet),
}

impl Wallet {
    /// A token for `host` (normalised) on behalf of the binding's owner.
    ///
    /// # Errors
    /// [`WalletError`].
    pub async fn token(
        &self,
        agent_id: Uuid,
        host: &str,
        scopes: &[String],
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
            Self::OAuth(w) => w.token(agent_id, host, scopes, now).await,
        }
    }
}

type FlightKey = (Uuid, String);

/// (agent, host, scope set) → (token, its expiry, serve from memory until).
type Remembered = HashMap<(Uuid, String, String), (SecretString, DateTime<Utc>, DateTime<Utc>)>;
