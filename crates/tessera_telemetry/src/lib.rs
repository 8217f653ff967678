#![doc = include_str!("../README.md")]

use std::collections::HashMap;

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The OTLP endpoint variable that switches export on.
pub const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Handles to the log writer and the exporters; flush them with [`Telemetry::shutdown`].
#[derive(Debug, Default)]
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
    log_writer: Option<tracing_appender::non_blocking::WorkerGuard>,
}

impl Telemetry {
    /// Flushes and stops the exporters and the log writer (call once, after the server stopped).
    pub fn shutdown(self) {
        if let Some(tp) = self.tracer_provider
            && let Err(e) = tp.shutdown()
        {
            tracing::warn!(error = %e, "trace exporter shutdown failed");
        }
        if let Some(mp) = self.meter_provider
            && let Err(e) = mp.shutdown()
        {
            tracing::warn!(error = %e, "metric exporter shutdown failed");
        }
        // Dropping the guard flushes the log lines still queued.
        drop(self.log_writer);
    }
}

fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs the global subscriber for `service` (module docs).
///
/// # Errors
/// When an exporter cannot be built from the OTel variables, or a subscriber is already set.
pub fn init(service: &'static str) -> anyhow::Result<Telemetry> {
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    // Lines are written by a dedicated thread, so request threads never block on stdout; when
    // its queue is full, callers wait rather than lines being dropped.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::stdout());
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(writer)
        .flatten_event(true)
        // The whole span list, so the request's root span (with `request_id`) is on every line.
        .with_current_span(false)
        .with_span_list(true)
        .with_target(true)
        .with_filter(env_filter());

    let exporting = std::env::var(OTLP_ENDPOINT_VAR).is_ok_and(|v| !v.trim().is_empty());
    if !exporting {
        tracing_subscriber::registry().with(json).try_init()?;
        return Ok(Telemetry {
            log_writer: Some(guard),
            ..Telemetry::default()
        });
    }

    let resource = resource(
        service,
        std::env::var("OTEL_SERVICE_NAME").ok().as_deref(),
        std::env::var("OTEL_RESOURCE_ATTRIBUTES").ok().as_deref(),
    );
    let span_exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()?;
    let tracer_provider = SdkTracerProvider::builder()
        .with_batch_exporter(span_exporter)
        .with_resource(resource.clone())
        .build();
    let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .build()?;
    let meter_provider = SdkMeterProvider::builder()
        .with_periodic_exporter(metric_exporter)
        .with_resource(resource)
        .build();
    opentelemetry::global::set_tracer_provider(tracer_provider.clone());
    opentelemetry::global::set_meter_provider(meter_provider.clone());
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer_provider.tracer(service))
        .with_filter(env_filter());
    tracing_subscriber::registry()
        .with(json)
        .with(otel)
        .try_init()?;
    Ok(Telemetry {
        tracer_provider: Some(tracer_provider),
        meter_provider: Some(meter_provider),
        log_writer: Some(guard),
    })
}

/// For tests: human-readable logs captured by the test harness; ignores a second call.
pub fn init_for_test() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(env_filter())
        .with_test_writer()
        .try_init();
}

/// W3C trace-context headers (`traceparent`, `tracestate`, `baggage`) for the current span,
/// to put on outbound HTTP requests and event messages. Empty when there is no sampled span.
pub fn trace_headers() -> HashMap<String, String> {
    let mut headers = HashMap::new();
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut headers));
    headers
}

/// Makes `span` a child of the W3C trace context in `headers` (from an event message).
pub fn set_parent_from(span: &tracing::Span, headers: &HashMap<String, String>) {
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(headers));
    let _ = span.set_parent(parent);
}

/// The OTel resource: the SDK's detectors (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`),
/// `service.version`, and `service` as `service.name` only when the environment names none
/// (the OTel specification: `OTEL_SERVICE_NAME` wins, then `service.name` in
/// `OTEL_RESOURCE_ATTRIBUTES`, then the SDK's default — here the binary's own name).
fn resource(
    service: &'static str,
    env_name: Option<&str>,
    env_attributes: Option<&str>,
) -> Resource {
    let mut builder = Resource::builder().with_attribute(opentelemetry::KeyValue::new(
        "service.version",
        env!("CARGO_PKG_VERSION"),
    ));
    if let Some(name) = code_service_name(service, env_name, env_attributes) {
        builder = builder.with_service_name(name);
    }
    builder.build()
}

/// `Some(service)` when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES`'s
/// `service.name` is set (non-empty): the name the code must supply.
fn code_service_name(
    service: &'static str,
    env_name: Option<&str>,
    env_attributes: Option<&str>,
) -> Option<&'static str> {
    let named = env_name.is_some_and(|n| !n.trim().is_empty())
        || env_attributes.is_some_and(|attrs| {
            attrs.split(',').any(|kv| {
                kv.split_once('=')
                    .is_some_and(|(k, v)| k.trim() == "service.name" && !v.trim().is_empty())
            })
        });
    (!named).then_some(service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_names_the_service_before_the_code() {
        assert_eq!(code_service_name("identity", None, None), Some("identity"));
        assert_eq!(
            code_service_name("identity", Some(""), Some("")),
            Some("identity")
        );
        assert_eq!(
            code_service_name("identity", Some("identity-eu"), None),
            None
        );
        assert_eq!(
            code_service_name(
                "identity",
                None,
                Some("deployment.environment=prod, service.name=id-2")
            ),
            None
        );
        assert_eq!(
            code_service_name("identity", None, Some("deployment.environment=prod")),
            Some("identity")
        );
        let r = resource("identity", None, None);
        let version = r.get(&opentelemetry::Key::new("service.version"));
        assert_eq!(
            version.map(|v| v.to_string()),
            Some(env!("CARGO_PKG_VERSION").to_owned())
        );
    }

    #[test]
    fn propagates_trace_context_through_headers() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let provider = SdkTracerProvider::builder().build();
        let tracer = provider.tracer("test");
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
        tracing::subscriber::with_default(subscriber, || {
            let mut incoming = HashMap::new();
            incoming.insert(
                "traceparent".to_owned(),
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
            );
            let span = tracing::info_span!("handle");
            set_parent_from(&span, &incoming);
            let _g = span.enter();
            let out = trace_headers();
            let tp = out.get("traceparent").cloned().unwrap_or_default();
            assert!(
                tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                "{tp}"
            );
            assert!(
                !tp.contains("00f067aa0ba902b7"),
                "a new span id for our span"
            );
        });
    }
}
