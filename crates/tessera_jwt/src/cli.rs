//! The `keys` subcommand every token-issuing service shares (feature `cli`): create and rotate
//! a key directory (see [`crate::keys`] for its layout and [`crate::rotate_dir`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Subcommand, ValueEnum};

use crate::Algorithm;

/// Signing algorithms offered by the CLI.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Alg {
    /// ECDSA P-256 (default).
    Es256,
    /// Ed25519.
    Eddsa,
    /// RSA 2048.
    Rs256,
}

impl From<Alg> for Algorithm {
    fn from(a: Alg) -> Self {
        match a {
            Alg::Es256 => Algorithm::ES256,
            Alg::Eddsa => Algorithm::EdDSA,
            Alg::Rs256 => Algorithm::RS256,
        }
    }
}

/// `keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key directory with one active key (refuses a directory that has keys).
    Generate {
        /// Directory (created if missing).
        #[arg(long)]
        dir: PathBuf,
        /// Algorithm.
        #[arg(long, value_enum, default_value = "es256")]
        alg: Alg,
    },
    /// Add a key that activates after the lead time and retire the current one then.
    Rotate {
        /// Directory.
        #[arg(long)]
        dir: PathBuf,
        /// Algorithm.
        #[arg(long, value_enum, default_value = "es256")]
        alg: Alg,
        /// Seconds before the new key signs (≥ the JWKS max-age, so verifiers have it cached).
        #[arg(long, env = "JWT_KEY_PUBLISH_LEAD_SECONDS", default_value_t = 600)]
        lead_seconds: u64,
    },
}

/// Runs a `keys` command, printing the new key's `kid`.
///
/// # Errors
/// I/O and key-generation failures, or `generate` on a directory that already has keys.
pub fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Generate { dir, alg } => {
            let has_keys = std::fs::read_dir(&dir)
                .map(|d| {
                    d.filter_map(Result::ok)
                        .any(|e| e.file_name().to_string_lossy().ends_with(".pem"))
                })
                .unwrap_or(false);
            anyhow::ensure!(
                !has_keys,
                "{} already holds keys; use `keys rotate`",
                dir.display()
            );
            let kid = crate::rotate_dir(&dir, alg.into(), now(), Duration::ZERO)?;
            println!("{kid}");
            Ok(())
        }
        KeysCommand::Rotate {
            dir,
            alg,
            lead_seconds,
        } => {
            let kid =
                crate::rotate_dir(&dir, alg.into(), now(), Duration::from_secs(lead_seconds))?;
            println!("{kid}");
            Ok(())
        }
    }
}

/// The command line's clock: a command is an entry point, and reads the wall clock once.
#[expect(clippy::disallowed_methods, reason = "tessera_jwt's one clock read")]
fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
