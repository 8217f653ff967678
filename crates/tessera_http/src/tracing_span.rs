//! The root span of every request, with `request_id`, and the request's access line.
//!
//! Install with `.wrap(TracingLogger::<RequestSpan>::new())` inside
//! [`RequestIdMiddleware`](crate::RequestIdMiddleware). The span carries the OpenTelemetry HTTP
//! server conventions (semconv 1.26+, stable): `http.request.method`, `http.route` (the route
//! template), `http.response.status_code`, `url.path`, `server.address`, plus `request_id` and
//! OTel's name/kind/status. The JSON log layer prints these fields on every line of the request,
//! so each extra field is paid on every line. The caller's W3C `traceparent`/`tracestate` make
//! the span a child of its trace (OpenTelemetry, via `tessera_telemetry`).
//!
//! When the request ends, one `info` line with target `access` says `request completed` with
//! the status and `latency_ms` (from the span: method, route, path, request id, trace id):
//! `RUST_LOG=info,access=off` silences it. A 5xx marks the span `ERROR` with the error's
//! message; the error itself is logged once, by `ApiError` (tracing-actix-web's own error event
//! is off).

use std::collections::HashMap;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HOST;
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing::field::Empty;
use tracing_actix_web::RootSpanBuilder;

use crate::request_id::{ClientTraceId, RequestId};

/// When the request started (a request extension), for the access line's latency.
#[derive(Debug, Clone, Copy)]
struct Started(Instant);

/// [`RootSpanBuilder`] with `request_id` and the HTTP server conventions.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSpan;

/// `server.address`: the `Host` header without its port (an IPv6 literal keeps its brackets).
fn server_address(request: &ServiceRequest) -> &str {
    let host = request
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        request.extensions_mut().insert(Started(Instant::now()));
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let method = request.method().as_str();
        let route = request.match_pattern();
        let route = route.as_deref().unwrap_or("unmatched");
        let span = tracing::info_span!(
            "HTTP request",
            http.request.method = %method,
            http.route = %route,
            http.response.status_code = Empty,
            url.path = %request.path(),
            server.address = %server_address(request),
            otel.name = %format_args!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = Empty,
            request_id = %request_id,
            trace_id = Empty,
            span_id = Empty,
            exception.message = Empty,
            "http.request.header.x-trace-id" = Empty,
        );
        if let Some(client) = request.extensions().get::<ClientTraceId>() {
            span.record("http.request.header.x-trace-id", client.0.as_str());
        }
        if let Some(parent) = request
            .headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
        {
            let mut carrier = HashMap::with_capacity(2);
            carrier.insert("traceparent".to_owned(), parent.to_owned());
            if let Some(state) = request
                .headers()
                .get("tracestate")
                .and_then(|v| v.to_str().ok())
            {
                carrier.insert("tracestate".to_owned(), state.to_owned());
            }
            tessera_telemetry::set_parent_from(&span, &carrier);
        }
        tessera_telemetry::record_trace_ids(&span);
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, error, started) = match outcome {
            Ok(response) => (
                response.status(),
                response.response().error().map(ToString::to_string),
                response.request().extensions().get::<Started>().copied(),
            ),
            Err(e) => (
                e.as_response_error().status_code(),
                Some(e.to_string()),
                None,
            ),
        };
        span.record("http.response.status_code", status.as_u16());
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
            if let Some(message) = error {
                span.record("exception.message", message);
            }
        }
        let latency_ms = started.map(|s| s.0.elapsed().as_secs_f64() * 1000.0);
        tracing::info!(target: "access", parent: &span, latency_ms, "request completed");
    }
}
