//! `GET /tenants/{tenant_slug}/.well-known/jwks.json` (RFC 7517 §5).

use actix_web::{HttpResponse, web};
use tessera_http::ApiError;

use crate::auth;
use crate::state::AppState;

/// The public keys the tenant's access tokens verify with. One key set serves every tenant;
/// tokens are told apart by `iss` and `tenant`. `Cache-Control: public, max-age=JWKS_MAX_AGE_SECONDS`.
#[utoipa::path(
    get,
    path = "/tenants/{tenant_slug}/.well-known/jwks.json",
    tag = "sessions",
    params(("tenant_slug" = String, Path, description = "Tenant slug")),
    responses(
        (status = 200, description = "JWK Set (RFC 7517 §5)", body = Object, content_type = "application/jwk-set+json"),
        (status = 404, description = "Unknown tenant", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn jwks(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    auth::tenant(&state, &path).await?;
    let set = state.keys.get().jwks(state.now());
    Ok(tessera_http::jwks::jwks_response(
        &set,
        state.config.keys.jwks_max_age_seconds,
    ))
}
