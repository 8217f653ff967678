//! The root span of every request, with `request_id`.
//!
//! Install with `.wrap(TracingLogger::<RequestSpan>::new())` inside
//! [`RequestIdMiddleware`](crate::RequestIdMiddleware). The span carries what operators and
//! traces use (method, route template, status, `request_id`, OTel name/kind/status) and no more:
//! the JSON log layer prints these fields on every line of the request, so each extra field is
//! paid on every line. The caller's W3C `traceparent`/`tracestate` make the span a child of its
//! trace (OpenTelemetry, via `tessera_telemetry`).

use std::collections::HashMap;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing::field::Empty;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

use crate::request_id::RequestId;

/// [`RootSpanBuilder`] with `request_id` and a lean field set.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
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
            http.method = %method,
            http.route = %route,
            http.status_code = Empty,
            otel.name = %format_args!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = Empty,
            request_id = %request_id,
            exception.message = Empty,
            exception.details = Empty,
        );
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
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
