//! The OpenAPI 3.1 document, generated from the handlers' annotations.
//!
//! Served at `GET /openapi.json`; committed as `docs/openapi/control-plane.yaml`
//! (`control-plane openapi > docs/openapi/control-plane.yaml`); a test fails when they drift.

use tessera_http::openapi::UNPROCESSABLE;
use utoipa::Modify;
use utoipa::openapi::security::SecurityScheme;

use crate::routes::{api_keys, jwks, peer_token, relationships, white_labels};

tessera_http::api! {
service = "control-plane";
bearer = [
    ("wlApiKey", "A WL API key (`cpk_…`)", None),
    ("adminToken", "CP_ADMIN_TOKEN", None),
];
error_codes = [UnknownScope, Conflict];
modifiers = [&Security, &UNPROCESSABLE];
/// The document.
#[openapi(
    info(
        title = "Tessera control plane",
        description = "White-label registry and peer-token issuer (seed 000). Errors use the platform envelope \
                       `{message, error_code, request_id, errors?, reason?, details?}`; every response carries `X-Request-Id`.",
        license(name = "Apache-2.0")
    ),
    components(schemas(peer_token::PeerTokenClaims, tessera_http::ErrorCode)),
    tags(
        (name = "peer tokens", description = "Short-lived JWTs one WL presents to another"),
        (name = "operator", description = "Registry management (bearer CP_ADMIN_TOKEN)")
    )
)]
pub struct ApiDoc;
operations = [
    peer_token::{issue_peer_token},
    jwks::{jwks},
    white_labels::{create_wl, list_wls, get_wl, update_wl},
    relationships::{put_relationship, list_relationships, delete_relationship},
    api_keys::{issue_api_key, list_api_keys, revoke_api_key},
];
}

struct Security;

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
