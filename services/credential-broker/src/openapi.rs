//! The OpenAPI 3.1 document, generated from the handlers' annotations; served at
//! `GET /openapi.json`.

use tessera_http::openapi::UNPROCESSABLE;

use crate::routes::{audit, bindings, token, wallet};

tessera_http::api! {
service = "credential-broker";
bearer = [
    ("adminToken", "BROKER_ADMIN_TOKEN, the operators' credential", None),
    ("callerToken", "BROKER_CALLER_TOKEN, the auth proxy's service credential", None),
];
error_codes = [Conflict, UpstreamError, TooManyRequests];
modifiers = [&UNPROCESSABLE];
/// The document.
#[openapi(
    info(
        title = "Tessera credential broker",
        description = "Upstream access tokens for code sandboxes behind fail-closed bindings (seed 003). Errors use the \
                       platform envelope `{message, error_code, request_id, errors?, reason?, details?}`; a 403 names the \
                       failed check in `reason`.",
        license(name = "Apache-2.0")
    ),
    components(schemas(tessera_http::ErrorCode)),
    tags(
        (name = "tokens", description = "The token endpoint the auth proxy calls"),
        (name = "operator", description = "Bindings, wallet credentials and the audit log (bearer BROKER_ADMIN_TOKEN)")
    )
)]
pub struct ApiDoc;
operations = [
    token::{issue_token},
    bindings::{create_binding, list_bindings, delete_binding, suspend_binding, reactivate_binding},
    wallet::{put_wallet},
    audit::{list_audit},
];
}
