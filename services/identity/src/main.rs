//! `identity`: `serve` (default), `migrate`, and the operator CLI. See `identity --help`.

use clap::Parser;
use tessera_identity::cli::{Cli, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("identity: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
