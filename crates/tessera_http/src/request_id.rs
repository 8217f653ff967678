//! Request ids (ARCHITECTURE.md §2 "Request ids and tracing") and the outermost middleware.
//!
//! [`RequestIdMiddleware`] must be the outermost `wrap` of every app. For each request it:
//! 1. accepts the client's `X-Request-Id` when it is 1–128 chars of `[A-Za-z0-9._-]`,
//!    otherwise generates a UUID v4;
//! 2. stores it in the request extensions ([`RequestId`] extractor) and in a task-local, so
//!    that [`ApiError`] can put it in the envelope without being handed it;
//! 3. turns a panic in any inner service into a 500 envelope, and an `Err` that escaped the
//!    handlers into its response, inside that scope;
//! 4. sets `X-Request-Id` on every response;
//! 5. accepts the client's `X-Trace-Id` (seed 002) under the same rule, keeps it in the request
//!    extensions ([`ClientTraceId`]; the root span records it as the attribute
//!    `http.request.header.x-trace-id`, OpenTelemetry's name for a captured request header) and
//!    echoes it on the response. It is a correlation label of the caller's, never an identity:
//!    the W3C `traceparent` is what places the request in a trace. An invalid one is dropped.

use std::future::{Ready, ready};
use std::panic::AssertUnwindSafe;
use std::rc::Rc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, ResponseError};
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;

use crate::error::ApiError;

/// `X-Request-Id`.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// `X-Trace-Id` (seed 002): the caller's own correlation id, echoed.
pub const TRACE_ID_HEADER: HeaderName = HeaderName::from_static("x-trace-id");

/// The caller's valid `X-Trace-Id`, in the request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTraceId(pub String);

/// Longest client-supplied request id we keep (ARCHITECTURE.md §2).
pub const MAX_REQUEST_ID_LEN: usize = 128;

pub use crate::request_context::{current, scope};

/// Whether a client-supplied id is acceptable: 1..=128 chars of `[A-Za-z0-9._-]`.
pub fn is_valid(candidate: &str) -> bool {
    !candidate.is_empty()
        && candidate.len() <= MAX_REQUEST_ID_LEN
        && candidate
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The request id of this request (extractor). Always present behind [`RequestIdMiddleware`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromRequest for RequestId {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(uuid::Uuid::new_v4().to_string()));
        ready(Ok(id))
    }
}

/// The outermost middleware: request id, panic → 500 envelope, `X-Request-Id` on every response.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdMiddleware;

impl<S, B> Transform<S, ServiceRequest> for RequestIdMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Transform = RequestIdService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestIdService {
            service: Rc::new(service),
        }))
    }
}

/// The service [`RequestIdMiddleware`] builds.
pub struct RequestIdService<S> {
    service: Rc<S>,
}

impl<S, B> Service<ServiceRequest> for RequestIdService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let id = req
            .headers()
            .get(&REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_valid(v))
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        req.extensions_mut().insert(RequestId(id.clone()));
        let service = Rc::clone(&self.service);
        let mut echoes: Vec<(HeaderName, HeaderValue)> = HeaderValue::from_str(&id)
            .ok()
            .map(|v| (REQUEST_ID_HEADER, v))
            .into_iter()
            .collect();
        if let Some(trace) = req
            .headers()
            .get(&TRACE_ID_HEADER)
            .filter(|v| v.to_str().is_ok_and(is_valid))
            .cloned()
        {
            req.extensions_mut()
                .insert(ClientTraceId(trace.to_str().unwrap_or_default().to_owned()));
            echoes.push((TRACE_ID_HEADER, trace));
        }

        Box::pin(crate::request_context::scope(id, async move {
            let outcome = AssertUnwindSafe(service.call(req)).catch_unwind().await;
            match outcome {
                Ok(Ok(res)) => {
                    let mut res = res.map_into_boxed_body();
                    for (name, value) in echoes {
                        res.headers_mut().insert(name, value);
                    }
                    Ok(res)
                }
                // The request was consumed by the inner service, so the response is rendered
                // here, inside the request-id scope, and handed to actix as a finished error.
                Ok(Err(err)) => Err(Rendered::from_response(err.error_response(), &echoes).into()),
                Err(_panic) => {
                    tracing::error!("handler panicked");
                    let response = ApiError::internal(std::io::Error::other("handler panicked"))
                        .error_response();
                    Err(Rendered::from_response(response, &echoes).into())
                }
            }
        }))
    }
}

/// An error response already rendered inside the request scope (status, headers, body).
#[derive(derive_more::Debug)]
#[debug("rendered {} response", status)]
struct Rendered {
    status: actix_web::http::StatusCode,
    headers: actix_web::http::header::HeaderMap,
    body: actix_web::web::Bytes,
}

impl Rendered {
    fn from_response(
        response: actix_web::HttpResponse,
        echoes: &[(HeaderName, HeaderValue)],
    ) -> Self {
        let status = response.status();
        let mut headers = response.headers().clone();
        for (name, value) in echoes {
            headers.insert(name.clone(), value.clone());
        }
        let body = response.into_body().try_into_bytes().unwrap_or_default();
        Self {
            status,
            headers,
            body,
        }
    }
}

impl std::fmt::Display for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status)
    }
}

impl ResponseError for Rendered {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.status
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        let mut response = actix_web::HttpResponse::with_body(self.status, self.body.clone());
        for (name, value) in &self.headers {
            response.headers_mut().append(name.clone(), value.clone());
        }
        response.map_into_boxed_body()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_client_ids() {
        assert!(is_valid("abc-123_X.y"));
        assert!(is_valid(&"a".repeat(128)));
        assert!(!is_valid(&"a".repeat(129)));
        assert!(!is_valid(""));
        assert!(!is_valid("has space"));
        assert!(!is_valid("inject\nheader"));
        assert!(!is_valid("ünïcode"));
    }
}
