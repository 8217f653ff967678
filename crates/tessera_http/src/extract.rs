//! Extractor error handlers and the catch-all that give framework errors the envelope.
//!
//! actix answers malformed JSON, bad paths or queries, unknown routes (404), wrong methods
//! (405) and oversized bodies (413) itself, with a plain-text body. Do not set an app-level
//! `default_service`: resources would inherit it and answer 404 instead of 405. [`configure`] installs
//! handlers that produce [`ApiError`]s instead, and [`envelope_for_framework_errors`] rewrites
//! any remaining non-JSON error response into the envelope.

use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpRequest, ResponseError, web};

use crate::error::{ApiError, ErrorCode, FieldErrors};

/// The application data of type `T` (`web::Data<T>`, the service's `AppState`) for an
/// extractor that runs before the handler.
///
/// # Errors
/// 500 `internal_error` when the app was built without it (a wiring bug, never the client's).
pub fn app_data<T: 'static>(req: &HttpRequest) -> Result<web::Data<T>, ApiError> {
    req.app_data::<web::Data<T>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("application state missing"))
}

/// How a service wants extractor failures reported.
#[derive(Debug, Clone, Copy)]
pub struct ExtractorOptions {
    /// Status of a well-formed JSON body with wrong/missing/unknown fields, and of bad query
    /// strings: 422 (seed 001, control-plane) or 400 (seed 004).
    pub validation_status: StatusCode,
    /// Largest JSON body accepted, in bytes; larger ⇒ 413 `payload_too_large`.
    pub json_limit_bytes: usize,
}

impl Default for ExtractorOptions {
    fn default() -> Self {
        Self {
            validation_status: StatusCode::UNPROCESSABLE_ENTITY,
            json_limit_bytes: 64 * 1024,
        }
    }
}

/// Registers the JSON, query and path extractor configs on an app or scope.
pub fn configure(cfg: &mut web::ServiceConfig, opts: ExtractorOptions) {
    let status = opts.validation_status;
    cfg.app_data(
        web::JsonConfig::default()
            .limit(opts.json_limit_bytes)
            .error_handler(move |err, _req| json_error(err, status).into()),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(move |err, _req| query_error(&err, status).into()),
    )
    .app_data(web::PathConfig::default().error_handler(|err, _req| path_error(&err).into()));
}

/// Maps a JSON extractor failure to the envelope.
pub fn json_error(err: JsonPayloadError, validation_status: StatusCode) -> ApiError {
    match err {
        JsonPayloadError::ContentType => ApiError::from(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::from(StatusCode::PAYLOAD_TOO_LARGE)
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::validation(validation_status, serde_field_errors(&e.to_string()))
        }
        JsonPayloadError::Deserialize(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidJson,
            "The request body is not valid JSON.",
        ),
        other => ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::HttpError,
            "The request body could not be read.",
        )
        .with_details(serde_json::json!({ "cause": other.to_string() })),
    }
}

/// Maps a query-string extractor failure to the envelope: `validation_status` with the
/// field serde names (`page`, `status` …) or `body`.
pub fn query_error(err: &QueryPayloadError, validation_status: StatusCode) -> ApiError {
    // serde's own message (without actix's "Query deserialize error: " prefix) names the field.
    let message = match err {
        QueryPayloadError::Deserialize(e) => e.to_string(),
        other => other.to_string(),
    };
    ApiError::validation(validation_status, serde_field_errors(&message))
}

fn path_error(err: &PathError) -> ApiError {
    ApiError::not_found("Resource not found.")
        .with_details(serde_json::json!({ "cause": err.to_string() }))
}

/// Turns a serde error message into `{field: [message]}`.
///
/// serde names the field in ``missing field `x` `` and ``unknown field `x` ``; other data
/// errors (wrong type) do not name it and are reported under `body`.
pub fn serde_field_errors(message: &str) -> FieldErrors {
    let clean = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .trim()
        .to_owned();
    let backticked = clean
        .split('`')
        .nth(1)
        .filter(|f| !f.is_empty())
        .map(str::to_owned);
    let (field, text) = if clean.starts_with("missing field") {
        let f = backticked.unwrap_or_else(|| "body".to_owned());
        let t = format!("The {f} field is required.");
        (f, t)
    } else if clean.starts_with("unknown field") {
        let f = backticked.unwrap_or_else(|| "body".to_owned());
        (f, "This field is not allowed.".to_owned())
    } else {
        ("body".to_owned(), clean)
    };
    let mut errors = FieldErrors::new();
    errors.insert(field, vec![text]);
    errors
}

/// A catch-all: any error response that is not already JSON becomes the envelope. A service's
/// own HTML error page (`text/html`, which the framework never produces) is left as it is.
///
/// Install it inside [`RequestIdMiddleware`](crate::RequestIdMiddleware) (i.e. `wrap` it
/// before) so the envelope gets the request id.
pub fn envelope_for_framework_errors<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(|res: ServiceResponse<B>| {
        let rendered = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
        });
        if rendered {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        let status = res.status();
        let allow = res.headers().get(header::ALLOW).cloned();
        let (req, _old) = res.into_parts();
        let mut response = ApiError::from(status).error_response();
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        Ok(ErrorHandlerResponse::Response(
            ServiceResponse::new(req, response).map_into_right_body::<B>(),
        ))
    })
}

/// `Cache-Control: no-store`, for responses carrying credentials (RFC 6749 §5.1).
pub const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_missing_and_unknown_fields() {
        let e = serde_field_errors("missing field `targetWlId` at line 1 column 2");
        assert_eq!(
            e.get("targetWlId").map(Vec::as_slice),
            Some(&["The targetWlId field is required.".to_owned()][..])
        );
        let e =
            serde_field_errors("unknown field `foo`, expected one of `a`, `b` at line 1 column 9");
        assert!(e.contains_key("foo"));
        let e = serde_field_errors(
            "invalid type: string \"x\", expected a sequence at line 1 column 14",
        );
        assert_eq!(
            e.get("body").and_then(|v| v.first()).map(String::as_str),
            Some("invalid type: string \"x\", expected a sequence")
        );
    }
}
