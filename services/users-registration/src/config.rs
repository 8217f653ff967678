//! Configuration from the environment (ARCHITECTURE.md §2 "Configuration").
//!
//! Every variable, its default and its meaning is listed on [`Config`] and in
//! `services/users-registration/.env.example`. A missing or invalid variable stops start-up with
//! one line naming it.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
pub use tessera_http::config::AppEnv;
use tessera_password::HashSettings;

fn default_host() -> String {
    "0.0.0.0".to_owned()
}
fn default_port() -> u16 {
    8085
}
fn default_amqp() -> String {
    "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned()
}
fn default_issuer() -> String {
    "users-registration".to_owned()
}
fn default_access_ttl() -> u64 {
    900
}
fn default_refresh_ttl() -> u64 {
    30 * 24 * 3600
}
fn default_idempotency_ttl() -> u64 {
    24 * 3600
}
fn default_idempotency_wait() -> u64 {
    10
}
fn default_notify_queue() -> String {
    crate::notify::QUEUE.to_owned()
}
fn default_notify_timeout() -> u64 {
    5
}
fn default_notify_attempts() -> u32 {
    5
}
fn default_notify_backoff() -> u64 {
    1000
}
fn default_m_cost() -> u32 {
    HashSettings::default().memory_kib
}
fn default_t_cost() -> u32 {
    HashSettings::default().iterations
}
fn default_p_cost() -> u32 {
    HashSettings::default().parallelism
}
fn default_pool() -> usize {
    10
}
fn default_shutdown() -> u64 {
    30
}

/// The users-registration service's settings. Variable names are the field names upper-cased.
#[derive(Clone, Deserialize)]
pub struct Config {
    /// `APP_ENV` = `local` | `testing` | `production` (default `local`).
    #[serde(default = "AppEnv::default_local")]
    pub app_env: AppEnv,
    /// `APP_HOST`, the listen address (default `0.0.0.0`).
    #[serde(default = "default_host")]
    pub app_host: String,
    /// `APP_PORT` (default 8085; 0 picks a free port).
    #[serde(default = "default_port")]
    pub app_port: u16,
    /// `APP_DEBUG`: include `details` in error envelopes (default false).
    #[serde(default)]
    pub app_debug: bool,
    /// `APP_WORKERS`: HTTP worker threads (default: one per CPU).
    #[serde(default)]
    pub app_workers: Option<usize>,
    /// `DATABASE_URL` (required), e.g. `postgres://postgres@127.0.0.1:5432/users_registration`.
    pub database_url: String,
    /// `DB_POOL_SIZE` (default 10).
    #[serde(default = "default_pool")]
    pub db_pool_size: usize,
    /// `RUN_MIGRATIONS`: migrate at start-up (default: true when `APP_ENV=local`).
    #[serde(default)]
    pub run_migrations: Option<bool>,
    /// `AMQP_URL` (seed 004's `KAFKA_BOOTSTRAP`; default `amqp://guest:guest@127.0.0.1:5672/%2f`).
    #[serde(default = "default_amqp")]
    pub amqp_url: String,
    /// `JWT_SECRET` (required, at least 32 bytes): the HS256 key of access tokens (seed 004).
    pub jwt_secret: SecretString,
    /// `JWT_ISSUER`: the `iss` of access tokens (default `users-registration`).
    #[serde(default = "default_issuer")]
    pub jwt_issuer: String,
    /// `ACCESS_TOKEN_TTL_SECONDS`: access-token lifetime, returned as `expiresIn` (default 900).
    #[serde(default = "default_access_ttl")]
    pub access_token_ttl_seconds: u64,
    /// `REFRESH_TOKEN_TTL_SECONDS`: refresh-token (and session) lifetime (default 30 days).
    #[serde(default = "default_refresh_ttl")]
    pub refresh_token_ttl_seconds: u64,
    /// `DOCUMENT_ENCRYPTION_KEY` (required): 32 random bytes, base64. Seals `documentId` at
    /// rest (AES-256-GCM); the blind-index key is derived from it with HKDF-SHA256.
    pub document_encryption_key: SecretString,
    /// `IDEMPOTENCY_TTL_SECONDS`: how long a stored `Idempotency-Key` response is replayed
    /// (default 86400 = 24 h).
    #[serde(default = "default_idempotency_ttl")]
    pub idempotency_ttl_seconds: u64,
    /// `IDEMPOTENCY_WAIT_SECONDS`: how long a request waits for another request with the same
    /// key still in flight before answering 409 (default 10).
    #[serde(default = "default_idempotency_wait")]
    pub idempotency_wait_seconds: u64,
    /// `NOTIFY_ENDPOINT`: the notification service's URL (`POST`ed one JSON message per
    /// event). Empty or unset: the dispatcher does not run.
    #[serde(default)]
    pub notify_endpoint: Option<String>,
    /// `NOTIFY_TOKEN`: bearer token sent to `NOTIFY_ENDPOINT`, if it needs one.
    #[serde(default)]
    pub notify_token: Option<SecretString>,
    /// `NOTIFY_QUEUE`: the dispatcher's durable queue (default `users-registration.notifications`).
    #[serde(default = "default_notify_queue")]
    pub notify_queue: String,
    /// `NOTIFY_TIMEOUT_SECONDS`: timeout of one call to `NOTIFY_ENDPOINT` (default 5).
    #[serde(default = "default_notify_timeout")]
    pub notify_timeout_seconds: u64,
    /// `NOTIFY_MAX_ATTEMPTS`: calls before a notification is dead-lettered (default 5).
    #[serde(default = "default_notify_attempts")]
    pub notify_max_attempts: u32,
    /// `NOTIFY_BACKOFF_MS`: delay before the first retry, doubled per attempt (default 1000).
    #[serde(default = "default_notify_backoff")]
    pub notify_backoff_ms: u64,
    /// `ARGON2_MEMORY_KIB`: Argon2id memory cost (default 19456 = 19 MiB, OWASP).
    #[serde(default = "default_m_cost")]
    pub argon2_memory_kib: u32,
    /// `ARGON2_ITERATIONS`: Argon2id time cost (default 2, OWASP).
    #[serde(default = "default_t_cost")]
    pub argon2_iterations: u32,
    /// `ARGON2_PARALLELISM`: Argon2id lanes (default 1, OWASP).
    #[serde(default = "default_p_cost")]
    pub argon2_parallelism: u32,
    /// `ARGON2_MAX_CONCURRENT`: hashes computed at once (default: the CPU count).
    #[serde(default)]
    pub argon2_max_concurrent: Option<usize>,
    /// `GATEWAY_SECRET`: shared secret the gateway sends as `X-Gateway-Secret`.
    #[serde(default)]
    pub gateway_secret: Option<String>,
    /// `GATEWAY_ENFORCE_SOURCE`: refuse requests without a valid gateway secret (default false).
    #[serde(default)]
    pub gateway_enforce_source: bool,
    /// `SHUTDOWN_TIMEOUT_SECONDS`: grace period for in-flight requests on SIGTERM (default 30).
    #[serde(default = "default_shutdown")]
    pub shutdown_timeout_seconds: u64,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("app_env", &self.app_env)
            .field("app_port", &self.app_port)
            .field("jwt_secret", &"<redacted>")
            .field("document_encryption_key", &"<redacted>")
            .field("notify_endpoint", &self.notify_endpoint)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads the environment.
    ///
    /// # Errors
    /// One line naming the missing or invalid variable.
    pub fn from_environment() -> anyhow::Result<Self> {
        let cfg: Self = tessera_http::config::from_env().map_err(anyhow::Error::msg)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks values and relations between variables.
    ///
    /// # Errors
    /// One line naming the offending variable.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.jwt_secret.expose_secret().len() < 32 {
            anyhow::bail!("invalid environment variable JWT_SECRET: must be at least 32 bytes");
        }
        crate::document::DocumentKeys::from_base64(self.document_encryption_key.expose_secret())
            .map_err(|e| {
                anyhow::anyhow!("invalid environment variable DOCUMENT_ENCRYPTION_KEY: {e}")
            })?;
        if self.access_token_ttl_seconds == 0 {
            anyhow::bail!("invalid environment variable ACCESS_TOKEN_TTL_SECONDS: must be > 0");
        }
        if self.refresh_token_ttl_seconds < self.access_token_ttl_seconds {
            anyhow::bail!(
                "invalid environment variable REFRESH_TOKEN_TTL_SECONDS: must be at least ACCESS_TOKEN_TTL_SECONDS"
            );
        }
        if self.idempotency_ttl_seconds == 0 {
            anyhow::bail!("invalid environment variable IDEMPOTENCY_TTL_SECONDS: must be > 0");
        }
        if self.notify_max_attempts == 0 {
            anyhow::bail!("invalid environment variable NOTIFY_MAX_ATTEMPTS: must be > 0");
        }
        if let Some(url) = self.notify_url() {
            url::Url::parse(url).map_err(|e| {
                anyhow::anyhow!("invalid environment variable NOTIFY_ENDPOINT: {e}")
            })?;
        }
        tessera_password::Hasher::params(&self.hash_settings()).map_err(|e| {
            anyhow::anyhow!("invalid environment variable ARGON2_MEMORY_KIB/ARGON2_ITERATIONS/ARGON2_PARALLELISM: {e}")
        })?;
        Ok(())
    }

    /// Whether to migrate at start-up.
    pub fn migrate_on_start(&self) -> bool {
        self.run_migrations.unwrap_or(self.app_env == AppEnv::Local)
    }

    /// `NOTIFY_ENDPOINT` when set and not empty.
    pub fn notify_url(&self) -> Option<&str> {
        self.notify_endpoint
            .as_deref()
            .filter(|s| !s.trim().is_empty())
    }

    /// The `ARGON2_*` settings.
    pub fn hash_settings(&self) -> HashSettings {
        HashSettings {
            memory_kib: self.argon2_memory_kib,
            iterations: self.argon2_iterations,
            parallelism: self.argon2_parallelism,
            max_concurrent: self.argon2_max_concurrent,
        }
    }

    /// Access-token lifetime.
    pub fn access_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_seconds)
    }

    /// Refresh-token lifetime.
    pub fn refresh_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_token_ttl_seconds)
    }

    /// A configuration for tests: the given database and broker, fresh secrets, cheap Argon2
    /// parameters (the real ones are measured by `make bench`), no dispatcher.
    pub fn for_tests(database_url: &str, amqp_url: &str) -> Self {
        let key = tessera_db::sealed::SealingKey::generate()
            .map(|(_, b64)| b64)
            .unwrap_or_default();
        let hash = HashSettings::for_tests();
        Self {
            app_env: AppEnv::Testing,
            app_host: "127.0.0.1".to_owned(),
            app_port: 0,
            app_debug: false,
            app_workers: Some(2),
            database_url: database_url.to_owned(),
            db_pool_size: 10,
            run_migrations: Some(false),
            amqp_url: amqp_url.to_owned(),
            jwt_secret: SecretString::from(format!("test-jwt-secret-{}", uuid::Uuid::new_v4())),
            jwt_issuer: default_issuer(),
            access_token_ttl_seconds: default_access_ttl(),
            refresh_token_ttl_seconds: default_refresh_ttl(),
            document_encryption_key: SecretString::from(key),
            idempotency_ttl_seconds: default_idempotency_ttl(),
            idempotency_wait_seconds: default_idempotency_wait(),
            notify_endpoint: None,
            notify_token: None,
            notify_queue: format!(
                "users-registration.notifications.test-{}",
                uuid::Uuid::new_v4()
            ),
            notify_timeout_seconds: 2,
            notify_max_attempts: 3,
            notify_backoff_ms: 100,
            argon2_memory_kib: hash.memory_kib,
            argon2_iterations: hash.iterations,
            argon2_parallelism: hash.parallelism,
            argon2_max_concurrent: hash.max_concurrent,
            gateway_secret: None,
            gateway_enforce_source: false,
            shutdown_timeout_seconds: 5,
        }
    }
}
