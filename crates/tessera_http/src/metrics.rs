//! Prometheus `/metrics` with RED metrics per route (ARCHITECTURE.md §2 "Health, metrics").
//!
//! `http_requests_total{endpoint,method,status}` and
//! `http_requests_duration_seconds{endpoint,method,status}` come from `actix-web-prom`,
//! with route templates (not raw paths) as `endpoint` and unmatched paths folded into
//! `UNKNOWN`, so label cardinality stays bounded. Services register their own counters on
//! [`PrometheusMetrics::registry`].

pub use actix_web_prom::PrometheusMetrics;
use actix_web_prom::PrometheusMetricsBuilder;

pub use prometheus;

/// Builds the metrics middleware for `service` (namespace = service name with `-` → `_`).
///
/// # Errors
/// When the metric names cannot be registered (a programming error).
pub fn prometheus_metrics(service: &str) -> Result<PrometheusMetrics, String> {
    let namespace = service.replace('-', "_");
    PrometheusMetricsBuilder::new(&namespace)
        .endpoint("/metrics")
        .exclude("/metrics")
        .exclude("/healthz")
        .exclude("/readyz")
        .mask_unmatched_patterns("UNKNOWN")
        .build()
        .map_err(|e| e.to_string())
}
