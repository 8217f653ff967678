//! The OpenAPI 3.1 document, generated from the handlers' annotations.
//!
//! Served at `GET /openapi.json`; committed as `docs/openapi/control-plane.yaml`
//! (`control-plane openapi > docs/openapi/control-plane.yaml`); a test fails when they drift.

use tessera_http::openapi::{Bearer, BearerSchemes, Examples, UNPROCESSABLE};
use utoipa::openapi::security::SecurityScheme;
use utoipa::{Modify, OpenApi};

use crate::routes::{api_keys, jwks, peer_token, relationships, white_labels};

/// The `error_code`s this service answers with besides the framework's
/// ([`tessera_http::openapi::FRAMEWORK_ERROR_CODES`]).
const ERROR_CODES: tessera_http::openapi::ErrorCodes = tessera_http::openapi::ErrorCodes(&[
    tessera_http::ErrorCode::UnknownScope,
    tessera_http::ErrorCode::Conflict,
]);

tessera_http::api! {
/// The document.
#[openapi(
    info(
        title = "Tessera control plane",
        description = "White-label registry and peer-token issuer (seed 000). Errors use the platform envelope \
                       `{message, error_code, request_id, errors?, reason?, details?}`; every response carries `X-Request-Id`.",
        license(name = "Apache-2.0")
    ),
    components(schemas(peer_token::PeerTokenClaims, tessera_http::ErrorCode)),
    modifiers(&BEARER, &ERROR_CODES, &Examples, &Security, &UNPROCESSABLE),
    tags(
        (name = "peer tokens", description = "Short-lived JWTs one WL presents to another"),
        (name = "operator", description = "Registry management (bearer CP_ADMIN_TOKEN)")
    )
)]
pub struct ApiDoc;
operations = [
    peer_token::issue_peer_token,
    jwks::jwks,
    white_labels::create_wl,
    white_labels::list_wls,
    white_labels::get_wl,
    white_labels::update_wl,
    relationships::put_relationship,
    relationships::list_relationships,
    relationships::delete_relationship,
    api_keys::issue_api_key,
    api_keys::list_api_keys,
    api_keys::revoke_api_key,
];
}

struct Security;

const BEARER: BearerSchemes = BearerSchemes(&[
    Bearer {
        name: "wlApiKey",
        description: "A WL API key (`cpk_…`)",
        format: None,
    },
    Bearer {
        name: "adminToken",
        description: "CP_ADMIN_TOKEN",
        format: None,
    },
]);

/// The mTLS scheme (the bearer ones come from [`BEARER`]).
impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "mtls",
            SecurityScheme::MutualTls {
                description: Some(
                    "A client certificate naming the WL (URI SAN spiffe://<trust-domain>/wl/<id> or CN), verified by the ingress \
                     and forwarded in X-Forwarded-Client-Cert"
                        .to_owned(),
                ),
                deprecated: None,
                extensions: None,
            },
        );
    }
}

/// The document as YAML (what `docs/openapi/control-plane.yaml` holds).
///
/// # Errors
/// Serialisation failures.
pub fn yaml() -> anyhow::Result<String> {
    Ok(ApiDoc::openapi().to_yaml()?)
}

/// Registers every route of the service: the operations of [`ApiDoc`], `/openapi.json` and `/docs`
/// (health, readiness and metrics are added by startup).
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    tessera_http::openapi::configure::<ApiDoc>(cfg, "control-plane");
}
