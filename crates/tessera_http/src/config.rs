//! What every service's configuration shares (ARCHITECTURE.md §2 "Configuration"): the
//! `APP_ENV` enum and reading a settings struct from the environment with errors that name
//! the variable.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// `APP_ENV`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AppEnv {
    /// A developer's machine (`make up`): ephemeral keys allowed, migrations at start-up.
    Local,
    /// Automated tests.
    Testing,
    /// Production: keys and secrets must be configured.
    Production,
}

impl AppEnv {
    /// `local` when unset.
    pub fn default_local() -> Self {
        Self::Local
    }
}

mod vars;
pub use vars::{from_env, from_vars, group};

pub mod show;

/// A service's `Config`, as [`load`] reads it: its own variables (the fields, upper-cased),
/// the shared [`ServiceSettings`] beside them, then what it completes and checks itself.
pub trait ServiceConfig: DeserializeOwned + Serialize {
    /// The service's listen port when `APP_PORT` is unset (ARCHITECTURE.md's port table).
    const DEFAULT_PORT: u16;

    /// Where the shared settings go (envy cannot flatten typed fields, so they are read apart).
    fn base_mut(&mut self) -> &mut ServiceSettings;

    /// Completes the configuration after its variables were read (prefixed groups such as
    /// `ARGON2_*`) and checks relations between variables.
    ///
    /// # Errors
    /// One line naming the offending variable.
    fn finish(&mut self) -> Result<(), String> {
        Ok(())
    }

    /// The effective configuration for `config show` ([`show`]): every variable the service
    /// reads by name, secrets redacted. By default the struct's own serialisation, in which
    /// the shared [`ServiceSettings`] is a flattened field (`#[serde(skip_deserializing,
    /// flatten)]`: read apart, shown beside the rest); a service with prefixed groups
    /// (`ARGON2_*`) adds them with [`show::variables`].
    fn effective(&self) -> serde_json::Map<String, serde_json::Value> {
        show::variables("", self)
    }

    /// Reads the configuration from the process environment ([`load`]).
    ///
    /// # Errors
    /// One line naming the missing or invalid variable.
    fn from_environment() -> Result<Self, ConfigError> {
        load().map_err(ConfigError)
    }
}

/// Declares a service's `Config` and implements [`ServiceConfig`] for it, and `Debug` as its
/// effective configuration (every variable, secrets redacted: what `config show` prints,
/// [`ServiceConfig::effective`]).
///
/// ```text
/// tessera_http::service_config! {
///     /// The credential broker's settings. Variable names are the field names upper-cased.
///     pub struct Config {
///         /// `BROKER_ISSUER`: …
///         #[serde_inline_default("…".to_owned())]
///         pub broker_issuer: String,
///     }
///     default_port = 8084, finish = Config::validate
/// }
/// ```
///
/// The struct gets the shared settings as its first field, `pub base: ServiceSettings` (read
/// apart by [`load`], shown flattened beside the rest), and the service's fields as written:
/// their variable is the field's name upper-cased, their default a `#[serde_inline_default(…)]`
/// or `#[serde(default)]` (the caller depends on `serde` and `serde_inline_default`). The
/// second form, `service_config!(Config, default_port = …, finish = …)`, writes the impls for
/// a struct declared elsewhere with such a `base` field.
///
/// `finish` is called by [`ServiceConfig::finish`] after the variables were read: a function of
/// `&Config` or `&mut Config` returning `Result<(), E>` with `E: Display`; leave it out when
/// there is nothing to complete or check.
#[macro_export]
macro_rules! service_config {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($fields:tt)* }
        default_port = $port:expr $(, finish = $finish:path)? $(,)?
    ) => {
        #[::serde_inline_default::serde_inline_default]
        #[derive(Clone, ::serde::Deserialize, ::serde::Serialize)]
        $(#[$meta])*
        pub struct $name {
            /// The settings every service shares (`APP_ENV`, `APP_HOST`, `APP_PORT` — default
            /// the service's `DEFAULT_PORT` —, `APP_DEBUG`, `APP_WORKERS`, `DATABASE_URL`,
            /// `DB_POOL_SIZE`, `RUN_MIGRATIONS`, `AMQP_URL`, `GATEWAY_SECRET`,
            /// `GATEWAY_ENFORCE_SOURCE`, `SHUTDOWN_TIMEOUT_SECONDS`): see
            /// [`ServiceSettings`](tessera_http::config::ServiceSettings).
            #[serde(skip_deserializing, flatten)]
            pub base: $crate::config::ServiceSettings,
            $($fields)*
        }

        $crate::service_config!($name, default_port = $port $(, finish = $finish)?);
    };
    ($config:ty, default_port = $port:expr $(, finish = $finish:path)? $(,)?) => {
        impl ::std::fmt::Debug for $config {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_map()
                    .entries($crate::config::ServiceConfig::effective(self))
                    .finish()
            }
        }

        impl $crate::config::ServiceConfig for $config {
            const DEFAULT_PORT: u16 = $port;

            fn base_mut(&mut self) -> &mut $crate::config::ServiceSettings {
                &mut self.base
            }

            $(
                fn finish(&mut self) -> ::std::result::Result<(), ::std::string::String> {
                    $finish(self).map_err(|e| e.to_string())
                }
            )?
        }
    };
}

/// A configuration that could not be read: one line naming the missing or invalid variable
/// (`missing environment variable DATABASE_URL`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Reads a service's configuration from the process environment ([`ServiceConfig`]).
///
/// # Errors
/// One line naming the missing or invalid variable.
pub fn load<C: ServiceConfig>() -> Result<C, String> {
    let mut config: C = from_env()?;
    *config.base_mut() = ServiceSettings::from_environment(C::DEFAULT_PORT)?;
    config.finish()?;
    Ok(config)
}

/// A service's configuration for tests: read from `vars` alone (the process environment left
/// out), so every other field takes its documented default, with
/// [`ServiceSettings::for_tests`] as its shared settings. [`ServiceConfig::finish`] is not run:
/// prefixed groups (`ARGON2_*`, the signing keys) keep their `Default` until the caller sets
/// their test values.
///
/// ```text
/// let config: Config = tessera_http::config::for_tests(db, amqp, &[("CP_ADMIN_TOKEN", "t")])?;
/// ```
///
/// # Errors
/// A variable of `vars` that does not parse, or a required variable not among them (named).
pub fn for_tests<C: ServiceConfig>(
    database_url: &str,
    amqp_url: &str,
    vars: &[(&str, &str)],
) -> Result<C, String> {
    let vars = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    let mut config: C = from_vars(vars, "")?;
    *config.base_mut() = ServiceSettings::for_tests(database_url, amqp_url);
    Ok(config)
}

/// A comma-separated setting as a list: each entry trimmed, empty ones dropped
/// (`"a, b,,c"` → `["a", "b", "c"]`).
pub fn csv_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn default_host() -> String {
    "0.0.0.0".to_owned()
}
/// `AMQP_URL`'s default: the local RabbitMQ (`guest`/`guest`, vhost `/`).
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

fn default_amqp() -> String {
    DEFAULT_AMQP_URL.to_owned()
}
fn default_pool() -> usize {
    10
}
fn default_shutdown() -> u64 {
    30
}

/// The settings every service reads the same way (ARCHITECTURE.md §2 "Configuration"); a
/// service's own `Config` holds them as `base` next to its own variables, and reads both with
/// [`from_env`] (two reads: envy cannot flatten typed fields).
#[derive(Clone, Deserialize, Serialize, derive_more::Debug)]
pub struct ServiceSettings {
    /// `APP_ENV` = `local` | `testing` | `production` (default `local`).
    #[serde(default = "AppEnv::default_local")]
    pub app_env: AppEnv,
    /// `APP_HOST`, the listen address (default `0.0.0.0`).
    #[serde(default = "default_host")]
    pub app_host: String,
    /// `APP_PORT`, the listen port (default: the service's own, [`ServiceConfig::DEFAULT_PORT`];
    /// 0 picks a free port). Read apart, with that default: [`ServiceSettings::from_environment`].
    #[serde(skip_deserializing)]
    pub app_port: u16,
    /// `APP_DEBUG`: include `details` in error envelopes (default false).
    #[serde(default)]
    #[debug(skip)]
    pub app_debug: bool,
    /// `APP_WORKERS`: HTTP worker threads (default: one per CPU).
    #[serde(default)]
    pub app_workers: Option<usize>,
    /// `DATABASE_URL` (required), e.g. `postgres://postgres@127.0.0.1:5432/<service>`.
    #[serde(serialize_with = "show::url")]
    #[debug(skip)]
    pub database_url: String,
    /// `DB_POOL_SIZE` (default 10).
    #[serde(default = "default_pool")]
    pub db_pool_size: usize,
    /// `RUN_MIGRATIONS`: migrate at start-up (default: true when `APP_ENV=local`).
    #[serde(default)]
    #[debug(skip)]
    pub run_migrations: Option<bool>,
    /// `AMQP_URL` (default `amqp://guest:guest@127.0.0.1:5672/%2f`).
    #[serde(default = "default_amqp", serialize_with = "show::url")]
    #[debug(skip)]
    pub amqp_url: String,
    /// `GATEWAY_SECRET`: the shared secret the gateway sends as `X-Gateway-Secret`.
    #[serde(default, serialize_with = "show::secret_if_set")]
    #[debug(skip)]
    pub gateway_secret: Option<String>,
    /// `GATEWAY_ENFORCE_SOURCE`: refuse requests without a valid gateway secret (default false).
    #[serde(default)]
    pub gateway_enforce_source: bool,
    /// `SHUTDOWN_TIMEOUT_SECONDS`: grace period for in-flight requests on SIGTERM (default 30).
    #[serde(default = "default_shutdown")]
    #[debug(skip)]
    pub shutdown_timeout_seconds: u64,
    /// `TRUSTED_PROXIES`: comma-separated addresses or CIDR networks of the proxies whose
    /// `X-Forwarded-For` is believed when finding a client's address for throttles (default
    /// none: the TCP peer is the client). See [`crate::client_addr`].
    #[serde(default)]
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// Not a variable: a test points the service's events — the outbox relay's publishing and
    /// every consumer's binding — at a private exchange, so that no other test's events reach
    /// it. `None` (every deployment): `tessera_events::EXCHANGE`.
    #[serde(skip)]
    pub events_exchange: Option<String>,
    /// Not a variable: when set, the broker deletes the service's consumer queues (with their
    /// retry and dead-letter queues) once unused this long (`tessera_events::ConsumerConfig::
    /// expires`), so a test's throw-away queues do not collect later events. `None` in a
    /// deployment; [`ServiceSettings::for_tests`] sets 300 s.
    #[serde(skip)]
    pub consumer_queue_expires: Option<std::time::Duration>,
}

impl Default for ServiceSettings {
    /// The defaults of every variable, with an empty `DATABASE_URL` (a placeholder until
    /// [`ServiceSettings::from_environment`] or [`ServiceSettings::for_tests`] fills it).
    fn default() -> Self {
        Self {
            app_env: AppEnv::Local,
            app_host: default_host(),
            app_port: 0,
            app_debug: false,
            app_workers: None,
            database_url: String::new(),
            db_pool_size: default_pool(),
            run_migrations: None,
            amqp_url: default_amqp(),
            gateway_secret: None,
            gateway_enforce_source: false,
            shutdown_timeout_seconds: default_shutdown(),
            trusted_proxies: crate::client_addr::TrustedProxies::default(),
            events_exchange: None,
            consumer_queue_expires: None,
        }
    }
}

impl ServiceSettings {
    /// Reads the shared settings from the process environment, `APP_PORT` defaulting to
    /// `default_port`.
    ///
    /// # Errors
    /// One line naming the missing or invalid variable.
    pub fn from_environment(default_port: u16) -> Result<Self, String> {
        Self::from_vars(std::env::vars().collect(), default_port)
    }

    /// [`Self::from_environment`] over the given variables.
    ///
    /// # Errors
    /// One line naming the missing or invalid variable.
    pub fn from_vars(vars: Vec<(String, String)>, default_port: u16) -> Result<Self, String> {
        /// `APP_PORT` alone (envy reads it by name, so an invalid value is named too).
        #[derive(Deserialize)]
        struct Port {
            #[serde(default)]
            app_port: Option<u16>,
        }
        let port: Port = from_vars(vars.iter().cloned(), "")?;
        let mut settings: Self = from_vars(vars, "")?;
        settings.app_port = port.app_port.unwrap_or(default_port);
        Ok(settings)
    }

    /// Whether to migrate at start-up: `RUN_MIGRATIONS`, else only when `APP_ENV=local`.
    pub fn migrate_on_start(&self) -> bool {
        self.run_migrations.unwrap_or(self.app_env == AppEnv::Local)
    }

    /// Settings for tests: `APP_ENV=testing` on 127.0.0.1, a free port, two workers, five
    /// connections, no migrations at start-up (the test database is migrated), a 5 s shutdown,
    /// consumer queues that expire 300 s after their last use.
    pub fn for_tests(database_url: &str, amqp_url: &str) -> Self {
        Self {
            app_env: AppEnv::Testing,
            app_host: "127.0.0.1".to_owned(),
            app_port: 0,
            app_workers: Some(2),
            database_url: database_url.to_owned(),
            db_pool_size: 5,
            run_migrations: Some(false),
            amqp_url: amqp_url.to_owned(),
            shutdown_timeout_seconds: 5,
            consumer_queue_expires: Some(std::time::Duration::from_secs(300)),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// A service configuration as the services declare theirs.
    #[derive(Clone, serde::Deserialize, serde::Serialize)]
    struct Demo {
        #[serde(skip_deserializing, flatten)]
        base: ServiceSettings,
        #[serde(serialize_with = "show::secret")]
        demo_api_key: String,
        demo_limit: u32,
    }

    crate::service_config!(Demo, default_port = 8099, finish = Demo::check);

    impl Demo {
        fn check(&self) -> Result<(), String> {
            if self.demo_limit == 0 {
                return Err("invalid environment variable DEMO_LIMIT: must be at least 1".into());
            }
            Ok(())
        }
    }

    #[test]
    fn a_declared_config_debug_prints_its_variables_with_secrets_and_url_passwords_redacted() {
        let mut demo: Demo = for_tests(
            "postgres://app:db-password-123@127.0.0.1/demo",
            "amqp://guest:guest@127.0.0.1:5672/%2f",
            &[("DEMO_API_KEY", "key-value-456"), ("DEMO_LIMIT", "7")],
        )
        .unwrap();
        let shown = format!("{demo:?}");
        assert!(!shown.contains("key-value-456"), "{shown}");
        assert!(!shown.contains("db-password-123"), "{shown}");
        assert!(
            shown.contains(r#""DEMO_API_KEY": String("[redacted]")"#),
            "{shown}"
        );
        assert!(shown.contains(r#""DEMO_LIMIT": Number(7)"#), "{shown}");
        assert!(shown.contains(r#""DATABASE_URL""#), "{shown}");
        assert_eq!(Demo::DEFAULT_PORT, 8099);
        assert!(demo.finish().is_ok());
        demo.demo_limit = 0;
        assert_eq!(
            demo.finish().unwrap_err(),
            "invalid environment variable DEMO_LIMIT: must be at least 1"
        );
    }

    #[test]
    fn the_shared_settings_debug_leaves_out_secrets_and_urls() {
        let settings = ServiceSettings {
            database_url: "postgres://app:db-password-123@127.0.0.1/demo".to_owned(),
            amqp_url: "amqp://guest:mq-password-456@127.0.0.1:5672/%2f".to_owned(),
            gateway_secret: Some("gw-secret-789".to_owned()),
            app_port: 8099,
            ..ServiceSettings::default()
        };
        let shown = format!("{settings:?}");
        for secret in ["db-password-123", "mq-password-456", "gw-secret-789"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.starts_with("ServiceSettings { app_env: "), "{shown}");
        assert!(shown.contains("app_port: 8099"), "{shown}");
        assert!(shown.ends_with(", .. }"), "{shown}");
    }

    #[test]
    fn an_invalid_value_names_its_variable() {
        let e = from_vars::<ServiceSettings>(
            vars(&[
                ("DATABASE_URL", "postgres://x"),
                ("APP_ENV", "staging"),
                ("HOME", "/root"),
            ]),
            "",
        )
        .unwrap_err();
        assert!(
            e.starts_with("invalid environment variable APP_ENV: "),
            "{e}"
        );
        assert!(e.contains("staging"), "{e}");
        let e = from_vars::<ServiceSettings>(
            vars(&[("DATABASE_URL", "postgres://x"), ("DB_POOL_SIZE", "many")]),
            "",
        )
        .unwrap_err();
        assert!(
            e.starts_with("invalid environment variable DB_POOL_SIZE: "),
            "{e}"
        );
        let e = from_vars::<ServiceSettings>(
            vars(&[
                ("DATABASE_URL", "postgres://x"),
                ("TRUSTED_PROXIES", "10.0.0.0/33"),
            ]),
            "",
        )
        .unwrap_err();
        assert!(
            e.starts_with("invalid environment variable TRUSTED_PROXIES: "),
            "{e}"
        );
    }

    #[test]
    fn app_port_defaults_to_the_service_s_own_and_an_invalid_one_is_named() {
        let db = ("DATABASE_URL", "postgres://x");
        let unset = ServiceSettings::from_vars(vars(&[db]), 8083).unwrap();
        assert_eq!(unset.app_port, 8083);
        let set = ServiceSettings::from_vars(vars(&[db, ("APP_PORT", "0")]), 8083).unwrap();
        assert_eq!(set.app_port, 0, "0 picks a free port");
        let e = ServiceSettings::from_vars(vars(&[db, ("APP_PORT", "70000")]), 8083).unwrap_err();
        assert!(
            e.starts_with("invalid environment variable APP_PORT: "),
            "{e}"
        );
    }

    #[test]
    fn a_missing_one_is_named_and_good_values_parse() {
        let e = from_vars::<ServiceSettings>(vars(&[("APP_ENV", "local")]), "").unwrap_err();
        assert_eq!(e, "missing environment variable DATABASE_URL");
        let ok = from_vars::<ServiceSettings>(
            vars(&[("DATABASE_URL", "postgres://x"), ("APP_ENV", "production")]),
            "",
        )
        .unwrap();
        assert_eq!(ok.app_env, AppEnv::Production);
    }

    #[test]
    fn prefixed_variables_are_named_with_their_prefix() {
        #[derive(serde::Deserialize, Debug)]
        struct Argon {
            #[expect(dead_code, reason = "only parsing is tested")]
            memory_kib: u32,
        }
        let e = from_vars::<Argon>(vars(&[("ARGON2_MEMORY_KIB", "lots")]), "ARGON2_").unwrap_err();
        assert!(
            e.starts_with("invalid environment variable ARGON2_MEMORY_KIB: "),
            "{e}"
        );
    }
}
