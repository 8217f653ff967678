//! Configuration from the environment (ARCHITECTURE.md §2 "Configuration").
//!
//! Every variable, its default and its meaning is listed on [`Config`] and in
//! `services/identity/.env.example`. A missing or invalid variable stops start-up with one
//! line naming it.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tessera_db::attempts::LockoutSettings;
use tessera_http::config::group;
pub use tessera_http::config::{AppEnv, ServiceSettings};
use tessera_password::HashSettings;

tessera_http::service_config! {
    /// The identity service's settings. Variable names are the field names upper-cased.
    pub struct Config {
        /// Argon2id costs from `ARGON2_MEMORY_KIB` (default 19456 = 19 MiB), `ARGON2_ITERATIONS`
        /// (2), `ARGON2_PARALLELISM` (1), `ARGON2_MAX_CONCURRENT` (hashing threads; default one per
        /// CPU): OWASP's recommendation.
        #[serde(skip_deserializing, flatten)]
        pub argon2: HashSettings,
        /// `IDENTITY_ISSUER_BASE_URL`: this service's public base URL; a tenant's issuer (`iss`)
        /// is `<base>/tenants/<slug>` (default `http://localhost:8083`).
        #[serde_inline_default("http://localhost:8083".to_owned())]
        pub identity_issuer_base_url: String,
        /// `ACCESS_TOKEN_AUDIENCE`: the `aud` of access tokens, the platform's APIs behind the
        /// gateway (default `tessera`).
        #[serde_inline_default("tessera".to_owned())]
        pub access_token_audience: String,
        /// `AUTH_SESSION_TIMEOUT_SECONDS`: session lifetime, returned as `session_timeout_seconds`
        /// (default 3600, seed 002).
        #[serde_inline_default(3600)]
        pub auth_session_timeout_seconds: u64,
        /// `AUTH_MAX_FAILED_ATTEMPTS`, `AUTH_LOCKOUT_SECONDS`, `AUTH_ADDRESS_MAX_FAILED_ATTEMPTS`:
        /// see [`tessera_db::attempts::LockoutSettings`] (shared with users-registration).
        #[serde(skip_deserializing, flatten)]
        pub lockout: LockoutSettings,
        /// `IDENTITY_ROLES`: the assignable roles, comma-separated (default
        /// `admin,supervisor,agent,viewer,moderator`; `admin` may manage roles; `moderator` is the role quotations trusts for soft deletes).
        #[serde_inline_default("admin,supervisor,agent,viewer,moderator".to_owned())]
        pub identity_roles: String,
        /// `IDENTITY_MFA_ENCRYPTION_KEY` (required): 32 random bytes, base64; seals TOTP secrets
        /// at rest (AES-256-GCM). `make up` generates one.
        #[serde(serialize_with = "tessera_http::config::show::secret")]
        pub identity_mfa_encryption_key: SecretString,
        /// `TOTP_ISSUER`: the issuer label in `otpauth://` URIs (default `Tessera`).
        #[serde_inline_default("Tessera".to_owned())]
        pub totp_issuer: String,
        /// `IDENTITY_ENROLLMENT_URL`: the page an agent created through the API opens to set its
        /// first password; its link is `<url>?tenant=<slug>#token=<token>` (the token in the
        /// fragment, so it stays out of web servers' access logs) and the page posts the token to
        /// `POST /tenants/{slug}/password` (default `http://localhost:8080/enroll`).
        #[serde_inline_default("http://localhost:8080/enroll".to_owned())]
        pub identity_enrollment_url: String,
        /// `IDENTITY_ENROLLMENT_TTL_SECONDS`: how long an enrollment link works (default 259200 =
        /// 72 h; at most 30 days).
        #[serde_inline_default(72 * 3600)]
        pub identity_enrollment_ttl_seconds: u64,
        /// `JWT_SIGNING_KEYS_DIR`, `JWT_KEY_PUBLISH_LEAD_SECONDS`, `JWT_KEYS_RELOAD_SECONDS`,
        /// `JWKS_MAX_AGE_SECONDS`: see [`tessera_jwt::KeySettings`].
        #[serde(skip_deserializing, flatten)]
        pub keys: tessera_jwt::KeySettings,
    }
    default_port = 8083, finish = Config::complete
}

impl Config {
    /// Reads the signing-key settings (`JWT_*`), the lockout (`AUTH_*`) and the Argon2id costs
    /// (`ARGON2_*`), then [`Self::validate`]s.
    fn complete(&mut self) -> Result<(), String> {
        let production = self.base.app_env == AppEnv::Production;
        self.keys = group("", |k: &tessera_jwt::KeySettings| k.check(production))?;
        self.lockout = group("", LockoutSettings::check)?;
        self.argon2 = group("ARGON2_", HashSettings::check)?;
        self.validate().map_err(|e| e.to_string())
    }

    /// Checks values and relations between variables.
    ///
    /// # Errors
    /// One line naming the offending variable.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.auth_session_timeout_seconds == 0 {
            anyhow::bail!("invalid environment variable AUTH_SESSION_TIMEOUT_SECONDS: must be > 0");
        }
        if !self.roles().iter().any(|r| r == "admin") {
            anyhow::bail!("invalid environment variable IDENTITY_ROLES: must include admin");
        }
        if !(1..=30 * 24 * 3600).contains(&self.identity_enrollment_ttl_seconds) {
            anyhow::bail!(
                "invalid environment variable IDENTITY_ENROLLMENT_TTL_SECONDS: must be 1 to 2592000 (30 days)"
            );
        }
        url::Url::parse(&self.identity_enrollment_url).map_err(|e| {
            anyhow::anyhow!("invalid environment variable IDENTITY_ENROLLMENT_URL: {e}")
        })?;
        if tessera_db::sealed::SealingKey::from_base64(
            self.identity_mfa_encryption_key.expose_secret(),
        )
        .is_err()
        {
            anyhow::bail!(
                "invalid environment variable IDENTITY_MFA_ENCRYPTION_KEY: must be 32 bytes, base64"
            );
        }
        Ok(())
    }

    /// The assignable roles, trimmed, without empties.
    pub fn roles(&self) -> Vec<String> {
        tessera_http::config::csv_list(&self.identity_roles)
    }

    /// How long an enrollment link works.
    pub fn enrollment_ttl(&self) -> chrono::TimeDelta {
        i64::try_from(self.identity_enrollment_ttl_seconds)
            .ok()
            .and_then(chrono::TimeDelta::try_seconds)
            .unwrap_or(chrono::TimeDelta::MAX)
    }

    /// The enrollment link of `token` for tenant `slug`: `<url>?tenant=<slug>#token=<token>`.
    pub fn enrollment_link(&self, slug: &str, token: &str) -> String {
        match url::Url::parse(&self.identity_enrollment_url) {
            Ok(mut url) => {
                url.query_pairs_mut().append_pair("tenant", slug);
                url.set_fragment(Some(&format!("token={token}")));
                url.into()
            }
            // Not reached: `validate` refuses a variable that does not parse.
            Err(_) => format!(
                "{}?tenant={slug}#token={token}",
                self.identity_enrollment_url
            ),
        }
    }

    /// Session lifetime.
    pub fn session_timeout(&self) -> Duration {
        Duration::from_secs(self.auth_session_timeout_seconds)
    }

    /// The issuer (`iss`) of a tenant's access tokens: `<base>/tenants/<slug>`.
    pub fn issuer(&self, tenant_slug: &str) -> String {
        format!(
            "{}/tenants/{tenant_slug}",
            self.identity_issuer_base_url.trim_end_matches('/')
        )
    }

    /// A configuration for tests: the given database and broker, a fresh MFA key, cheap
    /// Argon2 parameters (the real ones are measured by `make bench`), an ephemeral signing
    /// key; everything else its documented default.
    ///
    /// # Errors
    /// As [`tessera_http::config::for_tests`].
    pub fn for_tests(database_url: &str, amqp_url: &str) -> Result<Self, String> {
        let (_, key) = tessera_db::sealed::SealingKey::generate().map_err(|e| e.to_string())?;
        let mut config: Self = tessera_http::config::for_tests(
            database_url,
            amqp_url,
            &[("IDENTITY_MFA_ENCRYPTION_KEY", &key)],
        )?;
        config.argon2 = HashSettings::for_tests();
        config.keys = tessera_jwt::KeySettings::for_tests();
        Ok(config)
    }
}
