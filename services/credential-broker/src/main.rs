//! `credential-broker`: `serve` (default), `migrate`, and the operator CLI. See `credential-broker --help`.

use clap::Parser;
use tessera_credential_broker::cli::{Cli, run};

/// mimalloc instead of glibc's malloc: the token path allocates many small, short-lived
/// buffers across threads (glibc's malloc/free were ~12 % of the service's CPU under load).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
