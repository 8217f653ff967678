//! `quotations`: `serve` (default), `migrate`, `openapi`. See `quotations --help`.

use clap::Parser;
use tessera_quotations::cli::{Cli, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quotations: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
