//! What the relay and the consumers count, for each service's `/metrics` (`docs/metrics.md`):
//! process-wide collectors that `tessera_service`'s bootstrap adds to the service's registry.

use std::sync::LazyLock;

use prometheus::core::Collector;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts};

/// `outbox_publish_lag_seconds`: from the moment an event was written to the outbox to the
/// broker's confirm of its publication, seconds (buckets 1 ms to 5 min). The relay's delivery
/// latency: its linger (30 ms) plus the round, and the whole outage when the broker was down.
#[expect(clippy::expect_used, reason = "constant options the crate accepts")]
pub static PUBLISH_LAG: LazyLock<Histogram> = LazyLock::new(|| {
    Histogram::with_opts(
        HistogramOpts::new(
            "outbox_publish_lag_seconds",
            "From an event's write to the outbox to the broker's confirm, seconds",
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            60.0, 300.0,
        ]),
    )
    .expect("valid histogram options")
});

/// `events_consumed_total{messaging_destination_name, outcome}`: deliveries a consumer handled,
/// by its queue and [`crate::consumer::Outcome`] (`processed`, `duplicate`, `retried`,
/// `dead_lettered`).
#[expect(clippy::expect_used, reason = "constant options the crate accepts")]
pub static CONSUMED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    IntCounterVec::new(
        Opts::new(
            "events_consumed_total",
            "Event deliveries handled by a consumer, by queue and outcome",
        ),
        &["messaging_destination_name", "outcome"],
    )
    .expect("valid counter options")
});

/// The outcomes [`CONSUMED`] counts, each present from a consumer's start.
pub const OUTCOMES: [&str; 4] = ["processed", "duplicate", "retried", "dead_lettered"];

/// Every collector of this module, to register on a service's registry.
pub fn collectors() -> Vec<Box<dyn Collector>> {
    vec![Box::new(PUBLISH_LAG.clone()), Box::new(CONSUMED.clone())]
}

/// Makes every outcome of `queue` present (at 0) before its first delivery.
pub fn consumer_started(queue: &str) {
    for outcome in OUTCOMES {
        CONSUMED.with_label_values(&[queue, outcome]);
    }
}
