//! `quotations`: `serve` (default), `migrate`, `collect`, `reconcile`, `openapi`, …. See `quotations --help`.

use clap::Parser;
use tessera_quotations::cli::{Cli, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("quotations: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
