//! The OpenAPI 3.1 document, generated from the handlers' annotations.
//!
//! Served at `GET /openapi.json`; committed as `docs/openapi/identity.yaml`
//! (`identity openapi > docs/openapi/identity.yaml`, or `make openapi`); a test fails when they drift.

use tessera_http::openapi::UNPROCESSABLE;

use crate::routes::{agent_enrollment, agents, enroll, jwks, roles, session};

tessera_http::api! {
service = "identity";
bearer = [("bearer", "The access_token of a fully authenticated session of the same tenant", Some("JWT"))];
error_codes = [MfaRequired, InvalidCredentials, Conflict, TooManyRequests, InvalidToken, Gone];
modifiers = [&UNPROCESSABLE];
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
    tags(
        (name = "sessions", description = "Login, second factor, logout, token keys"),
        (name = "mfa", description = "TOTP enrollment"),
        (name = "roles", description = "Role assignments (admin only)"),
        (name = "agents", description = "Agent administration (admin only)")
    )
)]
pub struct ApiDoc;
operations = [
    session::{login, verify_mfa, logout, current_session},
    enroll::{enroll, confirm},
    roles::{list_roles, put_role, delete_role},
    agents::{list_agents},
    agent_enrollment::{create_agent, reissue_enrollment, enroll},
    agents::{update_agent, unlock_agent, reset_mfa, list_sessions, revoke_sessions, regenerate_recovery_codes},
    jwks::{jwks},
];
}
