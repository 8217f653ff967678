//! `credential-broker`: `serve` (default), `migrate`, and the operator CLI. See `credential-broker --help`.

use clap::Parser;
use tessera_credential_broker::cli::{Cli, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("credential-broker: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
