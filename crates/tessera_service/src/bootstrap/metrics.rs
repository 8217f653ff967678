//! The gauges every service's `/metrics` has besides HTTP (`docs/metrics.md`): the broker link,
//! the database pool (OpenTelemetry's `db.client.connection.*` conventions) and the outbox
//! backlog.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tessera_db::DbPool;
use tessera_http::metrics::prometheus::core::{Collector, Desc};
use tessera_http::metrics::prometheus::proto::MetricFamily;
use tessera_http::metrics::prometheus::{Gauge, IntGauge, IntGaugeVec, Opts, Registry};

/// How often the outbox gauges are read from the database.
const OUTBOX_REFRESH: Duration = Duration::from_secs(10);

/// `broker_connected` (1 while the outbox relay is connected, else 0) and the request pool's
/// `db_client_connection_count{db_client_connection_state="used"|"idle"}`,
/// `db_client_connection_max` and `db_client_connection_pending_requests`, read at each scrape.
struct LinkGauges {
    connected: Arc<AtomicBool>,
    broker: IntGauge,
    pool: DbPool,
    connections: IntGaugeVec,
    max: IntGauge,
    pending: IntGauge,
}

impl Collector for LinkGauges {
    fn desc(&self) -> Vec<&Desc> {
        let mut d = self.broker.desc();
        d.extend(self.connections.desc());
        d.extend(self.max.desc());
        d.extend(self.pending.desc());
        d
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.broker
            .set(i64::from(self.connected.load(Ordering::Relaxed)));
        let status = self.pool.status();
        let size = i64::try_from(status.size).unwrap_or(i64::MAX);
        let idle = i64::try_from(status.available).unwrap_or(0);
        self.connections.with_label_values(&["idle"]).set(idle);
        self.connections
            .with_label_values(&["used"])
            .set(size.saturating_sub(idle));
        self.max
            .set(i64::try_from(status.max_size).unwrap_or(i64::MAX));
        self.pending
            .set(i64::try_from(status.waiting).unwrap_or(i64::MAX));
        let mut families = self.broker.collect();
        families.extend(self.connections.collect());
        families.extend(self.max.collect());
        families.extend(self.pending.collect());
        families
    }
}

/// Registers the link and pool gauges and starts refreshing `outbox_backlog_events` and
/// `outbox_oldest_event_age_seconds` from `events_pool` every 10 s.
///
/// # Errors
/// A name already registered.
pub(super) fn register(
    registry: &Registry,
    connected: Arc<AtomicBool>,
    pool: DbPool,
    events_pool: DbPool,
) -> anyhow::Result<()> {
    let links = LinkGauges {
        connected,
        broker: IntGauge::new(
            "broker_connected",
            "1 while the outbox relay is connected to the broker, else 0",
        )?,
        pool,
        connections: IntGaugeVec::new(
            Opts::new(
                "db_client_connection_count",
                "Connections of the request pool, by state (used or idle)",
            ),
            &["db_client_connection_state"],
        )?,
        max: IntGauge::new(
            "db_client_connection_max",
            "The most connections the request pool opens",
        )?,
        pending: IntGauge::new(
            "db_client_connection_pending_requests",
            "Requests waiting for a connection of the request pool",
        )?,
    };
    registry.register(Box::new(links))?;
    for collector in tessera_events::metrics::collectors() {
        registry.register(collector)?;
    }
    let backlog = IntGauge::new(
        "outbox_backlog_events",
        "Events written to the outbox and not yet confirmed by the broker",
    )?;
    let oldest = Gauge::new(
        "outbox_oldest_event_age_seconds",
        "Age of the oldest unpublished outbox event (0 when there is none)",
    )?;
    registry.register(Box::new(backlog.clone()))?;
    registry.register(Box::new(oldest.clone()))?;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(OUTBOX_REFRESH);
        loop {
            tick.tick().await;
            let Ok(mut conn) = events_pool.get().await else {
                continue;
            };
            match tessera_events::outbox::backlog(&mut conn).await {
                Ok((count, age)) => {
                    backlog.set(count);
                    oldest.set(age);
                }
                Err(e) => tracing::warn!(error = %e, "reading the outbox backlog failed"),
            }
        }
    });
    Ok(())
}
