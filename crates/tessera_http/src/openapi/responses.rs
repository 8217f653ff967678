//! What every operation's responses carry besides its own: the extractors' error responses,
//! the platform's response headers, and the service's `error_code`s.

use utoipa::Modify;

/// The codes every service can answer with, whatever its routes: the extractors' and the
/// framework's (`invalid_json`, `unsupported_media_type`, `payload_too_large`,
/// `validation_error`, `not_found`, `method_not_allowed`, `http_error`), the gateway-source
/// check (`forbidden`), a failed credential (`unauthenticated`), and 5xx (`internal_error`,
/// `service_unavailable`).
pub const FRAMEWORK_ERROR_CODES: &[crate::ErrorCode] = &[
    crate::ErrorCode::ValidationError,
    crate::ErrorCode::InvalidJson,
    crate::ErrorCode::UnsupportedMediaType,
    crate::ErrorCode::PayloadTooLarge,
    crate::ErrorCode::Unauthenticated,
    crate::ErrorCode::Forbidden,
    crate::ErrorCode::NotFound,
    crate::ErrorCode::MethodNotAllowed,
    crate::ErrorCode::HttpError,
    crate::ErrorCode::InternalError,
    crate::ErrorCode::ServiceUnavailable,
];

/// Narrows the document's `ErrorCode` schema (the whole platform catalog, `docs/errors.md`) to
/// [`FRAMEWORK_ERROR_CODES`] and the service's own: `modifiers(&ERROR_CODES)` with
/// `const ERROR_CODES: ErrorCodes = ErrorCodes(&[ErrorCode::Conflict, …]);`. The catalog's order
/// is kept. `crates/tessera_e2e/tests/error_codes.rs` fails when a service's source constructs a
/// code its document does not list.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCodes(pub &'static [crate::ErrorCode]);

impl Modify for ErrorCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::Schema;
        let Some(RefOr::T(Schema::Object(schema))) = openapi
            .components
            .as_mut()
            .and_then(|c| c.schemas.get_mut("ErrorCode"))
        else {
            return;
        };
        let allowed = |code: &str| {
            FRAMEWORK_ERROR_CODES
                .iter()
                .chain(self.0)
                .any(|c| c.as_str() == code)
        };
        if let Some(values) = schema.enum_values.as_mut() {
            values.retain(|v| v.as_str().is_some_and(allowed));
        }
        schema.description = Some(
            "The `error_code`s this service answers with: the framework's and its own \
             (`docs/errors.md` has the platform's catalog, each with its status)."
                .to_owned(),
        );
    }
}

/// Documents the responses the shared extractors produce on every operation
/// ([`crate::extract`]), in the error envelope, where an operation does not list them already:
///
/// - with a request body: **400** `invalid_json` (not JSON), **413** `payload_too_large`,
///   **415** `unsupported_media_type` (not `application/json`), and the validation status
///   (a well-formed body with wrong, missing or unknown fields);
/// - with query parameters: the validation status (a query string that does not parse);
/// - with path parameters: **404** `not_found` (a segment of the wrong type).
///
/// `validation_status` is the service's [`crate::ExtractorOptions::validation_status`]
/// (422, or 400 for seed 004). Found by fuzzing the documents (schemathesis: undocumented
/// status codes), issue #8.
#[derive(Debug, Clone, Copy)]
pub struct FrameworkResponses {
    /// 422 or 400.
    pub validation_status: u16,
    /// The service throttles every route: **429** `too_many_requests` (with `Retry-After`)
    /// on every operation.
    pub throttled: bool,
}

/// [`FrameworkResponses`]: validation failures are 422 (seed 001's rule, most services); no
/// throttle on every route. Name it in `modifiers(&UNPROCESSABLE)` (utoipa takes a bare name).
pub const UNPROCESSABLE: FrameworkResponses = FrameworkResponses {
    validation_status: 422,
    throttled: false,
};

/// [`FrameworkResponses`]: validation failures are 400 (seed 004: users-registration).
pub const BAD_REQUEST: FrameworkResponses = FrameworkResponses {
    validation_status: 400,
    throttled: false,
};

/// [`FrameworkResponses`]: validation failures are 422 and every route is throttled
/// (quotations' API throttle).
pub const UNPROCESSABLE_THROTTLED: FrameworkResponses = FrameworkResponses {
    validation_status: 422,
    throttled: true,
};

impl Default for FrameworkResponses {
    fn default() -> Self {
        Self {
            validation_status: 422,
            throttled: false,
        }
    }
}

fn envelope_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                .build(),
        )
        .build()
        .into()
}

impl Modify for FrameworkResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::path::ParameterIn;
        let validation = self.validation_status.to_string();
        for item in openapi.paths.paths.values_mut() {
            let shared = item.parameters.clone().unwrap_or_default();
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let params: Vec<ParameterIn> = shared
                    .iter()
                    .chain(op.parameters.iter().flatten())
                    .filter_map(|p| match p {
                        RefOr::T(p) => Some(p.parameter_in.clone()),
                        RefOr::Ref(_) => None,
                    })
                    .collect();
                let mut add = |status: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| envelope_response(description));
                };
                if op.request_body.is_some() {
                    add("400", "`invalid_json`: the body is not JSON");
                    add("413", "`payload_too_large`: the body is over the limit");
                    add(
                        "415",
                        "`unsupported_media_type`: the body is not `application/json`",
                    );
                    add(
                        &validation,
                        "`validation_error`: the body's fields are invalid",
                    );
                }
                if params.iter().any(|p| matches!(p, ParameterIn::Query)) {
                    add(
                        &validation,
                        "`validation_error`: the query string is invalid",
                    );
                }
                if params.iter().any(|p| matches!(p, ParameterIn::Path)) {
                    add(
                        "404",
                        "`not_found`: no such resource, or a malformed path segment",
                    );
                }
                if self.throttled {
                    add(
                        "429",
                        "`too_many_requests`: over the rate limit; `Retry-After` in seconds",
                    );
                }
                let named = |name: &str| {
                    op.parameters.iter().flatten().any(|p| match p {
                        RefOr::T(p) => p.name.eq_ignore_ascii_case(name),
                        RefOr::Ref(_) => false,
                    })
                };
                let idempotent = named("Idempotency-Key");
                let paginated = named("page") && named("per_page");
                document_headers(&mut op.responses, idempotent, paginated);
            }
        }
    }
}

/// A string or integer response header.
fn header(
    integer: bool,
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::header::Header> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let schema =
        ObjectBuilder::new().schema_type(if integer { Type::Integer } else { Type::String });
    utoipa::openapi::header::HeaderBuilder::new()
        .schema(Some(schema))
        .description(Some(description))
        .build()
        .into()
}

/// The response headers the platform sets, on every response of an operation where it does not
/// document them already (ARCHITECTURE.md §2):
///
/// - `X-Request-Id` on every response (the request's id, the caller's when valid);
/// - `Retry-After` (seconds) on every 429 and 503;
/// - `Idempotent-Replayed: true` on the 2xx of an operation taking `Idempotency-Key`, when the
///   answer is the stored one;
/// - `Link` (RFC 8288 `first`/`prev`/`next`/`last`) on the 200 of a list taking `page` and
///   `per_page` ([`crate::pagination::page_response`]).
pub fn document_headers(
    responses: &mut utoipa::openapi::Responses,
    idempotent: bool,
    paginated: bool,
) {
    use utoipa::openapi::RefOr;
    for (status, response) in &mut responses.responses {
        let RefOr::T(response) = response else {
            continue;
        };
        let mut add = |name: &str, integer: bool, description: &str| {
            response
                .headers
                .entry(name.to_owned())
                .or_insert_with(|| header(integer, description));
        };
        add(
            "X-Request-Id",
            false,
            "The request's id: the caller's `X-Request-Id` when it is a plain token \
             (`[A-Za-z0-9._-]{1,128}`), else a new UUID; also in the error envelope and the logs",
        );
        if status == "429" || status == "503" {
            add(
                "Retry-After",
                true,
                "Seconds to wait before trying again (RFC 9110 §10.2.3)",
            );
        }
        if paginated && status == "200" {
            add(
                "Link",
                false,
                "RFC 8288 links to the `first`, `prev`, `next` and `last` pages, the other \
                 query parameters kept",
            );
        }
        if idempotent && status.starts_with('2') {
            add(
                "Idempotent-Replayed",
                false,
                "`true` when this is the stored answer to an earlier request with the same \
                 `Idempotency-Key` and body (draft-ietf-httpapi-idempotency-key-header)",
            );
        }
    }
}
