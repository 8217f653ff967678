//! Configuration from the environment (ARCHITECTURE.md §2 "Configuration"). Every variable,
//! its default and its meaning is listed on [`Config`] and in `services/credential-broker/.env.example`.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
pub use tessera_http::config::{AppEnv, ServiceSettings};

/// `WALLET_BACKEND`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WalletBackend {
    /// Configured tokens (`WALLET_STATIC_TOKENS`), for local use.
    #[default]
    Static,
    /// Refresh-token exchanges against each upstream's token endpoint.
    Oauth,
}

tessera_http::service_config! {
    /// The credential broker's settings. Variable names are the field names upper-cased.
    pub struct Config {
        /// `BROKER_CALLER_TOKEN` (required): the service credential the sandboxes' auth proxy
        /// presents as `Authorization: Bearer …` on `POST /api/token`.
        #[serde(serialize_with = "tessera_http::config::show::secret")]
        pub broker_caller_token: SecretString,
        /// `BROKER_ADMIN_TOKEN`: bearer credential of the operator API; unset disables it.
        #[serde(default, serialize_with = "tessera_http::config::show::secret_if_set")]
        pub broker_admin_token: Option<SecretString>,
        /// `BROKER_AUDIT_HMAC_KEY` (required): key of the HMAC-SHA256 of issued tokens kept in the
        /// audit log for correlation (at least 32 bytes).
        #[serde(serialize_with = "tessera_http::config::show::secret")]
        pub broker_audit_hmac_key: SecretString,
        /// `TOKEN_RATE_LIMIT_PER_MINUTE`: token requests per sandbox per minute, across replicas
        /// (default 60).
        #[serde_inline_default(60)]
        pub token_rate_limit_per_minute: u32,
        /// `WALLET_BACKEND`: `static` (default) or `oauth`.
        #[serde(default)]
        pub wallet_backend: WalletBackend,
        /// `WALLET_OAUTH_UPSTREAMS`: the `oauth` backend's clients, JSON
        /// `{"<host>": {"token_endpoint": "https://…", "client_id": "…", "client_secret": "…"}}`.
        #[serde(default, serialize_with = "tessera_http::config::show::secret_if_set")]
        pub wallet_oauth_upstreams: Option<SecretString>,
        /// `BROKER_WALLET_ENCRYPTION_KEY`: 32 random bytes, base64; seals the oauth wallet's
        /// tokens at rest (required with `WALLET_BACKEND=oauth`).
        #[serde(default, serialize_with = "tessera_http::config::show::secret_if_set")]
        pub broker_wallet_encryption_key: Option<SecretString>,
        /// `WALLET_MEMORY_CACHE_SECONDS`: how long each replica serves an oauth access token it
        /// already holds from memory before re-reading the wallet row (default 30; 0 disables).
        #[serde_inline_default(30)]
        pub wallet_memory_cache_seconds: u64,
        /// `WALLET_STATIC_TOKENS`: the `static` wallet backend's token per upstream host,
        /// `host=token,host=token` (local use; seed 003 milestone 2).
        #[serde(default, serialize_with = "tessera_http::config::show::secret_if_set")]
        pub wallet_static_tokens: Option<SecretString>,
        /// `WALLET_STATIC_TTL_SECONDS`: lifetime reported for static tokens (default 3600).
        #[serde_inline_default(3600)]
        pub wallet_static_ttl_seconds: u64,
        /// `BROKER_IDENTITY_QUEUE`: durable queue of the identity-event consumer (default
        /// `credential-broker.identity`; empty disables the consumer).
        #[serde_inline_default(crate::consumer::QUEUE.to_owned())]
        pub broker_identity_queue: String,
    }
    default_port = 8084, finish = Config::validate
}

impl Config {
    /// Checks values.
    ///
    /// # Errors
    /// One line naming the offending variable.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.broker_caller_token.expose_secret().len() < 16 {
            anyhow::bail!(
                "invalid environment variable BROKER_CALLER_TOKEN: at least 16 characters"
            );
        }
        if self.broker_audit_hmac_key.expose_secret().len() < 32 {
            anyhow::bail!("invalid environment variable BROKER_AUDIT_HMAC_KEY: at least 32 bytes");
        }
        if self.token_rate_limit_per_minute == 0 {
            anyhow::bail!("invalid environment variable TOKEN_RATE_LIMIT_PER_MINUTE: must be > 0");
        }
        self.static_tokens()?;
        if self.wallet_backend == WalletBackend::Oauth {
            self.oauth_clients()?;
            self.wallet_key()?;
        }
        Ok(())
    }

    /// `WALLET_STATIC_TOKENS` parsed into host → token (hosts normalised).
    ///
    /// # Errors
    /// A malformed entry.
    pub fn static_tokens(&self) -> anyhow::Result<BTreeMap<String, SecretString>> {
        let mut out = BTreeMap::new();
        let Some(raw) = &self.wallet_static_tokens else {
            return Ok(out);
        };
        for entry in raw
            .expose_secret()
            .split(',')
            .filter(|e| !e.trim().is_empty())
        {
            let (host, token) = entry.split_once('=').ok_or_else(|| {
                anyhow::anyhow!(
                    "invalid environment variable WALLET_STATIC_TOKENS: expected host=token"
                )
            })?;
            let host = crate::hosts::normalise(host).ok_or_else(|| {
                anyhow::anyhow!("invalid environment variable WALLET_STATIC_TOKENS: bad host")
            })?;
            out.insert(host, SecretString::from(token.trim().to_owned()));
        }
        Ok(out)
    }

    /// `WALLET_OAUTH_UPSTREAMS` parsed (hosts normalised).
    ///
    /// # Errors
    /// Malformed JSON or a bad host.
    pub fn oauth_clients(&self) -> anyhow::Result<BTreeMap<String, crate::wallet::OAuthClient>> {
        let Some(raw) = &self.wallet_oauth_upstreams else {
            return Ok(BTreeMap::new());
        };
        let parsed: BTreeMap<String, crate::wallet::OAuthClient> =
            serde_json::from_str(raw.expose_secret()).map_err(|e| {
                anyhow::anyhow!(
                    "invalid environment variable WALLET_OAUTH_UPSTREAMS: {}",
                    e.classify() as u8
                )
            })?;
        parsed
            .into_iter()
            .map(|(host, c)| {
                let host = crate::hosts::normalise(&host).ok_or_else(|| {
                    anyhow::anyhow!(
                        "invalid environment variable WALLET_OAUTH_UPSTREAMS: bad host {host:?}"
                    )
                })?;
                Ok((host, c))
            })
            .collect()
    }

    /// `BROKER_WALLET_ENCRYPTION_KEY` as a sealing key.
    ///
    /// # Errors
    /// Missing or not base64 of 32 bytes.
    pub fn wallet_key(&self) -> anyhow::Result<tessera_db::sealed::SealingKey> {
        let raw = self.broker_wallet_encryption_key.as_ref().ok_or_else(|| {
            anyhow::anyhow!("missing environment variable BROKER_WALLET_ENCRYPTION_KEY (required with WALLET_BACKEND=oauth)")
        })?;
        tessera_db::sealed::SealingKey::from_base64(raw.expose_secret()).map_err(|_| {
            anyhow::anyhow!("invalid environment variable BROKER_WALLET_ENCRYPTION_KEY: must be 32 bytes, base64")
        })
    }

    /// Lifetime of static tokens.
    pub fn static_ttl(&self) -> Duration {
        Duration::from_secs(self.wallet_static_ttl_seconds)
    }

    /// A configuration for tests: the given database and broker, fixed caller, operator and
    /// audit keys, no wallet cache, no identity consumer (a test starts its own); everything
    /// else its documented default (the shared settings: [`ServiceSettings::for_tests`], whose
    /// consumer queues expire once unused).
    ///
    /// # Errors
    /// As [`tessera_http::config::for_tests`].
    pub fn for_tests(database_url: &str, amqp_url: &str) -> Result<Self, String> {
        tessera_http::config::for_tests(
            database_url,
            amqp_url,
            &[
                ("BROKER_CALLER_TOKEN", "test-caller-token-0123456789"),
                ("BROKER_ADMIN_TOKEN", "test-admin-token-0123456789"),
                (
                    "BROKER_AUDIT_HMAC_KEY",
                    "test-audit-hmac-key-0123456789abcdef",
                ),
                ("WALLET_MEMORY_CACHE_SECONDS", "0"),
                ("BROKER_IDENTITY_QUEUE", ""),
            ],
        )
    }
}
