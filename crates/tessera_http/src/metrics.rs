//! Prometheus `/metrics` (ARCHITECTURE.md §2 "Health, metrics"; catalogue: `docs/metrics.md`).
//!
//! Names and labels follow the OpenTelemetry HTTP semantic conventions as Prometheus spells
//! them (dots become underscores): `http_server_request_duration_seconds` (histogram) and
//! `http_server_requests_total`, labelled `http_route` (the route template; unmatched paths
//! fold into `UNKNOWN`, so cardinality stays bounded), `http_request_method` and
//! `http_response_status_code`, from `actix-web-prom`. Buckets start at 0.1 ms: most answers
//! take under a millisecond. The registry labels every metric it holds with `service`, so one
//! dashboard serves every service, and holds the `process_*` metrics of the process.
//! Services register their own collectors on [`PrometheusMetrics::registry`].

use std::collections::HashMap;

pub use actix_web_prom::PrometheusMetrics;
use actix_web_prom::{ActixMetricsConfiguration, LabelsConfiguration, PrometheusMetricsBuilder};

pub use prometheus;

/// Histogram buckets of `http_server_request_duration_seconds`, in seconds: 0.1 ms to 10 s.
pub const HTTP_DURATION_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// A registry whose every metric carries `service="<service>"`, with the process collector.
///
/// # Errors
/// When the label is invalid or the process collector cannot register (a programming error).
pub fn service_registry(service: &str) -> Result<prometheus::Registry, String> {
    let labels = HashMap::from([("service".to_owned(), service.to_owned())]);
    let registry =
        prometheus::Registry::new_custom(None, Some(labels)).map_err(|e| e.to_string())?;
    registry
        .register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .map_err(|e| e.to_string())?;
    Ok(registry)
}

/// Builds the metrics middleware for `service` on a [`service_registry`].
///
/// # Errors
/// When the metric names cannot be registered (a programming error).
pub fn prometheus_metrics(service: &str) -> Result<PrometheusMetrics, String> {
    PrometheusMetricsBuilder::new("")
        .registry(service_registry(service)?)
        .endpoint("/metrics")
        .exclude("/metrics")
        .exclude("/healthz")
        .exclude("/readyz")
        .mask_unmatched_patterns("UNKNOWN")
        .buckets(&HTTP_DURATION_BUCKETS)
        .metrics_configuration(
            ActixMetricsConfiguration::default()
                .http_requests_duration_seconds_name("http_server_request_duration_seconds")
                .http_requests_total_name("http_server_requests_total")
                .labels(
                    LabelsConfiguration::default()
                        .endpoint("http_route")
                        .method("http_request_method")
                        .status("http_response_status_code"),
                ),
        )
        .build()
        .map_err(|e| e.to_string())
}
