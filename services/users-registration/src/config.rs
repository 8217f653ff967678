//! Configuration from the environment (ARCHITECTURE.md §2 "Configuration").
//!
//! Every variable, its default and its meaning is listed on [`Config`] and in
//! `services/users-registration/.env.example`. A missing or invalid variable stops start-up with
//! one line naming it.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tessera_db::attempts::LockoutSettings;
use tessera_http::config::group;
pub use tessera_http::config::{AppEnv, ServiceSettings};
use tessera_password::HashSettings;

/// `NOTIFY_QUEUE`'s default: the notification dispatcher's durable queue.
pub const DEFAULT_NOTIFY_QUEUE: &str = "users-registration.notifications";

tessera_http::service_config! {
    /// The users-registration service's settings. Variable names are the field names upper-cased.
    pub struct Config {
        /// Argon2id costs from `ARGON2_MEMORY_KIB` (default 19456 = 19 MiB), `ARGON2_ITERATIONS`
        /// (2), `ARGON2_PARALLELISM` (1), `ARGON2_MAX_CONCURRENT` (hashing threads; default one per
        /// CPU): OWASP's recommendation.
        #[serde(skip_deserializing, flatten)]
        pub argon2: HashSettings,
        /// `JWT_SECRET` (required, at least 32 bytes): the HS256 key of access tokens (seed 004).
        #[serde(serialize_with = "tessera_http::config::show::secret")]
        pub jwt_secret: SecretString,
        /// `JWT_KEY_ID`: the `kid` header of access tokens (default: a random id chosen at start-up;
        /// set one to keep it stable across replicas and restarts). Never derived from the secret.
        #[serde(default)]
        pub jwt_key_id: Option<String>,
        /// `JWT_ISSUER`: the `iss` of access tokens (default `users-registration`).
        #[serde_inline_default("users-registration".to_owned())]
        pub jwt_issuer: String,
        /// `ACCESS_TOKEN_TTL_SECONDS`: access-token lifetime, returned as `expiresIn` (default 900).
        #[serde_inline_default(900)]
        pub access_token_ttl_seconds: u64,
        /// `REFRESH_TOKEN_TTL_SECONDS`: refresh-token (and session) lifetime (default 30 days).
        #[serde_inline_default(30 * 24 * 3600)]
        pub refresh_token_ttl_seconds: u64,
        /// `AUTH_MAX_FAILED_ATTEMPTS`, `AUTH_LOCKOUT_SECONDS`, `AUTH_ADDRESS_MAX_FAILED_ATTEMPTS`:
        /// see [`tessera_db::attempts::LockoutSettings`] (identity's rule; unknown e-mails are
        /// counted alike, so a lock says nothing about existence).
        #[serde(skip_deserializing, flatten)]
        pub lockout: LockoutSettings,
        /// `DOCUMENT_ENCRYPTION_KEY` (required): 32 random bytes, base64. Seals `documentId` at
        /// rest (AES-256-GCM); the blind-index key is derived from it with HKDF-SHA256.
        #[serde(serialize_with = "tessera_http::config::show::secret")]
        pub document_encryption_key: SecretString,
        /// `IDEMPOTENCY_TTL_SECONDS`: how long a stored `Idempotency-Key` response is replayed
        /// (default 86400 = 24 h).
        #[serde_inline_default(24 * 3600)]
        pub idempotency_ttl_seconds: u64,
        /// `IDEMPOTENCY_WAIT_SECONDS`: how long a request waits for another request with the same
        /// key still in flight before answering 409 (default 10).
        #[serde_inline_default(10)]
        pub idempotency_wait_seconds: u64,
        /// `NOTIFY_ENDPOINT`: the notification service's URL (`POST`ed one JSON message per
        /// event). Empty or unset: the dispatcher does not run.
        #[serde(default)]
        pub notify_endpoint: Option<String>,
        /// `NOTIFY_TOKEN`: bearer token sent to `NOTIFY_ENDPOINT`, if it needs one.
        #[serde(default, serialize_with = "tessera_http::config::show::secret_if_set")]
        pub notify_token: Option<SecretString>,
        /// `NOTIFY_QUEUE`: the dispatcher's durable queue (default `users-registration.notifications`).
        #[serde_inline_default(DEFAULT_NOTIFY_QUEUE.to_owned())]
        pub notify_queue: String,
        /// `NOTIFY_TIMEOUT_SECONDS`: timeout of one call to `NOTIFY_ENDPOINT` (default 5).
        #[serde_inline_default(5)]
        pub notify_timeout_seconds: u64,
        /// `NOTIFY_MAX_ATTEMPTS`: calls before a notification is dead-lettered (default 5).
        #[serde_inline_default(5)]
        pub notify_max_attempts: u32,
        /// `NOTIFY_BACKOFF_MS`: delay before the first retry, doubled per attempt (default 1000).
        #[serde_inline_default(1000)]
        pub notify_backoff_ms: u64,
        /// `PASSWORD_SETUP_URL`: the page a user without a password opens from their approval
        /// notification; the link is `<url>#token=<token>` (a fragment, so the token stays out of
        /// web servers' access logs) and the page posts the token to `POST /auth/password`
        /// (default `http://localhost:8080/set-password`).
        #[serde_inline_default("http://localhost:8080/set-password".to_owned())]
        pub password_setup_url: String,
        /// `PASSWORD_SETUP_TTL_SECONDS`: how long a set-password link works (default 259200 =
        /// 72 h).
        #[serde_inline_default(72 * 3600)]
        pub password_setup_ttl_seconds: u64,
    }
    default_port = 8085, finish = Config::complete
}

impl Config {
    /// Reads the lockout (`AUTH_*`) and the Argon2id costs (`ARGON2_*`), then
    /// [`Self::validate`]s.
    fn complete(&mut self) -> Result<(), String> {
        self.lockout = group("", LockoutSettings::check)?;
        self.argon2 = group("ARGON2_", HashSettings::check)?;
        self.validate().map_err(|e| e.to_string())
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
        if !(1..=30 * 24 * 3600).contains(&self.password_setup_ttl_seconds) {
            anyhow::bail!(
                "invalid environment variable PASSWORD_SETUP_TTL_SECONDS: must be 1 to 2592000 (30 days)"
            );
        }
        url::Url::parse(&self.password_setup_url)
            .map_err(|e| anyhow::anyhow!("invalid environment variable PASSWORD_SETUP_URL: {e}"))?;
        if let Some(url) = self.notify_url() {
            url::Url::parse(url).map_err(|e| {
                anyhow::anyhow!("invalid environment variable NOTIFY_ENDPOINT: {e}")
            })?;
        }
        Ok(())
    }

    /// `NOTIFY_ENDPOINT` when set and not empty.
    pub fn notify_url(&self) -> Option<&str> {
        self.notify_endpoint
            .as_deref()
            .filter(|s| !s.trim().is_empty())
    }

    /// Access-token lifetime.
    pub fn access_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_seconds)
    }

    /// How long a set-password link works.
    pub fn password_setup_ttl(&self) -> chrono::TimeDelta {
        i64::try_from(self.password_setup_ttl_seconds)
            .ok()
            .and_then(chrono::TimeDelta::try_seconds)
            .unwrap_or(chrono::TimeDelta::MAX)
    }

    /// Refresh-token lifetime.
    pub fn refresh_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_token_ttl_seconds)
    }

    /// A configuration for tests: the given database and broker, a fresh JWT secret and
    /// document key, a pool of 10, a notification queue of its own that expires once unused, quick
    /// notification retries (2 s timeout, 3 attempts, 100 ms back-off), cheap Argon2
    /// parameters; everything else its documented default.
    ///
    /// # Errors
    /// As [`tessera_http::config::for_tests`].
    pub fn for_tests(database_url: &str, amqp_url: &str) -> Result<Self, String> {
        let (_, key) = tessera_db::sealed::SealingKey::generate().map_err(|e| e.to_string())?;
        let secret = format!("test-jwt-secret-{}", uuid::Uuid::new_v4());
        let queue = format!(
            "users-registration.notifications.test-{}",
            uuid::Uuid::new_v4()
        );
        let mut config: Self = tessera_http::config::for_tests(
            database_url,
            amqp_url,
            &[
                ("JWT_SECRET", &secret),
                ("DOCUMENT_ENCRYPTION_KEY", &key),
                ("NOTIFY_QUEUE", &queue),
                ("NOTIFY_TIMEOUT_SECONDS", "2"),
                ("NOTIFY_MAX_ATTEMPTS", "3"),
                ("NOTIFY_BACKOFF_MS", "100"),
            ],
        )?;
        config.base.db_pool_size = 10;
        config.argon2 = HashSettings::for_tests();
        Ok(config)
    }
}
