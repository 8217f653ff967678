//! `gateway-auth`: the gateway's bearer-token check. See the crate docs and `docs/gateway.md`.

use tessera_gateway_auth::{Config, serve};

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateway-auth: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let telemetry = tessera_telemetry::init("gateway-auth")?;
    let config = Config::from_environment()?;
    let listener = std::net::TcpListener::bind((config.app_host.as_str(), config.app_port))?;
    tracing::info!(port = config.app_port, "gateway-auth listening");
    serve(&config, listener, None)?.await?;
    telemetry.shutdown();
    Ok(())
}
