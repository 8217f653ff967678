#![doc = include_str!("../README.md")]

pub mod http;

use std::collections::HashMap;

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The OTLP endpoint variable that switches export on (as does [`OTLP_TRACES_ENDPOINT_VAR`]):
/// a base URL, `http://host:4318` for `http/protobuf` (the exporter appends `/v1/traces`),
/// `http://host:4317` for `grpc`.
pub const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The traces-only endpoint (a full URL for `http/protobuf`); wins over [`OTLP_ENDPOINT_VAR`].
pub const OTLP_TRACES_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// The OTLP transport (OTel specification, "OTLP Exporter Configuration"): `grpc` or
/// `http/protobuf` (the default).
pub const OTLP_PROTOCOL_VAR: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// The traces-only transport; wins over [`OTLP_PROTOCOL_VAR`].
pub const OTLP_TRACES_PROTOCOL_VAR: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";

/// How spans are sent to the OTLP endpoint ([`OTLP_PROTOCOL_VAR`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// `grpc`: the collector's gRPC service, port 4317 by convention.
    Grpc,
    /// `http/protobuf`: protobuf bodies POSTed to `/v1/traces`, port 4318 by convention; the
    /// specification's default.
    HttpProtobuf,
}

impl OtlpProtocol {
    /// Parses the variable's value (unset or empty: `http/protobuf`).
    ///
    /// # Errors
    /// Any other value (`http/json` included: not built in), naming the variable.
    pub fn parse(value: Option<&str>) -> anyhow::Result<Self> {
        match value.map(str::trim) {
            None | Some("" | "http/protobuf") => Ok(Self::HttpProtobuf),
            Some("grpc") => Ok(Self::Grpc),
            Some(other) => anyhow::bail!(
                "invalid environment variable {OTLP_PROTOCOL_VAR}: {other:?} is not grpc or http/protobuf"
            ),
        }
    }
}

/// Handles to the log writer and the exporters; flush them with [`Telemetry::shutdown`].
#[derive(Debug, Default)]
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
    /// The gRPC exporter's runtime (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc` only).
    export_runtime: Option<tokio::runtime::Runtime>,
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
        if let Some(runtime) = self.export_runtime {
            // Not a blocking drop: this may run on an async runtime's thread.
            runtime.shutdown_background();
        }
        // Dropping the guard flushes the log lines still queued.
        drop(self.log_writer);
    }
}

fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Which spans become OpenTelemetry spans (independent of `RUST_LOG`).
const SPAN_FILTER: &str = "info,opentelemetry=off,opentelemetry_sdk=off,opentelemetry_otlp=off,tonic=off,h2=off,hyper=off";

/// The variable that picks the log format.
pub const LOG_FORMAT_VAR: &str = "LOG_FORMAT";

/// How log lines are written (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `json` (the default): one JSON object per line, for log pipelines.
    Json,
    /// `pretty`: tracing's human-readable multi-field format with colours, for a terminal.
    Pretty,
}

impl LogFormat {
    /// Parses `LOG_FORMAT` (unset or empty: JSON).
    ///
    /// # Errors
    /// A value other than `json` or `pretty`, naming the variable.
    pub fn parse(value: Option<&str>) -> anyhow::Result<Self> {
        match value.map(str::trim) {
            None | Some("" | "json") => Ok(Self::Json),
            Some("pretty") => Ok(Self::Pretty),
            Some(other) => anyhow::bail!(
                "invalid environment variable {LOG_FORMAT_VAR}: {other:?} is not json or pretty"
            ),
        }
    }
}

/// The JSON log layer (module docs): on every line `timestamp` (RFC 3339), `level`, `target`,
/// `service`, the event's fields with `message`, and the fields of the span it happened in —
/// for a request its root span's `request_id`, `http.request.method`, `http.route`, … and the
/// `trace_id`/`span_id` [`record_trace_ids`] put there (32 and 16 lower-case hex digits, the
/// W3C Trace Context form), so a line leads to its trace. The span's fields are serialised once,
/// when recorded, and copied into each line.
pub fn json_layer<S, W>(service: &str, writer: W) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let mut layer = json_subscriber::JsonLayer::new(writer);
    layer
        .with_timer("timestamp", tracing_subscriber::fmt::time::SystemTime)
        .with_level("level")
        .with_target("target")
        .with_flattened_event()
        .with_top_level_flattened_current_span();
    layer.add_static_field("service", serde_json::Value::from(service));
    layer
}

/// Records `span`'s OpenTelemetry `trace_id` and `span_id` as its fields (declare both
/// `tracing::field::Empty` on the span; call after its parent is set): what puts them on every
/// log line of the span. Nothing when the span has no valid context (no OpenTelemetry layer).
pub fn record_trace_ids(span: &tracing::Span) {
    let context = span.context();
    let span_context = opentelemetry::trace::TraceContextExt::span(&context)
        .span_context()
        .clone();
    if span_context.is_valid() {
        span.record("trace_id", tracing::field::display(span_context.trace_id()));
        span.record("span_id", tracing::field::display(span_context.span_id()));
    }
}

/// A `MakeWriter` keeping every line written in memory, to read back (tests of what is logged).
#[derive(Debug, Clone, Default)]
pub struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Capture {
    /// The lines written so far, each parsed as JSON (a line that is not JSON becomes a JSON
    /// string holding it).
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| serde_json::Value::from(l)))
            .collect()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut lines) = self.0.lock() {
            lines.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

/// What [`init`] installs with the JSON format, exporting nothing and writing to the returned
/// [`Capture`] (filter `info`; W3C propagator installed globally): to set as a test's default
/// subscriber and read back its lines.
pub fn capturing_subscriber(service: &str) -> (impl tracing::Subscriber + Send + Sync, Capture) {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let provider = SdkTracerProvider::builder().build();
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("capture")))
        .with(json_layer(service, capture.clone()).with_filter(EnvFilter::new("info")));
    (subscriber, capture)
}

/// Installs the global subscriber for `service` (module docs).
///
/// # Errors
/// An invalid `LOG_FORMAT`, an exporter that cannot be built from the OTel variables, or a
/// subscriber already set.
pub fn init(service: &'static str) -> anyhow::Result<Telemetry> {
    let format = LogFormat::parse(std::env::var(LOG_FORMAT_VAR).ok().as_deref())?;
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    // Lines are written by a dedicated thread, so request threads never block on stdout; when
    // its queue is full, callers wait rather than lines being dropped. The thread drains every
    // queued line into a buffer and flushes it once the queue is empty: one `write` per burst,
    // not one per line (stdout alone flushes at every newline).
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout(),
        ));

    let resource = resource(
        service,
        std::env::var("OTEL_SERVICE_NAME").ok().as_deref(),
        std::env::var("OTEL_RESOURCE_ATTRIBUTES").ok().as_deref(),
    );
    let protocol = OtlpProtocol::parse(
        std::env::var(OTLP_TRACES_PROTOCOL_VAR)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| std::env::var(OTLP_PROTOCOL_VAR).ok())
            .as_deref(),
    )?;
    let exporting = std::env::var(OTLP_ENDPOINT_VAR).is_ok_and(|v| !v.trim().is_empty())
        || std::env::var(OTLP_TRACES_ENDPOINT_VAR).is_ok_and(|v| !v.trim().is_empty());
    // Spans get OpenTelemetry ids even when nothing is exported, so every log line of a
    // request carries the `trace_id` its caller's `traceparent` gave it.
    let mut tracer_provider = SdkTracerProvider::builder().with_resource(resource);
    let mut export_runtime = None;
    if exporting {
        let span_exporter = match protocol {
            OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .build()?,
            OtlpProtocol::Grpc => {
                // tonic's channel lives on a Tokio runtime of its own (one thread), not on the
                // server's: the batch processor's thread blocks on each export, and at
                // shutdown the server's runtime thread blocks on the last flush.
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("otlp-grpc")
                    .enable_all()
                    .build()?;
                let exporter = {
                    let _entered = runtime.enter();
                    opentelemetry_otlp::SpanExporter::builder()
                        .with_tonic()
                        .build()?
                };
                export_runtime = Some(runtime);
                exporter
            }
        };
        tracer_provider = tracer_provider.with_batch_exporter(span_exporter);
    }
    let tracer_provider = tracer_provider.build();
    opentelemetry::global::set_tracer_provider(tracer_provider.clone());
    // Spans are exported at `info` whatever `RUST_LOG` says: quieting the logs does not empty
    // the traces. The exporters' own diagnostics never become spans.
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer_provider.tracer(service))
        .with_filter(EnvFilter::new(SPAN_FILTER));
    let registry = tracing_subscriber::registry().with(otel);
    match format {
        LogFormat::Json => registry
            .with(json_layer(service, writer).with_filter(env_filter()))
            .try_init()?,
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .with_filter(env_filter()),
            )
            .try_init()?,
    }
    Ok(Telemetry {
        tracer_provider: Some(tracer_provider),
        export_runtime,
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
    trace_headers_of(&tracing::Span::current())
}

/// W3C trace-context headers naming `span` as the parent (e.g. a producer span for the message
/// it publishes). Empty when the span has no valid context.
pub fn trace_headers_of(span: &tracing::Span) -> HashMap<String, String> {
    let mut headers = HashMap::new();
    let context = span.context();
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
    fn json_lines_carry_the_service_the_trace_and_the_request() {
        let (subscriber, capture) = capturing_subscriber("identity");
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside any span");
            let span = tracing::info_span!(
                "HTTP request",
                request_id = "req-1",
                http.route = "/x",
                trace_id = tracing::field::Empty,
                span_id = tracing::field::Empty,
            );
            let mut incoming = HashMap::new();
            incoming.insert(
                "traceparent".to_owned(),
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
            );
            set_parent_from(&span, &incoming);
            record_trace_ids(&span);
            let _g = span.enter();
            tracing::warn!(answer = 42, "inside");
        });
        let lines = capture.json_lines();
        assert_eq!(lines.len(), 2, "{lines:?}");
        let (outside, inside) = (&lines[0], &lines[1]);
        assert_eq!(outside["service"], "identity");
        assert_eq!(outside["message"], "outside any span");
        assert!(outside.get("trace_id").is_none(), "{outside}");
        assert_eq!(inside["service"], "identity");
        assert_eq!(inside["level"], "WARN");
        assert_eq!(inside["message"], "inside");
        assert_eq!(inside["answer"], 42);
        assert_eq!(inside["request_id"], "req-1");
        assert_eq!(inside["http.route"], "/x");
        assert_eq!(
            inside["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736",
            "{inside}"
        );
        let span_id = inside["span_id"].as_str().unwrap();
        assert_eq!(span_id.len(), 16);
        assert_ne!(
            span_id, "00f067aa0ba902b7",
            "our own span, the caller's child"
        );
        assert!(
            inside["timestamp"]
                .as_str()
                .is_some_and(|t| t.contains('T'))
        );
    }

    #[test]
    fn log_format_is_json_or_pretty_and_names_its_variable_otherwise() {
        assert_eq!(LogFormat::parse(None).unwrap(), LogFormat::Json);
        assert_eq!(LogFormat::parse(Some("")).unwrap(), LogFormat::Json);
        assert_eq!(LogFormat::parse(Some("pretty")).unwrap(), LogFormat::Pretty);
        let e = LogFormat::parse(Some("xml")).unwrap_err().to_string();
        assert!(e.contains("LOG_FORMAT") && e.contains("xml"), "{e}");
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
