//! The root span of every request: `tracing-actix-web`'s fields plus `request_id`.
//!
//! Install with `.wrap(TracingLogger::<RequestSpan>::new())` inside
//! [`RequestIdMiddleware`](crate::RequestIdMiddleware). The span extracts the W3C
//! `traceparent` of the request (OpenTelemetry), and the JSON log layer prints its fields on
//! every line logged while handling the request, so `request_id` is on all of them.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

use crate::request_id::RequestId;

/// [`RootSpanBuilder`] adding `request_id`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        tracing_actix_web::root_span!(request, request_id = %request_id)
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
