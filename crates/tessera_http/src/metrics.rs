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

/// A counter of outcomes (`<name>{<label>}`), every one of `outcomes` present from the start at
/// 0, so a scrape shows the whole set before traffic and a rate over a new label never starts
/// from nothing.
///
/// # Errors
/// An invalid name or label (a programming error).
pub fn outcome_counter(
    name: &str,
    help: &str,
    label: &str,
    outcomes: &[&str],
) -> Result<prometheus::IntCounterVec, prometheus::Error> {
    let counter = prometheus::IntCounterVec::new(prometheus::Opts::new(name, help), &[label])?;
    for outcome in outcomes {
        counter.with_label_values(&[outcome]).reset();
    }
    Ok(counter)
}

/// The outcomes of [`login_counter`].
pub const LOGIN_OUTCOMES: [&str; 6] = [
    "succeeded",
    "invalid_credentials",
    "throttled",
    "not_allowed",
    "invalid_request",
    "error",
];

/// `logins_total{outcome}`: password sign-ins by outcome ([`LOGIN_OUTCOMES`], each present
/// from the start), counted by [`login_outcome`] of the handler's result.
///
/// # Errors
/// A programming error in the name.
pub fn login_counter() -> Result<prometheus::IntCounterVec, prometheus::Error> {
    outcome_counter(
        "logins_total",
        "Password sign-ins by outcome",
        "outcome",
        &LOGIN_OUTCOMES,
    )
}

/// Counts `result` on `logins` ([`login_counter`]) by [`login_outcome`] and hands it back: a
/// login handler's last expression.
pub fn count_login<T>(
    logins: &prometheus::IntCounterVec,
    result: Result<T, crate::ApiError>,
) -> Result<T, crate::ApiError> {
    logins.with_label_values(&[login_outcome(&result)]).inc();
    result
}

/// The outcome of a login handler's `result`: `succeeded` (a session opened, also one that
/// still needs its second factor), `invalid_credentials`, `throttled` (429), `not_allowed`
/// (right password, account not approved: 403), `invalid_request` (the body or the tenant:
/// 4xx otherwise), `error` (5xx).
pub fn login_outcome<T>(result: &Result<T, crate::ApiError>) -> &'static str {
    match result {
        Ok(_) => "succeeded",
        Err(e) => match e.code() {
            crate::ErrorCode::InvalidCredentials => "invalid_credentials",
            crate::ErrorCode::TooManyRequests => "throttled",
            crate::ErrorCode::Forbidden => "not_allowed",
            _ if e.status().is_server_error() => "error",
            _ => "invalid_request",
        },
    }
}
