//! `GET /.well-known/jwks.json` (RFC 7517 §5; RFC 8414 `jwks_uri`).

use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// The public keys relying parties verify peer tokens with: every key from its publication
/// (before it signs) until its last token expired. `Cache-Control: public, max-age=JWKS_MAX_AGE_SECONDS`.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "peer tokens",
    responses((status = 200, description = "JWK Set (RFC 7517 §5)", body = Object, content_type = "application/jwk-set+json"))
)]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let set = state.keys.get().jwks(state.now());
    tessera_http::jwks::jwks_response(&set, state.config.keys.jwks_max_age_seconds)
}
