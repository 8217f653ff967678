//! OpenAPI pieces every service's document shares.

use utoipa::Modify;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

/// One HTTP bearer security scheme (RFC 6750).
#[derive(Debug, Clone, Copy)]
pub struct Bearer {
    /// The scheme's name in `components.securitySchemes` (what `security((…))` refers to).
    pub name: &'static str,
    /// What the credential is.
    pub description: &'static str,
    /// `bearerFormat`, e.g. `JWT`.
    pub format: Option<&'static str>,
}

/// Adds bearer security schemes to a document: `modifiers(&BearerSchemes(&[Bearer { … }]))`.
#[derive(Debug, Clone, Copy)]
pub struct BearerSchemes(pub &'static [Bearer]);

impl Modify for BearerSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for b in self.0 {
            let mut http = Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(b.description));
            if let Some(format) = b.format {
                http = http.bearer_format(format);
            }
            components.add_security_scheme(b.name, SecurityScheme::Http(http.build()));
        }
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
            }
        }
    }
}
