//! Building and running the application (STYLE.md §1 `startup.rs`).

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{HttpServer, web};
use diesel_migrations::EmbeddedMigrations;
use tessera_events::OutboxWriterFactory;
use tessera_http::{ExtractorOptions, GatewayGuard};
use tessera_service::{Foundation, Running};

use crate::config::Config;
use crate::registry::Registry;
use crate::state::{AppState, Metrics};

/// Every migration the service runs: the shared outbox tables, then its own.
pub const MIGRATIONS: &[EmbeddedMigrations] = &[
    tessera_events::MIGRATIONS,
    diesel_migrations::embed_migrations!("../../migrations/control-plane"),
];

/// Migrates (when configured), connects, starts the outbox relay and binds the listener.
///
/// # Errors
/// Invalid keys, a failed migration, or a port that cannot be bound.
pub async fn build(config: Config) -> anyhow::Result<Running> {
    let foundation = Foundation::start_for::<crate::cli::ControlPlane>(&config.base).await?;
    let keys = crate::keys::key_store(&config)?;
    keys.spawn_reloader(config.keys.reload_every());
    let metrics = Metrics::register(&foundation.prometheus.registry)?;
    let state = web::Data::new(AppState {
        known_scopes: config.known_scopes(),
        registry: Registry::new(foundation.pool.clone(), config.registry_cache_ttl()),
        keys,
        metrics,
        config: Arc::new(config.clone()),
    });
    let readiness = web::Data::new(foundation.readiness());
    let listener = TcpListener::bind((config.base.app_host.as_str(), config.base.app_port))?;
    let port = listener.local_addr()?.port();
    let (secret, enforce) = (
        config.base.gateway_secret.clone(),
        config.base.gateway_enforce_source,
    );
    // Each actix worker gets its own group-commit outbox writer and pool (a tokio-postgres
    // connection is driven by the runtime that opened it).
    let writers = OutboxWriterFactory::new(
        &config.base.database_url,
        foundation.relay.notifier(),
        config.outbox_batch_size,
        config.outbox_writers,
    )?;
    let prometheus = foundation.prometheus.clone();
    let mut server = HttpServer::new(move || {
        // Runs once per worker, on the worker's thread and runtime.
        let outbox = writers.spawn();
        let (state, readiness) = (state.clone(), readiness.clone());
        tessera_http::platform_app(
            move |c| {
                c.app_data(state)
                    .app_data(web::Data::new(outbox))
                    .app_data(readiness)
                    .configure(crate::openapi::configure);
            },
            ExtractorOptions::default(),
            prometheus.clone(),
            GatewayGuard::new(secret.as_deref(), enforce),
        )
    })
    .on_connect(crate::tls::on_connect)
    .shutdown_timeout(config.base.shutdown_timeout_seconds);
    server = match (&config.tls_cert_file, &config.tls_key_file) {
        (Some(cert), Some(key)) => {
            let tls = crate::tls::server_config(cert, key, config.tls_client_ca_file.as_deref())?;
            server.listen_rustls_0_23(listener, tls)?
        }
        _ => server.listen(listener)?,
    };
    if let Some(workers) = config.base.app_workers {
        server = server.workers(workers.max(1));
    }
    tracing::info!(port, tls = config.tls_cert_file.is_some(), mtls = config.tls_client_ca_file.is_some(),
        issuer = %config.cp_issuer, "control-plane listening");
    Ok(foundation.running(port, server.run(), None))
}
