//! `control-plane`: `serve` (default), `migrate`, and the operator CLI. See `control-plane --help`.

use clap::Parser;
use tessera_control_plane::cli::{Cli, run};

/// A current-thread runtime: it runs only the background tasks (the outbox relay, key reloads),
/// while actix runs one runtime per HTTP worker thread. A multi-threaded one added two more threads
/// competing for the cores (six alternating 12 s runs: 9,145–9,715 → 10,551–11,133 peer tokens/s;
/// credential-broker measured no difference and keeps the default).
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    if let Err(code) = tessera_service::prepare(env!("CARGO_BIN_NAME")) {
        return code;
    }
    tessera_service::exit(env!("CARGO_BIN_NAME"), run(Cli::parse()).await)
}
