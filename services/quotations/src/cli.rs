//! The command line: `serve` (default), `migrate`, `openapi`.

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::startup::MIGRATIONS;

/// Tessera quotations service.
#[derive(Debug, Parser)]
#[command(name = "quotations", version, about)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP (configuration from the environment; see .env.example).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate {
        /// Create the database first if it does not exist.
        #[arg(long)]
        create_database: bool,
    },
    /// Print the OpenAPI document as YAML.
    Openapi,
}

/// Runs the command.
///
/// # Errors
/// Any failure, as one line for the terminal.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let config = Config::from_environment()?;
            let telemetry = tessera_telemetry::init("quotations")?;
            let app = crate::startup::build(config).await?;
            let result = app.run_until_stopped().await;
            telemetry.shutdown();
            result
        }
        Command::Migrate { create_database } => {
            tessera_db::migrate_command(create_database, MIGRATIONS).await
        }
        Command::Openapi => {
            print!("{}", crate::openapi::yaml()?);
            Ok(())
        }
    }
}
