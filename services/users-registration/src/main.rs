//! `users-registration`: `serve` (default), `migrate`, and the operator CLI. See
//! `users-registration --help`.

use clap::Parser;
use tessera_users_registration::cli::{Cli, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("users-registration: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
