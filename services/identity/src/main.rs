//! `identity`: `serve` (default), `migrate`, and the operator CLI. See `identity --help`.

use clap::Parser;
use tessera_identity::cli::{Cli, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    if let Err(code) = tessera_service::prepare(env!("CARGO_BIN_NAME")) {
        return code;
    }
    tessera_service::exit(env!("CARGO_BIN_NAME"), run(Cli::parse()).await)
}
