//! The OpenAPI 3.1 document, generated from the handlers' annotations; served at
//! `GET /openapi.json`.

use tessera_http::openapi::{Bearer, BearerSchemes, Examples, UNPROCESSABLE};
use utoipa::OpenApi;

use crate::routes::{admin, token};

const BEARER: BearerSchemes = BearerSchemes(&[
    Bearer {
        name: "adminToken",
        description: "BROKER_ADMIN_TOKEN, the operators' credential",
        format: None,
    },
    Bearer {
        name: "callerToken",
        description: "BROKER_CALLER_TOKEN, the auth proxy's service credential",
        format: None,
    },
]);

/// The `error_code`s this service answers with besides the framework's
/// ([`tessera_http::openapi::FRAMEWORK_ERROR_CODES`]).
const ERROR_CODES: tessera_http::openapi::ErrorCodes = tessera_http::openapi::ErrorCodes(&[
    tessera_http::ErrorCode::Conflict,
    tessera_http::ErrorCode::UpstreamError,
    tessera_http::ErrorCode::TooManyRequests,
]);

tessera_http::api! {
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
    modifiers(&BEARER, &ERROR_CODES, &Examples, &UNPROCESSABLE),
    tags(
        (name = "tokens", description = "The token endpoint the auth proxy calls"),
        (name = "operator", description = "Bindings, wallet credentials and the audit log (bearer BROKER_ADMIN_TOKEN)")
    )
)]
pub struct ApiDoc;
operations = [
    token::issue_token,
    admin::create_binding,
    admin::list_bindings,
    admin::delete_binding,
    admin::suspend_binding,
    admin::reactivate_binding,
    admin::put_wallet,
    admin::list_audit,
];
}

/// The document as YAML.
///
/// # Errors
/// Serialisation failures.
pub fn yaml() -> anyhow::Result<String> {
    Ok(ApiDoc::openapi().to_yaml()?)
}

/// Registers every route of the service: the operations of [`ApiDoc`], `/openapi.json` and `/docs`
/// (health, readiness and metrics are added by startup).
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    tessera_http::openapi::configure::<ApiDoc>(cfg, "credential-broker");
}
