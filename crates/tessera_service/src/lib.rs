//! What every Tessera service binary shares (STYLE.md §1 `startup.rs`, `main.rs`):
//!
//! - [`bootstrap`]: migrations, the database pool, the outbox relay, metrics and readiness,
//!   the HTTP server and the graceful stop ([`Foundation`], [`Running`]), and the `serve` /
//!   `migrate` subcommands every CLI flattens in ([`ServiceCommand`]);
//! - [`load_dotenv`]: `.env` of the working directory read into the environment first, as
//!   Laravel does (a variable already set wins);
//! - [`exit`]: the end of every `main`, one line `<binary>: <error>` on stderr and the exit code.
//!
//! `tessera_events` keeps only events; a service's CLI depends on it only if it publishes.

pub mod bootstrap;
pub mod dlq;
pub mod one_time;

use chrono::{DateTime, Utc};

/// The wall clock, read here and nowhere else in the services (STYLE.md §6: time is a
/// parameter). A handler takes `now` once per request (`AppState::now`) and passes it down;
/// a command or a background task reads it here at its entry point. clippy's
/// `disallowed-methods` (`clippy.toml`) refuses `Utc::now` and `SystemTime::now` elsewhere, so a
/// test clock, when one is needed, replaces one function. `tessera_jwt` and `tessera_db`, which
/// do not depend on this crate, each have their own single `#[expect]`ed read.
#[expect(clippy::disallowed_methods, reason = "the services' one clock read")]
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

pub use bootstrap::{
    ConfigAction, Foundation, FoundationSettings, Running, Service, ServiceCommand,
    consumer_config, print_effective, serve,
};
pub use diesel_migrations::EmbeddedMigrations;
pub use dlq::DlqCommand;
pub use tessera_http::config::ServiceConfig;

/// Declares a service binary in its crate's `cli.rs`: the marker type implementing
/// [`Service`], the `Command` enum of its subcommands — the shared ones ([`ServiceCommand`],
/// flattened in) followed by the service's own variants, written after the name — and the
/// `Cli` parser. The crate follows the one service shape: `crate::config::Config`
/// implementing [`ServiceConfig`] with `for_tests(database_url, amqp_url)`,
/// `crate::startup::{MIGRATIONS, build}`, `crate::openapi::yaml()`; `version` and `about` come
/// from the crate's `Cargo.toml`.
///
/// ```text
/// tessera_service::service! {
///     ControlPlane = "control-plane";
///     /// Manage white labels.
///     #[command(subcommand)]
///     Wl(WlCommand),
/// }
/// ```
#[macro_export]
#[expect(
    clippy::crate_in_macro_def,
    reason = "`crate::` is the calling service's crate: the macro wires that crate's modules"
)]
macro_rules! service {
    ($name:ident = $binary:literal $(; $($commands:tt)*)?) => {
        #[doc = concat!("The `", $binary, "` binary, as its shared subcommands and the integration tests see it.")]
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl $crate::Service for $name {
            const NAME: &'static str = $binary;
            const MIGRATIONS: &'static [$crate::EmbeddedMigrations] = crate::startup::MIGRATIONS;
            type Config = crate::config::Config;
            type Cli = Cli;

            fn config() -> ::anyhow::Result<Self::Config> {
                Ok(<crate::config::Config as $crate::ServiceConfig>::from_environment()?)
            }

            fn config_for_tests(database_url: &str, amqp_url: &str) -> ::std::result::Result<Self::Config, ::std::string::String> {
                crate::config::Config::for_tests(database_url, amqp_url)
            }

            async fn build(config: Self::Config) -> ::anyhow::Result<$crate::Running> {
                crate::startup::build(config).await
            }

            fn openapi() -> ::anyhow::Result<String> {
                crate::openapi::yaml()
            }
        }

        #[doc = concat!("The `", $binary, "` subcommands: the shared ones, then the service's own.")]
        #[derive(Debug, ::clap::Subcommand)]
        pub enum Command {
            /// The shared subcommands: `serve` (the default), `migrate`, `openapi`, `config`,
            /// `completions`.
            #[command(flatten)]
            Service($crate::ServiceCommand),
            $($($commands)*)?
        }

        #[doc = concat!("The `", $binary, "` command line (`", $binary, " --help`).")]
        #[derive(Debug, ::clap::Parser)]
        #[command(name = $binary, version, about, long_about = None)]
        pub struct Cli {
            /// What to do (default: serve).
            #[command(subcommand)]
            pub command: Option<Command>,
        }
    };
}

/// Prints `value` on stdout as one pretty JSON document and a newline: what the admin
/// subcommands (`user create`, `wl list`, …) print, for a terminal or for `jq`.
///
/// # Errors
/// Serialisation or a closed stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// An account's first password for an admin subcommand (identity's `agent create`,
/// users-registration's `user create`): the variable the command names, when set and not empty,
/// else a random one — 24 characters, base64url of 18 bytes from the system RNG
/// (`tessera_db::one_time::random_text`) — that the command prints once beside what it created
/// ([`InitialPassword::shown`]). Only its Argon2id hash is stored. No `Debug`: it is a secret.
pub struct InitialPassword {
    value: secrecy::SecretString,
    generated: bool,
}

impl InitialPassword {
    /// The password from the variable `var`, or a generated one when it is unset or empty.
    ///
    /// # Errors
    /// The system RNG failed.
    pub fn from_env(var: &str) -> anyhow::Result<Self> {
        Self::from_value(std::env::var(var).ok())
    }

    /// [`Self::from_env`] with the variable's value given.
    fn from_value(set: Option<String>) -> anyhow::Result<Self> {
        Ok(match set.filter(|p| !p.is_empty()) {
            Some(p) => Self {
                value: p.into(),
                generated: false,
            },
            None => Self {
                value: tessera_db::one_time::random_text::<18>()
                    .map_err(|_| anyhow::anyhow!("the system RNG failed"))?
                    .into(),
                generated: true,
            },
        })
    }

    /// The password, to hash.
    pub fn secret(&self) -> secrecy::SecretString {
        self.value.clone()
    }

    /// What the command prints: `created` as JSON, with `"password"` added when it was generated
    /// (the one time it is shown); a password the operator chose is never echoed.
    ///
    /// # Errors
    /// `created` does not serialise.
    pub fn shown(&self, created: &impl serde::Serialize) -> anyhow::Result<serde_json::Value> {
        use secrecy::ExposeSecret;
        let mut out = serde_json::to_value(created)?;
        if self.generated
            && let Some(map) = out.as_object_mut()
        {
            map.insert(
                "password".to_owned(),
                self.value.expose_secret().to_owned().into(),
            );
        }
        Ok(out)
    }
}

/// One database connection, outside any pool, for an admin subcommand.
///
/// # Errors
/// The database is unreachable or refuses the connection.
pub async fn connect(database_url: &str) -> anyhow::Result<diesel_async::AsyncPgConnection> {
    use diesel_async::AsyncConnection;
    Ok(diesel_async::AsyncPgConnection::establish(database_url).await?)
}

/// Reads `.env` in the working directory (not its parents) into the environment, as Laravel
/// does; a variable already set in the environment keeps its value. Call it first in `main`,
/// before anything reads the environment. Returns whether a file was read.
///
/// # Errors
/// A `.env` that exists but cannot be read or parsed (the error names the line).
pub fn load_dotenv() -> anyhow::Result<bool> {
    match dotenvy::from_path(".env") {
        Ok(()) => Ok(true),
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(anyhow::anyhow!(".env: {e}")),
    }
}

/// The start of every `main`: [`load_dotenv`], or the exit code of its error (printed as
/// [`exit`] prints errors).
///
/// # Errors
/// The exit code to return at once.
pub fn prepare(binary: &str) -> Result<(), std::process::ExitCode> {
    load_dotenv()
        .map(|_| ())
        .map_err(|e| exit(binary, Err::<(), _>(e)))
}

/// `<binary> completions <shell>`: the shell completion script of the CLI `C` on stdout
/// (`identity completions bash > /etc/bash_completion.d/identity`).
pub fn completions<C: clap::CommandFactory>(shell: clap_complete::Shell) {
    let mut command = C::command();
    let binary = command.get_name().to_owned();
    clap_complete::generate(shell, &mut command, binary, &mut std::io::stdout());
}

/// The shells `completions` writes for.
pub use clap_complete::Shell;

/// What a command returns on success: nothing (exit 0) or its own exit code.
pub trait Outcome {
    /// The process exit code.
    fn code(self) -> std::process::ExitCode;
}

impl Outcome for () {
    fn code(self) -> std::process::ExitCode {
        std::process::ExitCode::SUCCESS
    }
}

impl Outcome for u8 {
    fn code(self) -> std::process::ExitCode {
        std::process::ExitCode::from(self)
    }
}

/// The exit code of a service binary's `main` for `result`: the command's own, or the error's
/// chain on one line prefixed by the binary's name (`identity: invalid environment variable …`)
/// and 1.
pub fn exit(binary: &str, result: anyhow::Result<impl Outcome>) -> std::process::ExitCode {
    match result {
        Ok(outcome) => outcome.code(),
        Err(e) => {
            eprintln!("{binary}: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A service as the `source` of the events it writes to its outbox (ARCHITECTURE.md §2
/// "Events"). Each service declares one, `pub const OUTBOX: EventSource =
/// EventSource("identity");`, and writes its events with [`EventSource::enqueue`] inside the
/// transaction of the change that causes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSource(pub &'static str);

impl EventSource {
    /// Writes one event to the outbox on `conn`, inside the caller's transaction: the envelope
    /// `{id (UUID v7), type: kind, source, time: now, requestId, data}` carries the current
    /// request's id ([`tessera_http::request_id::current`]) and the message the current span's
    /// W3C trace context ([`tessera_telemetry::trace_headers`]). The relay publishes it after
    /// the commit.
    ///
    /// # Errors
    /// Database errors, or `data` that cannot be serialised (as
    /// `diesel::result::Error::SerializationError`, so the transaction rolls back).
    pub async fn enqueue<T: serde::Serialize>(
        self,
        conn: &mut diesel_async::AsyncPgConnection,
        kind: &str,
        data: T,
        now: DateTime<Utc>,
    ) -> Result<(), diesel::result::Error> {
        let message = self.message(kind, data, now)?;
        tessera_events::outbox::enqueue(conn, &[message]).await?;
        Ok(())
    }

    /// The outbox row [`EventSource::enqueue`] writes, for a caller that writes it in its own
    /// statement: the envelope with the current request id, and the current span's trace
    /// headers.
    ///
    /// # Errors
    /// `data` that does not serialise (as a diesel serialisation error, to fail the
    /// transaction).
    pub fn message<T: serde::Serialize>(
        self,
        kind: &str,
        data: T,
        now: DateTime<Utc>,
    ) -> Result<tessera_events::outbox::OutboxMessage, diesel::result::Error> {
        let envelope = tessera_events::EventEnvelope::new(
            self.0,
            kind,
            data,
            tessera_http::request_id::current(),
            now,
        );
        tessera_events::outbox::OutboxMessage::new(&envelope, tessera_telemetry::trace_headers())
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::InitialPassword;

    #[test]
    fn an_initial_password_is_the_operators_or_a_fresh_one_shown_once() {
        let created = serde_json::json!({"id": "u-1", "email": "ana@acme.test"});
        // The operator's: used as given, never echoed.
        let chosen = InitialPassword::from_value(Some("correct horse".into())).unwrap();
        assert_eq!(chosen.secret().expose_secret(), "correct horse");
        assert_eq!(chosen.shown(&created).unwrap(), created);
        // Unset or empty: generated, 24 base64url characters, different each time, shown.
        let a = InitialPassword::from_value(None).unwrap();
        let b = InitialPassword::from_value(Some(String::new())).unwrap();
        let (pa, pb) = (a.secret(), b.secret());
        for p in [pa.expose_secret(), pb.expose_secret()] {
            assert_eq!(p.len(), 24, "{p}");
            assert!(
                p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{p}"
            );
        }
        assert_ne!(pa.expose_secret(), pb.expose_secret());
        let shown = a.shown(&created).unwrap();
        assert_eq!(shown["password"], pa.expose_secret());
        assert_eq!(shown["id"], "u-1");
    }
}
