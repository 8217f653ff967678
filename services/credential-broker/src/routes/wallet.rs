//! The operator API's wallet credentials (bearer `BROKER_ADMIN_TOKEN`): a user's refresh token
//! for an upstream, stored sealed (oauth wallet only).

use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;
use tessera_http::ApiError;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::operator;
use crate::error::Error;
use crate::hosts;
use crate::state::AppState;
use crate::wallet::Wallet;

/// `PUT /api/wallet/…` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletPut {
    /// The user's OAuth refresh token for the upstream (stored sealed, never returned).
    #[schema(value_type = String, format = Password)]
    pub refresh_token: SecretString,
}

/// Stores a user's refresh token for an upstream (oauth wallet only).
#[utoipa::path(put, path = "/api/wallet/{agent_id}/{upstream_host}", tag = "operator", security(("adminToken" = [])),
    params(("agent_id" = Uuid, Path), ("upstream_host" = String, Path)), request_body = WalletPut,
    responses((status = 204), (status = 401, body = tessera_http::ErrorEnvelope),
              (status = 409, description = "The wallet backend is static", body = tessera_http::ErrorEnvelope),
              (status = 422, body = tessera_http::ErrorEnvelope)))]
pub async fn put_wallet(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(Uuid, String)>,
    body: web::Json<WalletPut>,
) -> Result<HttpResponse, ApiError> {
    operator(&state, &req)?;
    let Wallet::OAuth(wallet) = &state.wallet else {
        return Err(Error::StaticWallet.into());
    };
    let (agent_id, host) = path.into_inner();
    let host = hosts::normalise(&host)
        .ok_or_else(|| ApiError::invalid_field("upstream_host", "A plain lower-case host name."))?;
    if secrecy::ExposeSecret::expose_secret(&body.refresh_token).is_empty() {
        return Err(ApiError::invalid_field(
            "refresh_token",
            "The refresh_token field is required.",
        ));
    }
    let mut conn = state.pool.get().await?;
    wallet
        .put_refresh_token(&mut conn, agent_id, &host, &body.refresh_token)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(HttpResponse::NoContent().finish())
}
