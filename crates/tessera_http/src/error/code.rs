//! The platform's `error_code` catalog and the code and message of a bare status.

use actix_web::http::StatusCode;
use serde::Serialize;
use std::fmt;

/// The platform's `error_code` catalog: seed 001's codes plus the service-specific ones.
///
/// Serialised in `snake_case`; `docs/errors.md` lists each with its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 422: the symbol is not a valid market symbol (seed 001).
    InvalidSymbol,
    /// 404: no provider has a quote for the symbol (seed 001).
    QuoteNotFound,
    /// 503: every provider failed (seed 001).
    ProviderUnavailable,
    /// 429: the market-data provider rate-limited us (seed 001).
    ProviderRateLimited,
    /// 400/422: the request failed validation; `errors` names the fields.
    ValidationError,
    /// 400: the body is not syntactically valid JSON.
    InvalidJson,
    /// 415: the request body is not `application/json`.
    UnsupportedMediaType,
    /// 413: the request body is larger than the service accepts.
    PayloadTooLarge,
    /// 401: missing, invalid or expired credentials.
    Unauthenticated,
    /// 403: authenticated but not allowed.
    Forbidden,
    /// 429: the API throttle refused the request; `Retry-After` says when to retry.
    TooManyRequests,
    /// 404: no such resource or route.
    NotFound,
    /// 405: the route exists but not with this method.
    MethodNotAllowed,
    /// 419: CSRF token missing or wrong (seed 001).
    CsrfMismatch,
    /// Any other 4xx the framework produced.
    HttpError,
    /// 500: an unexpected failure; the cause is in the logs, never in the response.
    InternalError,
    /// 503: a dependency (database, broker) is unavailable.
    ServiceUnavailable,
    /// 409: the request conflicts with the current state (duplicate, wrong transition, in flight).
    Conflict,
    /// 422: an `Idempotency-Key` was reused with a different request body.
    IdempotencyKeyReused,
    /// 401: e-mail/password (or key) did not match.
    InvalidCredentials,
    /// 401/403: the session still needs its second factor.
    MfaRequired,
    /// 423/401: the account is locked after repeated failures.
    AccountLocked,
    /// 422: a requested scope is not one the service knows.
    UnknownScope,
    /// 502: an upstream service answered with an error.
    UpstreamError,
    /// 400: a one-time token (a set-password link's) that was never issued.
    InvalidToken,
    /// 410: the resource existed but is gone for good (a one-time token already used or
    /// expired; `reason` says which).
    Gone,
}

impl ErrorCode {
    /// The wire string, e.g. `"validation_error"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidSymbol => "invalid_symbol",
            Self::QuoteNotFound => "quote_not_found",
            Self::ProviderUnavailable => "provider_unavailable",
            Self::ProviderRateLimited => "provider_rate_limited",
            Self::ValidationError => "validation_error",
            Self::InvalidJson => "invalid_json",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::TooManyRequests => "too_many_requests",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::CsrfMismatch => "csrf_mismatch",
            Self::HttpError => "http_error",
            Self::InternalError => "internal_error",
            Self::ServiceUnavailable => "service_unavailable",
            Self::Conflict => "conflict",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::InvalidCredentials => "invalid_credentials",
            Self::MfaRequired => "mfa_required",
            Self::AccountLocked => "account_locked",
            Self::UnknownScope => "unknown_scope",
            Self::UpstreamError => "upstream_error",
            Self::InvalidToken => "invalid_token",
            Self::Gone => "gone",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Maps a bare status (from the router or a framework extractor) to its catalog code.
pub fn code_for_status(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::TooManyRequests,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailable,
        StatusCode::GONE => ErrorCode::Gone,
        s if s.is_server_error() => ErrorCode::InternalError,
        _ => ErrorCode::HttpError,
    }
}

/// The default message for a bare status.
pub fn message_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "Resource not found.",
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed.",
        StatusCode::PAYLOAD_TOO_LARGE => "Request body too large.",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Content-Type must be application/json.",
        s if s.is_server_error() => "Internal server error.",
        _ => "The request could not be processed.",
    }
}
