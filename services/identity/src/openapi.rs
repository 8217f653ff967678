//! The OpenAPI 3.1 document, generated from the handlers' annotations.
//!
//! Served at `GET /openapi.json`; committed as `docs/openapi/identity.yaml`
//! (`identity openapi > docs/openapi/identity.yaml`, or `make openapi`); a test fails when they drift.

use tessera_http::openapi::{Bearer, BearerSchemes, Examples, UNPROCESSABLE};
use utoipa::OpenApi;

use crate::routes::{agent_enrollment, agents, enroll, jwks, roles, session};

const BEARER: BearerSchemes = BearerSchemes(&[Bearer {
    name: "bearer",
    description: "The access_token of a fully authenticated session of the same tenant",
    format: Some("JWT"),
}]);

/// The `error_code`s this service answers with besides the framework's
/// ([`tessera_http::openapi::FRAMEWORK_ERROR_CODES`]).
const ERROR_CODES: tessera_http::openapi::ErrorCodes = tessera_http::openapi::ErrorCodes(&[
    tessera_http::ErrorCode::MfaRequired,
    tessera_http::ErrorCode::InvalidCredentials,
    tessera_http::ErrorCode::Conflict,
    tessera_http::ErrorCode::TooManyRequests,
    tessera_http::ErrorCode::InvalidToken,
    tessera_http::ErrorCode::Gone,
]);

tessera_http::api! {
/// The document.
#[openapi(
    info(
        title = "Tessera identity",
        description = "Multi-tenant agent login with TOTP MFA, sessions and role assignments (seed 002). Every path is under \
                       `/tenants/{tenant_slug}`; an unknown tenant, or a token, session or agent of another tenant, is a 404. \
                       Errors use the platform envelope `{message, error_code, request_id, errors?, reason?, details?}`; \
                       every response carries `X-Request-Id`.",
        license(name = "Apache-2.0")
    ),
    components(schemas(crate::auth::AccessClaims, tessera_http::ErrorCode)),
    modifiers(&BEARER, &ERROR_CODES, &Examples, &UNPROCESSABLE),
    tags(
        (name = "sessions", description = "Login, second factor, logout, token keys"),
        (name = "mfa", description = "TOTP enrollment"),
        (name = "roles", description = "Role assignments (admin only)"),
        (name = "agents", description = "Agent administration (admin only)")
    )
)]
pub struct ApiDoc;
operations = [
    session::login,
    session::verify_mfa,
    session::logout,
    session::current_session,
    enroll::enroll,
    enroll::confirm,
    roles::list_roles,
    roles::put_role,
    roles::delete_role,
    agents::list_agents,
    agent_enrollment::create_agent,
    agent_enrollment::reissue_enrollment,
    agent_enrollment::enroll,
    agents::update_agent,
    agents::unlock_agent,
    agents::reset_mfa,
    agents::list_sessions,
    agents::revoke_sessions,
    agents::regenerate_recovery_codes,
    jwks::jwks,
];
}

/// The document as YAML (what `docs/openapi/identity.yaml` holds).
///
/// # Errors
/// Serialisation failures.
pub fn yaml() -> anyhow::Result<String> {
    Ok(ApiDoc::openapi().to_yaml()?)
}

/// Registers every route of the service: the operations of [`ApiDoc`], `/openapi.json` and `/docs`
/// (health, readiness and metrics are added by startup).
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    tessera_http::openapi::configure::<ApiDoc>(cfg, "identity");
}
