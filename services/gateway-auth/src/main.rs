//! `gateway-auth`: the gateway's bearer-token check. See the crate docs and `docs/gateway.md`.

use clap::Parser;
use tessera_gateway_auth::{Config, serve};

/// Tessera gateway-auth: verifies identity's bearer JWTs for the gateway's auth_request
/// (`/verify`), with the revocation feed. Settings come from the environment
/// (`GATEWAY_TRUSTED_ISSUERS` required; docs/gateway.md lists the rest).
#[derive(Debug, Parser)]
#[command(name = "gateway-auth", version, about)]
struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve `/verify`, `/healthz`, `/readyz`, `/metrics` until SIGTERM.
    Serve,
    /// The configuration: `config show` (as every service's).
    Config {
        /// What to do with it.
        #[command(subcommand)]
        action: tessera_service::ConfigAction,
    },
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    if let Err(code) = tessera_service::prepare(env!("CARGO_BIN_NAME")) {
        return code;
    }
    tessera_service::exit(env!("CARGO_BIN_NAME"), run(Cli::parse()).await)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let telemetry = tessera_telemetry::init("gateway-auth")?;
            let config = Config::from_environment()?;
            let listener =
                std::net::TcpListener::bind((config.app_host.as_str(), config.app_port))?;
            tracing::info!(port = config.app_port, "gateway-auth listening");
            serve(&config, listener, None)?.await?;
            telemetry.shutdown();
            Ok(())
        }
        Command::Config {
            action: tessera_service::ConfigAction::Show,
        } => {
            let config = Config::from_environment()?;
            tessera_service::print_effective(tessera_http::config::show::variables("", &config))
        }
    }
}
