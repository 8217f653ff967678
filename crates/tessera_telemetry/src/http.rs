//! Outbound HTTP with client spans (OpenTelemetry HTTP client conventions) and the W3C
//! `traceparent` of the current span on every request, through `reqwest-middleware` and
//! `reqwest-tracing`: market-data providers, OAuth token endpoints, the notification
//! endpoint, identity's JWKS all see the caller's trace.
//!
//! The span (`reqwest-tracing`'s default) carries `http.request.method`, `server.address`,
//! `server.port`, `url.scheme`, `http.response.status_code` and `error.type` — never `url.full`,
//! whose query string can hold an API key.

/// A client whose requests are traced ([`traced`]); build requests as with `reqwest::Client`.
pub type HttpClient = reqwest_middleware::ClientWithMiddleware;

/// What [`HttpClient`]'s `send` fails with.
pub type HttpError = reqwest_middleware::Error;

/// Wraps `client` (timeouts, user agent … set on it) so each request makes a client span and
/// carries `traceparent`.
pub fn traced(client: reqwest::Client) -> HttpClient {
    reqwest_middleware::ClientBuilder::new(client)
        .with(reqwest_tracing::TracingMiddleware::default())
        .build()
}

/// `e`'s message without the request's URL (a query string can carry a key).
pub fn error_text(e: HttpError) -> String {
    match e {
        reqwest_middleware::Error::Reqwest(e) => e.without_url().to_string(),
        reqwest_middleware::Error::Middleware(e) => e.to_string(),
    }
}
