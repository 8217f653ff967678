//! `control-plane`: `serve` (default), `migrate`, and the operator CLI. See `control-plane --help`.

use clap::Parser;
use tessera_control_plane::cli::{Cli, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("control-plane: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
