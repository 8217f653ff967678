//! An OTLP trace receiver for tests: what a collector would see of the spans a service exports.
//!
//! One TCP port speaks both OTLP transports (hyper serves HTTP/1.1 and HTTP/2 on it):
//! - `grpc`: the collector's `opentelemetry.proto.collector.trace.v1.TraceService/Export`,
//!   served by the service `opentelemetry-proto` generates for tonic;
//! - `http/protobuf`: `POST /v1/traces` with an `ExportTraceServiceRequest` protobuf body
//!   (OTLP specification, "OTLP/HTTP"), answered with an empty `ExportTraceServiceResponse`.
//!
//! Every span received is kept with the transport that delivered it ([`ReceivedSpan`]).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use tower::ServiceExt;

/// The transport a span arrived by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP with a protobuf body.
    HttpProtobuf,
}

/// One span as received, decoded to what tests compare.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// How it arrived.
    pub transport: Transport,
    /// The resource's `service.name`.
    pub service: String,
    /// The span name.
    pub name: String,
    /// 32 lower-case hex digits (W3C form).
    pub trace_id: String,
    /// 16 lower-case hex digits.
    pub span_id: String,
    /// The parent's span id, empty for a root span.
    pub parent_span_id: String,
    /// OTLP `SpanKind` (1 internal, 2 server, 3 client, 4 producer, 5 consumer).
    pub kind: i32,
    /// The span's attributes, values rendered as text.
    pub attributes: BTreeMap<String, String>,
    /// The resource's attributes, values rendered as text.
    pub resource: BTreeMap<String, String>,
}

impl ReceivedSpan {
    /// The attribute `key`, when present.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// OTLP `SpanKind` values.
pub mod kind {
    /// `SPAN_KIND_INTERNAL`.
    pub const INTERNAL: i32 = 1;
    /// `SPAN_KIND_SERVER`.
    pub const SERVER: i32 = 2;
    /// `SPAN_KIND_CLIENT`.
    pub const CLIENT: i32 = 3;
    /// `SPAN_KIND_PRODUCER`.
    pub const PRODUCER: i32 = 4;
    /// `SPAN_KIND_CONSUMER`.
    pub const CONSUMER: i32 = 5;
}

type Store = Arc<Mutex<Vec<ReceivedSpan>>>;

/// The receiver: listening until dropped.
pub struct OtlpReceiver {
    port: u16,
    spans: Store,
    task: tokio::task::JoinHandle<()>,
}

impl OtlpReceiver {
    /// Listens on `127.0.0.1:port` (0: any free port).
    ///
    /// # Errors
    /// The port cannot be bound.
    pub async fn start(port: u16) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let spans = Store::default();
        let store = spans.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let store = store.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |request| route(request, store.clone()));
                    // HTTP/1.1 for OTLP/HTTP, HTTP/2 (prior knowledge) for gRPC.
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { port, spans, task })
    }

    /// The base URL to give as `OTEL_EXPORTER_OTLP_ENDPOINT`, for either transport.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The spans of `trace_id` once `done` holds for them, polling every 100 ms until
    /// `timeout`; what was received by then otherwise (for the test's assertion to show).
    pub async fn wait_for_trace(
        &self,
        trace_id: &str,
        timeout: Duration,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let spans: Vec<ReceivedSpan> = self
                .spans()
                .into_iter()
                .filter(|s| s.trace_id == trace_id)
                .collect();
            if done(&spans) || tokio::time::Instant::now() >= deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Response = hyper::Response<tonic::body::Body>;

/// Sends gRPC to the generated service and `POST /v1/traces` to [`decode_http`].
async fn route(
    request: hyper::Request<hyper::body::Incoming>,
    store: Store,
) -> Result<Response, Infallible> {
    if request.uri().path() == "/v1/traces" {
        return Ok(decode_http(request, &store).await);
    }
    let grpc = TraceServiceServer::new(Collector(store));
    grpc.oneshot(request).await
}

/// OTLP/HTTP: 200 with an empty protobuf response, 400 when the body is not a request.
async fn decode_http(request: hyper::Request<hyper::body::Incoming>, store: &Store) -> Response {
    let body = match request.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return status(400),
    };
    match ExportTraceServiceRequest::decode(body) {
        Ok(export) => {
            keep(store, &export, Transport::HttpProtobuf);
            let mut response = hyper::Response::new(tonic::body::Body::new(Full::new(
                ExportTraceServiceResponse::default().encode_to_vec().into(),
            )));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/x-protobuf"),
            );
            response
        }
        Err(_) => status(400),
    }
}

fn status(code: u16) -> Response {
    let mut response = hyper::Response::new(tonic::body::Body::empty());
    *response.status_mut() = hyper::StatusCode::from_u16(code).unwrap_or_default();
    response
}

struct Collector(Store);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        keep(&self.0, request.get_ref(), Transport::Grpc);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn keep(store: &Store, export: &ExportTraceServiceRequest, transport: Transport) {
    let mut received = Vec::new();
    for resource_spans in &export.resource_spans {
        let resource = resource_spans
            .resource
            .as_ref()
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        let service = resource.get("service.name").cloned().unwrap_or_default();
        for scope in &resource_spans.scope_spans {
            for span in &scope.spans {
                received.push(ReceivedSpan {
                    transport,
                    service: service.clone(),
                    name: span.name.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    kind: span.kind,
                    attributes: attributes(&span.attributes),
                    resource: resource.clone(),
                });
            }
        }
    }
    if let Ok(mut spans) = store.lock() {
        spans.extend(received);
    }
}

fn attributes(
    kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue],
) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(AnyValue::StringValue(s)) => s.clone(),
                Some(AnyValue::IntValue(i)) => i.to_string(),
                Some(AnyValue::BoolValue(b)) => b.to_string(),
                Some(AnyValue::DoubleValue(d)) => d.to_string(),
                Some(other) => format!("{other:?}"),
                None => String::new(),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
