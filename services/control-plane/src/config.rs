//! Configuration from the environment (ARCHITECTURE.md §2 "Configuration").
//!
//! Every variable, its default and its meaning is listed on [`Config`] and in
//! `services/control-plane/.env.example`. A missing or invalid variable stops start-up with
//! one line naming it.

use std::path::PathBuf;
use std::time::Duration;

pub use tessera_http::config::{AppEnv, ServiceSettings};

tessera_http::service_config! {
    /// The control plane's settings. Variable names are the field names upper-cased.
    pub struct Config {
        /// `CP_ISSUER`: the `iss` of peer tokens, this service's public base URL (default `http://localhost:8081`).
        #[serde_inline_default("http://localhost:8081".to_owned())]
        pub cp_issuer: String,
        /// `CP_ADMIN_TOKEN`: bearer credential of the operator API; unset disables it.
        #[serde(default, serialize_with = "tessera_http::config::show::secret_if_set")]
        pub cp_admin_token: Option<String>,
        /// `PEER_TOKEN_TTL_SECONDS`: default token lifetime (default 300).
        #[serde_inline_default(300)]
        pub peer_token_ttl_seconds: u64,
        /// `PEER_TOKEN_MAX_TTL_SECONDS`: largest `ttlSeconds` a caller may ask for (default 900).
        #[serde_inline_default(900)]
        pub peer_token_max_ttl_seconds: u64,
        /// `PEER_TOKEN_SCOPES`: the known scopes, comma-separated (default `offers:sync,trader:purchase`).
        #[serde_inline_default("offers:sync,trader:purchase".to_owned())]
        pub peer_token_scopes: String,
        /// `JWT_SIGNING_KEYS_DIR`, `JWT_KEY_PUBLISH_LEAD_SECONDS`, `JWT_KEYS_RELOAD_SECONDS`,
        /// `JWKS_MAX_AGE_SECONDS`: see [`tessera_jwt::KeySettings`].
        #[serde(skip_deserializing, flatten)]
        pub keys: tessera_jwt::KeySettings,
        /// `REGISTRY_CACHE_TTL_MS`: how long a replica caches registry look-ups (default 1000; 0 disables).
        #[serde_inline_default(1000)]
        pub registry_cache_ttl_ms: u64,
        /// `MTLS_TRUST_DOMAIN`: SPIFFE trust domain of WL certificates (default `tessera`).
        #[serde_inline_default("tessera".to_owned())]
        pub mtls_trust_domain: String,
        /// `CP_TRUST_FORWARDED_CLIENT_CERT`: the gateway in front terminates mTLS and sets
        /// `X-Forwarded-Client-Cert` itself from the certificate it verified (default false: the
        /// header is ignored, whoever sends it). Even when true, it is read only on requests that
        /// carry a valid `X-Gateway-Secret` (issue #17; `docs/gateway.md`).
        #[serde(default)]
        pub cp_trust_forwarded_client_cert: bool,
        /// `TLS_CERT_FILE`: PEM certificate chain; with `TLS_KEY_FILE`, the service serves HTTPS itself.
        #[serde(default)]
        pub tls_cert_file: Option<PathBuf>,
        /// `TLS_KEY_FILE`: PEM private key of `TLS_CERT_FILE`.
        #[serde(default)]
        pub tls_key_file: Option<PathBuf>,
        /// `TLS_CLIENT_CA_FILE`: PEM CA(s) that sign WL client certificates; enables mTLS callers.
        #[serde(default)]
        pub tls_client_ca_file: Option<PathBuf>,
        /// `OUTBOX_BATCH_SIZE`: most events per group-committed insert (default 256).
        #[serde_inline_default(256)]
        pub outbox_batch_size: usize,
        /// `OUTBOX_WRITERS`: concurrent group-commit inserts per HTTP worker (default 1: fewer, larger batches measured fastest; each writer has its own connection).
        #[serde_inline_default(1)]
        pub outbox_writers: usize,
    }
    default_port = 8081, finish = Config::complete
}

impl Config {
    /// Reads the signing-key settings (`JWT_*`), then [`Self::validate`]s.
    fn complete(&mut self) -> Result<(), String> {
        let production = self.base.app_env == AppEnv::Production;
        self.keys =
            tessera_http::config::group("", |k: &tessera_jwt::KeySettings| k.check(production))?;
        self.validate().map_err(|e| e.to_string())
    }

    /// Checks relations between variables.
    ///
    /// # Errors
    /// One line naming the offending variable.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.peer_token_ttl_seconds == 0
            || self.peer_token_ttl_seconds > self.peer_token_max_ttl_seconds
        {
            anyhow::bail!(
                "invalid environment variable PEER_TOKEN_TTL_SECONDS: must be 1..=PEER_TOKEN_MAX_TTL_SECONDS"
            );
        }
        if self.known_scopes().is_empty() {
            anyhow::bail!("invalid environment variable PEER_TOKEN_SCOPES: no scope listed");
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            anyhow::bail!(
                "invalid environment variable TLS_CERT_FILE/TLS_KEY_FILE: set both or neither"
            );
        }
        if self.tls_client_ca_file.is_some() && self.tls_cert_file.is_none() {
            anyhow::bail!(
                "invalid environment variable TLS_CLIENT_CA_FILE: needs TLS_CERT_FILE and TLS_KEY_FILE"
            );
        }
        Ok(())
    }

    /// The known scopes, trimmed, without empties.
    pub fn known_scopes(&self) -> Vec<String> {
        tessera_http::config::csv_list(&self.peer_token_scopes)
    }

    /// Registry cache lifetime.
    pub fn registry_cache_ttl(&self) -> Duration {
        Duration::from_millis(self.registry_cache_ttl_ms)
    }

    /// A configuration for tests: the given database and broker, an operator token, no
    /// registry cache, two outbox writers; everything else its documented default.
    ///
    /// # Errors
    /// As [`tessera_http::config::for_tests`].
    pub fn for_tests(database_url: &str, amqp_url: &str) -> Result<Self, String> {
        let mut config: Self = tessera_http::config::for_tests(
            database_url,
            amqp_url,
            &[
                ("CP_ADMIN_TOKEN", "test-admin-token"),
                ("REGISTRY_CACHE_TTL_MS", "0"),
                ("OUTBOX_WRITERS", "2"),
            ],
        )?;
        config.keys = tessera_jwt::KeySettings::for_tests();
        Ok(config)
    }
}
