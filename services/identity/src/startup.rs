//! Building and running the application (STYLE.md §1 `startup.rs`).

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{HttpServer, web};
use diesel_migrations::EmbeddedMigrations;
use tessera_db::{DbPool, PoolSettings, build_pool, ping, run_migrations};
use tessera_events::{Relay, RelayConfig, RelayHandle};
use tessera_http::metrics::prometheus_metrics;
use tessera_http::{ExtractorOptions, GatewayGuard, Probe, Readiness};

use secrecy::ExposeSecret;
use tessera_db::sealed::SealingKey;

use crate::config::{AppEnv, Config};
use crate::password::Hasher;
use crate::state::AppState;

/// The service's own migrations.
pub const SERVICE_MIGRATIONS: EmbeddedMigrations =
    diesel_migrations::embed_migrations!("../../migrations/identity");

/// Every migration the service runs: the shared outbox tables, then its own.
pub static MIGRATIONS: &[EmbeddedMigrations] = &[tessera_events::MIGRATIONS, SERVICE_MIGRATIONS];

/// A built, bound, not yet running application.
pub struct Application {
    port: u16,
    server: Server,
    relay: RelayHandle,
    pool: DbPool,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Migrates (when configured), connects, computes the dummy password hash, starts the
    /// outbox relay and binds the listener.
    ///
    /// # Errors
    /// Invalid keys or Argon2 parameters, a failed migration, or a port that cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        tessera_http::error::set_debug(config.app_debug);
        if config.migrate_on_start() {
            let applied = run_migrations(&config.database_url, MIGRATIONS).await?;
            tracing::info!(count = applied.len(), "migrations applied");
        }
        let pool = build_pool(
            &config.database_url,
            PoolSettings {
                max_size: config.db_pool_size,
                ..Default::default()
            },
        )?;
        let keys = tessera_jwt::KeyStore::open(
            config.jwt_signing_keys_dir.as_deref(),
            config.app_env != AppEnv::Production,
            Duration::from_secs(config.jwt_key_publish_lead_seconds),
            config.session_timeout(),
        )
        .map_err(|e| anyhow::anyhow!("invalid environment variable JWT_SIGNING_KEYS_DIR: {e}"))?;
        keys.spawn_reloader(Duration::from_secs(config.jwt_keys_reload_seconds));
        let mfa_key = SealingKey::from_base64(config.identity_mfa_encryption_key.expose_secret())
            .map_err(|e| {
            anyhow::anyhow!("invalid environment variable IDENTITY_MFA_ENCRYPTION_KEY: {e}")
        })?;
        let hasher = Hasher::new(&config)?;

        // The relay gets its own small pool: a tokio-postgres connection is driven by the
        // runtime that opened it, and the relay runs here, not on an HTTP worker.
        let events_pool = build_pool(
            &config.database_url,
            PoolSettings {
                max_size: 2,
                ..Default::default()
            },
        )?;
        let relay = Relay::new(
            events_pool,
            RelayConfig::new(config.amqp_url.clone(), "identity"),
        )
        .spawn();
        let prometheus = prometheus_metrics("identity").map_err(|e| anyhow::anyhow!(e))?;
        prometheus
            .registry
            .register(Box::new(hasher.verifications()))?;

        let state = web::Data::new(AppState {
            roles: config.roles(),
            pool: pool.clone(),
            hasher,
            keys,
            mfa_key: Arc::new(mfa_key),
            relay_wake: relay.notifier(),
            config: Arc::new(config.clone()),
        });
        let probe_pool = pool.clone();
        let connected: Arc<AtomicBool> = relay.connected_flag();
        let readiness = web::Data::new(
            Readiness::default()
                .with(Probe::new("database", move || {
                    let pool = probe_pool.clone();
                    async move { ping(&pool).await }
                }))
                .with(Probe::flag("broker", connected)),
        );

        let listener = TcpListener::bind((config.app_host.as_str(), config.app_port))?;
        let port = listener.local_addr()?.port();
        let secret = config.gateway_secret.clone();
        let enforce = config.gateway_enforce_source;
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
        .shutdown_timeout(config.shutdown_timeout_seconds);
        server = server.listen(listener)?;
        if let Some(workers) = config.app_workers {
            server = server.workers(workers.max(1));
        }
        tracing::info!(port, issuer_base = %config.identity_issuer_base_url, "identity listening");
        Ok(Self {
            port,
            server: server.run(),
            relay,
            pool,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database pool (for tests and tools).
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Serves until SIGTERM/SIGINT (in-flight requests get `SHUTDOWN_TIMEOUT_SECONDS`), then
    /// gives the outbox relay a last pass.
    ///
    /// # Errors
    /// Server I/O errors.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.server.await?;
        tracing::info!("HTTP server stopped; flushing the outbox");
        self.relay.shutdown(Duration::from_secs(10)).await;
        Ok(())
    }
}
