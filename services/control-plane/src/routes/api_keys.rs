//! `/wls/{id}/api-keys[/{keyId}]` (operator): issue, list and revoke a white label's API keys.
//! The secret is in the issuing response only.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use tessera_http::ApiError;

use crate::auth::Admin;
use crate::db::api_keys::{self, ApiKeyInfo};
use crate::state::AppState;

/// `{"apiKey": …, "secret": "cpk_…"}`: the secret is shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewApiKeyResponse {
    /// Metadata.
    pub api_key: ApiKeyInfo,
    /// The key itself; store it now, it cannot be shown again.
    pub secret: String,
}

/// `{"apiKeys": […]}` (newest 100).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyListResponse {
    /// Metadata only.
    pub api_keys: Vec<ApiKeyInfo>,
}

/// Issues an API key for a white label (the secret is in this response only).
#[utoipa::path(post, path = "/wls/{id}/api-keys", tag = "operator", params(("id" = String, Path)), security(("adminToken" = [])),
    responses((status = 201, body = NewApiKeyResponse), (status = 401, body = tessera_http::ErrorEnvelope), (status = 404, body = tessera_http::ErrorEnvelope)))]
pub async fn issue_api_key(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.registry.pool().get().await?;
    let key = api_keys::issue(&mut conn, &id).await?;
    tracing::info!(wl.id = %id, key.id = %key.info.id, "API key issued");
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            tessera_http::extract::NO_STORE,
        ))
        .json(NewApiKeyResponse {
            api_key: key.info,
            secret: key.plaintext,
        }))
}

/// Lists a white label's API keys (metadata only).
#[utoipa::path(get, path = "/wls/{id}/api-keys", tag = "operator", params(("id" = String, Path)), security(("adminToken" = [])),
    responses((status = 200, body = ApiKeyListResponse), (status = 401, body = tessera_http::ErrorEnvelope)))]
pub async fn list_api_keys(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.registry.pool().get().await?;
    let keys = api_keys::list(&mut conn, &id).await?;
    Ok(HttpResponse::Ok().json(ApiKeyListResponse { api_keys: keys }))
}

/// Revokes an API key.
#[utoipa::path(delete, path = "/wls/{id}/api-keys/{keyId}", tag = "operator", params(("id" = String, Path), ("keyId" = uuid::Uuid, Path)),
    security(("adminToken" = [])),
    responses((status = 204), (status = 401, body = tessera_http::ErrorEnvelope), (status = 404, body = tessera_http::ErrorEnvelope)))]
pub async fn revoke_api_key(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, uuid::Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (wl, key_id) = path.into_inner();
    let mut conn = state.registry.pool().get().await?;
    api_keys::revoke(&mut conn, &wl, key_id).await?;
    state.registry.invalidate();
    tracing::info!(wl.id = %wl, key.id = %key_id, "API key revoked");
    Ok(HttpResponse::NoContent().finish())
}
