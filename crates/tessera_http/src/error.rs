//! The error envelope (ARCHITECTURE.md §2 "Errors", seed 001 "Erros padronizados").
//!
//! Every non-2xx response of every Tessera service has this body:
//!
//! ```json
//! { "message": "Validation failed.", "error_code": "validation_error", "request_id": "…",
//!   "errors": {"field": ["…"]}, "reason": "…", "details": {} }
//! ```
//!
//! `errors` appears on validation errors only, `reason` where a contract asks for a
//! machine-readable refinement of the code (control-plane's 403s), and `details` only when
//! the process runs with `APP_DEBUG=true` (see [`set_debug`]). A 5xx never carries its
//! cause: the cause is logged once, here, and the client gets a generic message.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::request_context;

mod code;
pub use code::*;

static DEBUG: AtomicBool = AtomicBool::new(false);

/// Turns `details` on or off process-wide (`APP_DEBUG`). Off by default.
pub fn set_debug(enabled: bool) {
    DEBUG.store(enabled, Ordering::Relaxed);
}

fn debug_enabled() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// Field name → messages, as in Laravel's validation errors (seed 001).
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// The JSON body of every error response. Built only by [`ApiError`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    /// Human-readable, safe to show.
    pub message: String,
    /// Stable machine-readable code from [`ErrorCode`].
    pub error_code: ErrorCode,
    /// The request's `X-Request-Id`.
    pub request_id: String,
    /// Field → messages, on validation errors only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<FieldErrors>,
    /// A precise, machine-readable reason where the contract asks for one (e.g. `no_relationship`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Diagnostic details, only with `APP_DEBUG=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// An error a handler returns; renders as the envelope with the right status and headers.
///
/// Construct with the helpers ([`ApiError::validation`], [`ApiError::forbidden`], …) or
/// [`ApiError::new`]. Internal causes attached with [`ApiError::internal`] are logged when
/// the response is rendered and never serialised.
pub struct ApiError(Box<Inner>);

/// `Retry-After` (seconds) of a 503 that does not set its own: a dependency that is down is
/// usually back, or failed over, within seconds (the pools retry connecting at once).
pub const UNAVAILABLE_RETRY_AFTER: u64 = 5;

struct Inner {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    errors: Option<FieldErrors>,
    reason: Option<String>,
    details: Option<serde_json::Value>,
    retry_after_seconds: Option<u64>,
    www_authenticate: Option<&'static str>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    /// An error with an explicit status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            status,
            code,
            message: message.into(),
            errors: None,
            reason: None,
            details: None,
            retry_after_seconds: None,
            www_authenticate: None,
            source: None,
        }))
    }

    /// `validation_error` with the given status (400 or 422 per the service's contract) and field errors.
    pub fn validation(status: StatusCode, errors: FieldErrors) -> Self {
        let mut e = Self::new(status, ErrorCode::ValidationError, "Validation failed.");
        e.0.errors = Some(errors);
        e
    }

    /// `Ok` when `errors` is empty, else 422 `validation_error` naming every field.
    ///
    /// # Errors
    /// The 422.
    pub fn fail_if_any(errors: FieldErrors) -> Result<(), Self> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Self::validation(StatusCode::UNPROCESSABLE_ENTITY, errors))
        }
    }

    /// A one-field validation error with status 422.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), vec![message.into()]);
        Self::validation(StatusCode::UNPROCESSABLE_ENTITY, errors)
    }

    /// 401 `unauthenticated` with `WWW-Authenticate: Bearer` (RFC 6750 §3).
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            message,
        );
        e.0.www_authenticate = Some("Bearer");
        e
    }

    /// 403 `forbidden` with a machine-readable `reason`.
    pub fn forbidden(reason: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message).with_reason(reason)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, message)
    }

    /// 429 `too_many_requests` with `Retry-After` in seconds.
    pub fn too_many_requests(retry_after_seconds: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManyRequests,
            "Too many requests.",
        );
        e.0.retry_after_seconds = Some(retry_after_seconds.max(1));
        e
    }

    /// 503 `service_unavailable` (a dependency is down); the cause is logged, not returned.
    /// Answered with `Retry-After:` [`UNAVAILABLE_RETRY_AFTER`] unless one is set.
    pub fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServiceUnavailable,
            "Service temporarily unavailable.",
        );
        e.0.source = Some(source.into());
        e
    }

    /// 500 `internal_error`; the cause is logged, not returned.
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            "Internal server error.",
        );
        e.0.source = Some(source.into());
        e
    }

    /// Adds (replaces) the `errors` member: field → messages.
    pub fn with_errors(mut self, errors: FieldErrors) -> Self {
        self.0.errors = Some(errors);
        self
    }

    /// Adds the `reason` member.
    pub fn with_reason(mut self, reason: &str) -> Self {
        self.0.reason = Some(reason.to_owned());
        self
    }

    /// Adds `details`, shown only when `APP_DEBUG=true`.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.0.details = Some(details);
        self
    }

    /// Adds `Retry-After` (seconds).
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after_seconds = Some(seconds.max(1));
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The `error_code`.
    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    /// The `reason`, if any.
    pub fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    /// The envelope this error renders as, for the current request id.
    pub fn envelope(&self) -> ErrorEnvelope {
        let details = if debug_enabled() {
            match (&self.0.details, &self.0.source) {
                (Some(d), _) => Some(d.clone()),
                (None, Some(src)) => Some(serde_json::json!({ "cause": src.to_string() })),
                (None, None) => None,
            }
        } else {
            None
        };
        ErrorEnvelope {
            message: self.0.message.clone(),
            error_code: self.0.code,
            request_id: request_context::current().unwrap_or_default(),
            errors: self.0.errors.clone(),
            reason: self.0.reason.clone(),
            details,
        }
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.0.status.as_u16(),
            self.0.code,
            self.0.message
        )?;
        let mut source = self
            .0
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static));
        while let Some(s) = source {
            write!(f, "\n  caused by: {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.0.status.is_server_error() {
            // Logged once, at the boundary; the body stays generic.
            tracing::error!(error.code = %self.0.code, error.cause = ?self, "request failed");
        }
        let mut builder = HttpResponse::build(self.0.status);
        // Every 503 says when to come back: its own figure, else UNAVAILABLE_RETRY_AFTER.
        let retry_after = self
            .0
            .retry_after_seconds
            .or((self.0.status == StatusCode::SERVICE_UNAVAILABLE)
                .then_some(UNAVAILABLE_RETRY_AFTER));
        if let Some(secs) = retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if let Some(scheme) = self.0.www_authenticate {
            builder.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static(scheme)));
        }
        builder.json(self.envelope())
    }
}

impl From<StatusCode> for ApiError {
    fn from(status: StatusCode) -> Self {
        Self::new(status, code_for_status(status), message_for_status(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn validation_error_renders_envelope_with_errors() {
        let e = ApiError::invalid_field("scopes", "must not be empty");
        let resp = e.error_response();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = to_bytes(resp.into_body()).await.unwrap_or_default();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(v["error_code"], "validation_error");
        assert_eq!(v["errors"]["scopes"][0], "must not be empty");
        assert!(v.get("details").is_none());
        assert!(v.get("reason").is_none());
    }

    #[actix_web::test]
    async fn internal_error_never_leaks_its_cause() {
        let e = ApiError::internal(std::io::Error::other("password=hunter2 in SQL"));
        let resp = e.error_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = to_bytes(resp.into_body()).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("internal_error"));
    }

    #[test]
    fn statuses_map_to_catalog_codes() {
        assert_eq!(code_for_status(StatusCode::NOT_FOUND), ErrorCode::NotFound);
        assert_eq!(
            code_for_status(StatusCode::METHOD_NOT_ALLOWED),
            ErrorCode::MethodNotAllowed
        );
        assert_eq!(
            code_for_status(StatusCode::PAYLOAD_TOO_LARGE),
            ErrorCode::PayloadTooLarge
        );
        assert_eq!(
            code_for_status(StatusCode::BAD_GATEWAY),
            ErrorCode::InternalError
        );
        assert_eq!(
            code_for_status(StatusCode::IM_A_TEAPOT),
            ErrorCode::HttpError
        );
    }

    #[actix_web::test]
    async fn too_many_requests_carries_retry_after() {
        let resp = ApiError::too_many_requests(7).error_response();
        assert_eq!(
            resp.headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("7")
        );
    }

    #[actix_web::test]
    async fn every_503_says_when_to_retry() {
        let retry = |e: ApiError| {
            e.error_response()
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok().map(str::to_owned))
        };
        let down = ApiError::unavailable(std::io::Error::other("db down"));
        assert_eq!(retry(down), Some(UNAVAILABLE_RETRY_AFTER.to_string()));
        let own = ApiError::unavailable(std::io::Error::other("x")).with_retry_after(30);
        assert_eq!(retry(own), Some("30".to_owned()));
        assert_eq!(retry(ApiError::not_found("no")), None);
    }

    #[test]
    fn error_codes_serialise_as_their_wire_strings() {
        for code in [
            ErrorCode::InvalidSymbol,
            ErrorCode::IdempotencyKeyReused,
            ErrorCode::UnknownScope,
            ErrorCode::CsrfMismatch,
        ] {
            let json = serde_json::to_string(&code).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
