//! Building and running the application (STYLE.md §1 `startup.rs`).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpServer, web};
use diesel_migrations::EmbeddedMigrations;
use secrecy::ExposeSecret;
use tessera_db::sealed::SealingKey;
use tessera_events::service::{Foundation, FoundationSettings, Running};
use tessera_http::{ExtractorOptions, GatewayGuard};

use crate::config::{AppEnv, Config};
use crate::password::Hasher;
use crate::state::AppState;

/// The service's own migrations.
pub const SERVICE_MIGRATIONS: EmbeddedMigrations =
    diesel_migrations::embed_migrations!("../../migrations/identity");

/// Every migration the service runs: the shared outbox tables, then its own.
pub static MIGRATIONS: &[EmbeddedMigrations] = &[tessera_events::MIGRATIONS, SERVICE_MIGRATIONS];

/// A built, bound, not yet running identity service.
pub type Application = Running;

/// Migrates (when configured), connects, computes the dummy password hash, starts the outbox
/// relay and binds the listener.
///
/// # Errors
/// Invalid keys or Argon2 parameters, a failed migration, or a port that cannot be bound.
pub async fn build(config: Config) -> anyhow::Result<Application> {
    let foundation = Foundation::start(FoundationSettings::new(
        "identity",
        &config.base,
        MIGRATIONS,
    ))
    .await?;
    let keys = tessera_jwt::KeyStore::open(
        config.jwt_signing_keys_dir.as_deref(),
        config.base.app_env != AppEnv::Production,
        Duration::from_secs(config.jwt_key_publish_lead_seconds),
        config.session_timeout(),
    )
    .map_err(|e| anyhow::anyhow!("invalid environment variable JWT_SIGNING_KEYS_DIR: {e}"))?;
    keys.spawn_reloader(Duration::from_secs(config.jwt_keys_reload_seconds));
    let mfa_key = SealingKey::from_base64(config.identity_mfa_encryption_key.expose_secret())
        .map_err(|e| {
            anyhow::anyhow!("invalid environment variable IDENTITY_MFA_ENCRYPTION_KEY: {e}")
        })?;
    let hasher = Hasher::new(&config.argon2)?;
    foundation
        .prometheus
        .registry
        .register(Box::new(hasher.verifications()))?;
    let state = web::Data::new(AppState {
        roles: config.roles(),
        pool: foundation.pool.clone(),
        hasher,
        keys,
        mfa_key: Arc::new(mfa_key),
        relay_wake: foundation.relay.notifier(),
        config: Arc::new(config.clone()),
    });
    let readiness = web::Data::new(foundation.readiness());
    let listener = TcpListener::bind((config.base.app_host.as_str(), config.app_port))?;
    let port = listener.local_addr()?.port();
    let (secret, enforce) = (
        config.base.gateway_secret.clone(),
        config.base.gateway_enforce_source,
    );
    let prometheus = foundation.prometheus.clone();
    let mut server = HttpServer::new(move || {
        let (state, readiness) = (state.clone(), readiness.clone());
        tessera_http::platform_app(
            move |c| {
                c.app_data(state)
                    .app_data(readiness)
                    .configure(crate::routes::configure);
            },
            ExtractorOptions::default(),
            prometheus.clone(),
            GatewayGuard::new(secret.as_deref(), enforce),
        )
    })
    .shutdown_timeout(config.base.shutdown_timeout_seconds)
    .listen(listener)?;
    if let Some(workers) = config.base.app_workers {
        server = server.workers(workers.max(1));
    }
    tracing::info!(port, issuer_base = %config.identity_issuer_base_url, "identity listening");
    Ok(foundation.running(port, server.run(), None))
}
