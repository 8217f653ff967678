//! What every Tessera service binary shares (STYLE.md §1 `startup.rs`, `main.rs`):
//!
//! - [`bootstrap`]: migrations, the database pool, the outbox relay, metrics and readiness,
//!   the HTTP server and the graceful stop ([`Foundation`], [`Running`]), and the `serve` /
//!   `migrate` subcommands every CLI flattens in ([`ServiceCommand`]);
//! - [`exit`]: the end of every `main`, one line `<binary>: <error>` on stderr and the exit code.
//!
//! `tessera_events` keeps only events; a service's CLI depends on it only if it publishes.

pub mod bootstrap;

pub use bootstrap::{Foundation, FoundationSettings, Running, ServiceCommand, serve};

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
