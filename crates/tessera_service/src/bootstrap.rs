//! What every service's `startup.rs` does before and after its own parts: migrations, the
//! database pool, the outbox relay, metrics and readiness, and the graceful stop
//! (STYLE.md §1 `startup.rs`; ARCHITECTURE.md §2 "Health").

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{HttpServer, web};
use diesel_migrations::EmbeddedMigrations;
use tessera_db::{DbPool, PoolSettings, build_pool, ping, run_migrations};
use tessera_http::config::ServiceSettings;
use tessera_http::metrics::{PrometheusMetrics, prometheus_metrics};
use tessera_http::{ExtractorOptions, GatewayGuard, Probe, Readiness};
use tokio::sync::watch;

use tessera_events::{ConsumerConfig, Relay, RelayConfig, RelayHandle};

mod command;
mod metrics;
pub use command::*;

/// What [`Foundation::start`] needs.
#[derive(Clone, Copy)]
pub struct FoundationSettings<'a> {
    /// Service name (metrics, broker connection name).
    pub service: &'static str,
    /// `DATABASE_URL`.
    pub database_url: &'a str,
    /// `AMQP_URL`.
    pub amqp_url: &'a str,
    /// The exchange the outbox relay publishes to ([`tessera_events::EXCHANGE`] unless a test
    /// set [`ServiceSettings::events_exchange`]).
    pub exchange: &'a str,
    /// Apply `migrations` first (`RUN_MIGRATIONS`).
    pub migrate: bool,
    /// The service's migration sources, in order (the outbox tables first).
    pub migrations: &'static [EmbeddedMigrations],
    /// `DB_POOL_SIZE`.
    pub pool_size: usize,
    /// `APP_DEBUG`: `details` in error envelopes.
    pub debug: bool,
}

impl<'a> FoundationSettings<'a> {
    /// The settings of service `service` from its [`ServiceSettings`] (`DATABASE_URL`,
    /// `AMQP_URL`, `RUN_MIGRATIONS`, `DB_POOL_SIZE`, `APP_DEBUG`, the events exchange) and its
    /// `migrations`.
    pub fn new(
        service: &'static str,
        base: &'a ServiceSettings,
        migrations: &'static [EmbeddedMigrations],
    ) -> Self {
        Self {
            service,
            database_url: &base.database_url,
            amqp_url: &base.amqp_url,
            exchange: events_exchange(base),
            migrate: base.migrate_on_start(),
            migrations,
            pool_size: base.db_pool_size,
            debug: base.app_debug,
        }
    }
}

/// The exchange a service's events go through: [`ServiceSettings::events_exchange`] when a
/// test set one, else [`tessera_events::EXCHANGE`].
fn events_exchange(base: &ServiceSettings) -> &str {
    base.events_exchange
        .as_deref()
        .unwrap_or(tessera_events::EXCHANGE)
}

/// A consumer of the service's events: `queue` bound to `bindings` on the service's events
/// exchange, its queues expiring as [`ServiceSettings::consumer_queue_expires`] says; the other
/// settings are [`ConsumerConfig::new`]'s defaults (5 attempts, 1 s back-off, prefetch 16).
pub fn consumer_config(
    base: &ServiceSettings,
    queue: &str,
    bindings: Vec<String>,
) -> ConsumerConfig {
    let mut config = ConsumerConfig::new(&base.amqp_url, queue, bindings);
    events_exchange(base).clone_into(&mut config.exchange);
    config.expires = base.consumer_queue_expires;
    config
}

/// The shared parts of a running service.
#[derive(derive_more::Debug)]
#[debug("Foundation {{ .. }}")]
pub struct Foundation {
    /// The service's database pool.
    pub pool: DbPool,
    /// The relay publishing the outbox (its own two-connection pool, on this runtime).
    pub relay: RelayHandle,
    /// RED metrics middleware and its registry (register service counters on it).
    pub prometheus: PrometheusMetrics,
}

impl Foundation {
    /// [`Foundation::start`] for service `S` with its shared settings: its name and migrations
    /// come from its [`crate::Service`] impl.
    ///
    /// # Errors
    /// As [`Foundation::start`].
    pub async fn start_for<S: crate::Service>(base: &ServiceSettings) -> anyhow::Result<Self> {
        Self::start(FoundationSettings::new(S::NAME, base, S::MIGRATIONS)).await
    }

    /// Sets the debug flag, migrates (when asked), builds the pool, starts the relay and the
    /// metrics registry.
    ///
    /// # Errors
    /// A failed migration or an invalid pool or metrics configuration.
    pub async fn start(s: FoundationSettings<'_>) -> anyhow::Result<Self> {
        tessera_http::error::set_debug(s.debug);
        if s.migrate {
            let applied = run_migrations(s.database_url, s.migrations).await?;
            tracing::info!(count = applied.len(), "migrations applied");
        }
        let pool = build_pool(
            s.database_url,
            PoolSettings {
                max_size: s.pool_size,
                ..Default::default()
            },
        )?;
        // The relay gets its own small pool: a tokio-postgres connection is driven by the
        // runtime that opened it, and the relay runs here, not on an HTTP worker.
        let events_pool = build_pool(
            s.database_url,
            PoolSettings {
                max_size: 2,
                ..Default::default()
            },
        )?;
        let mut relay_config = RelayConfig::new(s.amqp_url, s.service);
        s.exchange.clone_into(&mut relay_config.exchange);
        let relay = Relay::new(events_pool.clone(), relay_config).spawn();
        let prometheus = prometheus_metrics(s.service).map_err(|e| anyhow::anyhow!(e))?;
        metrics::register(
            &prometheus.registry,
            relay.connected_flag(),
            pool.clone(),
            events_pool,
        )?;
        Ok(Self {
            pool,
            relay,
            prometheus,
        })
    }

    /// `/readyz` probes: `database` (a ping through the pool). The broker (the relay is
    /// connected) is only reported, in `/healthz`, the `broker_connected` gauge and the relay's
    /// log lines: the outbox keeps every event until it is back, so an outage of it is no reason
    /// to take the service out of rotation (issue #18).
    pub fn readiness(&self) -> Readiness {
        let pool = self.pool.clone();
        Readiness::default()
            .with(Probe::new("database", move || {
                let pool = pool.clone();
                async move { ping(&pool).await }
            }))
            // The outbox rides out a broker outage: reported in /healthz, never unready.
            .reporting(Probe::flag("broker", self.relay.connected_flag()))
    }

    /// Adds a service's own collector (a counter, a histogram …) to the registry `/metrics`
    /// serves.
    ///
    /// # Errors
    /// A collector with the same name is already registered.
    pub fn register<C>(&self, collector: C) -> anyhow::Result<()>
    where
        C: tessera_http::metrics::prometheus::core::Collector + 'static,
    {
        Ok(self.prometheus.registry.register(Box::new(collector))?)
    }

    /// [`Foundation::serve`] for a service whose workers share one `state` (an
    /// `Arc` inside `web::Data`): every worker gets a clone of it and the routes `routes`
    /// registers (the service's `openapi::configure`).
    ///
    /// # Errors
    /// The port cannot be bound.
    pub fn serve_state<T: Send + Sync + 'static>(
        self,
        base: &ServiceSettings,
        state: web::Data<T>,
        routes: fn(&mut web::ServiceConfig),
        background: Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
    ) -> anyhow::Result<Running> {
        self.serve(
            base,
            move |c| {
                c.app_data(state.clone()).configure(routes);
            },
            background,
        )
    }

    /// Binds `(APP_HOST, APP_PORT)` and serves the platform app ([`tessera_http::platform_app`],
    /// default extractor options, gateway trust from `base`): on every HTTP worker, readiness
    /// and whatever `configure` registers (called once per worker, so per-worker state can be
    /// built there). `SHUTDOWN_TIMEOUT_SECONDS` and `APP_WORKERS` come from `base`; `background`
    /// as in [`Foundation::running`].
    ///
    /// # Errors
    /// The port cannot be bound.
    pub fn serve<F>(
        self,
        base: &ServiceSettings,
        configure: F,
        background: Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
    ) -> anyhow::Result<Running>
    where
        F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    {
        let listener = TcpListener::bind((base.app_host.as_str(), base.app_port))?;
        let port = listener.local_addr()?.port();
        let readiness = web::Data::new(self.readiness());
        let prometheus = self.prometheus.clone();
        let (secret, enforce) = (base.gateway_secret.clone(), base.gateway_enforce_source);
        let mut server = HttpServer::new(move || {
            let (readiness, configure) = (readiness.clone(), configure.clone());
            tessera_http::platform_app(
                move |c| {
                    c.app_data(readiness);
                    configure(c);
                },
                ExtractorOptions::default(),
                prometheus.clone(),
                GatewayGuard::new(secret.as_deref(), enforce),
            )
        })
        .shutdown_timeout(base.shutdown_timeout_seconds)
        .listen(listener)?;
        if let Some(workers) = base.app_workers {
            server = server.workers(workers.max(1));
        }
        Ok(self.running(port, server.run(), background))
    }

    /// The running service: `server` (already bound to `port`), plus an optional background
    /// task (e.g. a consumer) stopped with it.
    pub fn running(
        self,
        port: u16,
        server: Server,
        background: Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
    ) -> Running {
        Running {
            port,
            server,
            relay: self.relay,
            pool: self.pool,
            background,
        }
    }
}

/// A built, bound, not yet running service.
#[derive(derive_more::Debug)]
pub struct Running {
    port: u16,
    #[debug(skip)]
    server: Server,
    #[debug(skip)]
    relay: RelayHandle,
    #[debug(skip)]
    pool: DbPool,
    #[debug(skip)]
    background: Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
}

impl Running {
    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database pool (for tests and tools).
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Serves until SIGTERM/SIGINT (in-flight requests get the server's shutdown timeout),
    /// stops the background task, then gives the outbox relay a last pass.
    ///
    /// # Errors
    /// Server I/O errors.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.server.await?;
        if let Some((stop, task)) = self.background {
            let _ = stop.send(true);
            let _ = task.await;
        }
        tracing::info!("HTTP server stopped; flushing the outbox");
        self.relay.shutdown(Duration::from_secs(10)).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_uses_the_platform_exchange_and_durable_queues() {
        let base = ServiceSettings::default();
        assert_eq!(
            FoundationSettings::new("svc", &base, &[]).exchange,
            tessera_events::EXCHANGE
        );
        let consumer = consumer_config(&base, "svc.events", vec!["a.b".to_owned()]);
        assert_eq!(consumer.exchange, tessera_events::EXCHANGE);
        assert_eq!(consumer.expires, None);
        assert_eq!(consumer.bindings, ["a.b"]);
    }

    #[test]
    fn a_tests_private_exchange_reaches_the_relay_and_every_consumer() {
        let mut base = ServiceSettings::for_tests("postgres://x/db", "amqp://x");
        base.events_exchange = Some("tessera.events.test-1".to_owned());
        assert_eq!(
            FoundationSettings::new("svc", &base, &[]).exchange,
            "tessera.events.test-1"
        );
        let consumer = consumer_config(&base, "svc.events", vec![]);
        assert_eq!(consumer.exchange, "tessera.events.test-1");
        assert_eq!(consumer.amqp_url, "amqp://x");
        assert_eq!(consumer.expires, Some(Duration::from_secs(300)));
    }
}
