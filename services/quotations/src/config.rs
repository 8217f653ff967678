//! Configuration from the environment (ARCHITECTURE.md §2 "Configuration"). Every variable,
//! its default and its meaning is listed on [`Config`] and in `services/quotations/.env.example`.

use std::path::PathBuf;
use std::time::Duration;

use tessera_http::config::group;
pub use tessera_http::config::{AppEnv, ServiceSettings};

use crate::market::{DEFAULT_MARKET_DATA, MarketData};
use crate::providers::ProviderSettings;

tessera_http::service_config! {
    /// The quotations service's settings. Variable names are the field names upper-cased.
    pub struct Config {
        /// Argon2id costs from `ARGON2_*` (OWASP defaults; see `tessera_password::HashSettings`).
        #[serde(skip_deserializing, flatten)]
        pub argon2: tessera_password::HashSettings,
        /// `QUOTATIONS_REQUIRE_AUTH`: the quote routes need a token (or a gateway identity); 401
        /// otherwise (default false).
        #[serde(default)]
        pub quotations_require_auth: bool,
        /// `QUOTATIONS_API_RATE_LIMIT_PER_MINUTE`: API requests per token (else per client) per
        /// minute, across replicas (default 60); 0 disables the throttle.
        #[serde_inline_default(60)]
        pub quotations_api_rate_limit_per_minute: u32,
        /// `QUOTATIONS_LIST_COUNT_CACHE_SECONDS`: how long a replica reuses the `meta.total` of a
        /// filter set on `GET /api/quotations` (default 30; 0 counts on every request).
        #[serde_inline_default(30)]
        pub quotations_list_count_cache_seconds: u64,
        /// `QUOTATIONS_MARKET_DATA_FILE`: the market-data lists (default: the committed
        /// `services/quotations/config/market-data.json`, built in).
        #[serde(default)]
        pub quotations_market_data_file: Option<PathBuf>,
        /// `AWESOME_API_BASE_URL` (default `https://economia.awesomeapi.com.br`).
        #[serde_inline_default("https://economia.awesomeapi.com.br".to_owned())]
        pub awesome_api_base_url: String,
        /// `ALPHA_VANTAGE_BASE_URL` (default `https://www.alphavantage.co`).
        #[serde_inline_default("https://www.alphavantage.co".to_owned())]
        pub alpha_vantage_base_url: String,
        /// `ALPHA_VANTAGE_API_KEY`: without it Alpha Vantage is skipped in fallback chains.
        #[serde(default, serialize_with = "tessera_http::config::show::secret_if_set")]
        pub alpha_vantage_api_key: Option<String>,
        /// `YAHOO_FINANCE_BASE_URL` (default `https://query1.finance.yahoo.com`).
        #[serde_inline_default("https://query1.finance.yahoo.com".to_owned())]
        pub yahoo_finance_base_url: String,
        /// `STOOQ_BASE_URL` (default `https://stooq.com`).
        #[serde_inline_default("https://stooq.com".to_owned())]
        pub stooq_base_url: String,
        /// `QUOTATIONS_PROVIDER_TIMEOUT_SECONDS`: per provider request (default 5).
        #[serde_inline_default(5)]
        pub quotations_provider_timeout_seconds: u64,
        /// `QUOTATIONS_USER_AGENT` sent to providers (default `tessera-quotations/<version>`).
        #[serde_inline_default(concat!("tessera-quotations/", env!("CARGO_PKG_VERSION")).to_owned())]
        pub quotations_user_agent: String,
        /// `QUOTATIONS_AUTO_COLLECT_ENABLED`: the scheduler collects (default false). The dashboard's
        /// settings, once saved, take precedence over this and the next three variables.
        #[serde(default)]
        pub quotations_auto_collect_enabled: bool,
        /// `QUOTATIONS_AUTO_COLLECT_INTERVAL_MINUTES`: minutes between collections, clamped to 1..59
        /// (seed 001), as the cron expression `*/N * * * *` (default 15).
        #[serde_inline_default(15)]
        pub quotations_auto_collect_interval_minutes: u32,
        /// `QUOTATIONS_AUTO_COLLECT_SYMBOLS`: comma-separated symbols collected when none are given
        /// (default `BTC,ETH,USD-BRL`).
        #[serde_inline_default("BTC,ETH,USD-BRL".to_owned())]
        pub quotations_auto_collect_symbols: String,
        /// `QUOTATIONS_AUTO_COLLECT_PROVIDER`: the provider auto-collect asks (default none: each
        /// symbol's fallback chain).
        #[serde(default)]
        pub quotations_auto_collect_provider: Option<String>,
        /// `QUOTATIONS_SCHEDULER_TICK_SECONDS`: how often each replica's scheduler looks for a due
        /// collection (default 20; under 60 so no minute is missed).
        #[serde_inline_default(20)]
        pub quotations_scheduler_tick_seconds: u64,
        /// `APP_URL`: the public base URL, used in the links of e-mails (default
        /// `http://127.0.0.1:8082`).
        #[serde_inline_default("http://127.0.0.1:8082".to_owned())]
        pub app_url: String,
        /// `APP_KEY`: the secret that signs e-mail verification links (at least 32 characters).
        /// Required outside `local`/`testing`; there, a random key is made at start-up when unset.
        #[serde(default, serialize_with = "tessera_http::config::show::secret_if_set")]
        pub app_key: Option<secrecy::SecretString>,
        /// `SESSION_LIFETIME_MINUTES`: idle lifetime of a web session (default 120).
        #[serde_inline_default(120)]
        pub session_lifetime_minutes: u64,
        /// `QUOTATIONS_LOGIN_MAX_ATTEMPTS`: failed web logins per e-mail and client address per
        /// minute before 429 (default 5, Laravel's).
        #[serde_inline_default(5)]
        pub quotations_login_max_attempts: u32,
        /// `QUOTATIONS_MODERATOR_TENANTS`: comma-separated identity tenant slugs whose `moderator`
        /// role (vouched for by the gateway in `X-Auth-Roles` + `X-Auth-Tenant`) may delete
        /// (default none: no gateway role is trusted). A moderator of any other tenant gets 403.
        #[serde(default)]
        pub quotations_moderator_tenants: String,
        /// `MAIL_*`: how e-mails leave (see [`crate::mail::MailSettings`]).
        #[serde(skip_deserializing, flatten)]
        pub mail: crate::mail::MailSettings,
    }
    default_port = 8082, finish = Config::complete
}

impl Config {
    /// Completes and checks what `from_env` read ([`tessera_http::config::ServiceConfig`]).
    fn complete(&mut self) -> anyhow::Result<()> {
        let cfg = self;
        cfg.argon2 =
            group("ARGON2_", tessera_password::HashSettings::check).map_err(anyhow::Error::msg)?;
        cfg.alpha_vantage_api_key = cfg
            .alpha_vantage_api_key
            .take()
            .filter(|k| !k.trim().is_empty());
        cfg.mail = group("MAIL_", crate::mail::MailSettings::check).map_err(anyhow::Error::msg)?;
        cfg.quotations_auto_collect_provider = cfg
            .quotations_auto_collect_provider
            .take()
            .filter(|p| !p.trim().is_empty());
        if let Some(p) = &cfg.quotations_auto_collect_provider
            && crate::providers::Provider::parse(p).is_none()
        {
            anyhow::bail!(
                "invalid environment variable QUOTATIONS_AUTO_COLLECT_PROVIDER: unknown provider {p:?}"
            );
        }
        url::Url::parse(&cfg.app_url)
            .map_err(|e| anyhow::anyhow!("invalid environment variable APP_URL: {e}"))?;
        cfg.app_key = cfg
            .app_key
            .take()
            .filter(|k| !secrecy::ExposeSecret::expose_secret(k).is_empty());
        match &cfg.app_key {
            Some(k) if secrecy::ExposeSecret::expose_secret(k).len() < 32 => {
                anyhow::bail!("invalid environment variable APP_KEY: at least 32 characters")
            }
            None if cfg.base.app_env == AppEnv::Production => {
                anyhow::bail!("missing environment variable APP_KEY")
            }
            _ => {}
        }
        cfg.market_data()?;
        for (name, url) in [
            ("AWESOME_API_BASE_URL", &cfg.awesome_api_base_url),
            ("ALPHA_VANTAGE_BASE_URL", &cfg.alpha_vantage_base_url),
            ("YAHOO_FINANCE_BASE_URL", &cfg.yahoo_finance_base_url),
            ("STOOQ_BASE_URL", &cfg.stooq_base_url),
        ] {
            url::Url::parse(url)
                .map_err(|e| anyhow::anyhow!("invalid environment variable {name}: {e}"))?;
        }
        Ok(())
    }

    /// The market-data lists: `QUOTATIONS_MARKET_DATA_FILE` or the built-in copy.
    ///
    /// # Errors
    /// The file cannot be read or parsed (naming the variable).
    pub fn market_data(&self) -> anyhow::Result<MarketData> {
        let text = match &self.quotations_market_data_file {
            Some(path) => std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("invalid environment variable QUOTATIONS_MARKET_DATA_FILE: {e}")
            })?,
            None => DEFAULT_MARKET_DATA.to_owned(),
        };
        MarketData::from_json(&text).map_err(|e| {
            anyhow::anyhow!("invalid environment variable QUOTATIONS_MARKET_DATA_FILE: {e}")
        })
    }

    /// The auto-collect interval clamped to 1..59 minutes (seed 001).
    pub fn auto_collect_interval(&self) -> u32 {
        self.quotations_auto_collect_interval_minutes.clamp(1, 59)
    }

    /// The providers' settings.
    pub fn providers(&self) -> ProviderSettings {
        ProviderSettings {
            awesome_api_url: self.awesome_api_base_url.clone(),
            alpha_vantage_url: self.alpha_vantage_base_url.clone(),
            alpha_vantage_key: self.alpha_vantage_api_key.clone(),
            yahoo_finance_url: self.yahoo_finance_base_url.clone(),
            stooq_url: self.stooq_base_url.clone(),
            timeout: Duration::from_secs(self.quotations_provider_timeout_seconds.max(1)),
            user_agent: self.quotations_user_agent.clone(),
        }
    }

    /// Whether a gateway `moderator` of identity tenant `tenant` is trusted
    /// (`QUOTATIONS_MODERATOR_TENANTS`).
    pub fn trusts_moderators_of(&self, tenant: &str) -> bool {
        self.quotations_moderator_tenants
            .split(',')
            .map(str::trim)
            .any(|t| !t.is_empty() && t == tenant)
    }

    /// A configuration for tests: the given database and broker, every provider at
    /// `127.0.0.1:9` (discard: refused at once) until a test points them at its own stub.
    ///
    /// # Errors
    /// As [`tessera_http::config::for_tests`].
    pub fn for_tests(database_url: &str, amqp_url: &str) -> Result<Self, String> {
        Self::for_tests_with_providers(database_url, amqp_url, "http://127.0.0.1:9")
    }

    /// [`Config::for_tests`] with every provider at `providers_url` (a local stub), Alpha
    /// Vantage keyed, no rate limit, no count cache, a 2 s provider timeout, a 1 s scheduler
    /// tick, an `APP_KEY`, cheap Argon2 parameters; everything else its documented default.
    ///
    /// # Errors
    /// As [`tessera_http::config::for_tests`].
    pub fn for_tests_with_providers(
        database_url: &str,
        amqp_url: &str,
        providers_url: &str,
    ) -> Result<Self, String> {
        let mut config: Self = tessera_http::config::for_tests(
            database_url,
            amqp_url,
            &[
                ("QUOTATIONS_API_RATE_LIMIT_PER_MINUTE", "0"),
                ("QUOTATIONS_LIST_COUNT_CACHE_SECONDS", "0"),
                ("AWESOME_API_BASE_URL", providers_url),
                ("ALPHA_VANTAGE_BASE_URL", providers_url),
                ("ALPHA_VANTAGE_API_KEY", "test-key"),
                ("YAHOO_FINANCE_BASE_URL", providers_url),
                ("STOOQ_BASE_URL", providers_url),
                ("QUOTATIONS_PROVIDER_TIMEOUT_SECONDS", "2"),
                ("QUOTATIONS_SCHEDULER_TICK_SECONDS", "1"),
                ("APP_KEY", "test-app-key-test-app-key-test-app-key"),
            ],
        )?;
        config.argon2 = tessera_password::HashSettings::for_tests();
        Ok(config)
    }
}
