//! `credential-broker`: `serve` (default), `migrate`, and the operator CLI. See `credential-broker --help`.

use clap::Parser;
use tessera_credential_broker::cli::{Cli, run};

/// mimalloc instead of glibc's malloc: the token path allocates many small, short-lived
/// buffers across threads (glibc's malloc/free were ~12 % of the service's CPU under load).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    if let Err(code) = tessera_service::prepare(env!("CARGO_BIN_NAME")) {
        return code;
    }
    tessera_service::exit(env!("CARGO_BIN_NAME"), run(Cli::parse()).await)
}
