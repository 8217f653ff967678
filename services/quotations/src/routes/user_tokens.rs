//! A user's own personal access tokens, as Sanctum's `$user->tokens()` allows (issue #20):
//! `GET /api/user/tokens` lists them (never a secret), `DELETE /api/user/tokens/{token}` revokes
//! any of them. Authenticated by a personal access token of the same user.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::json;
use tessera_http::ApiError;
use utoipa::ToSchema;

use crate::caller::Caller;
use crate::db::personal_access_tokens;
use crate::db::personal_access_tokens::TokenRead;
use crate::error::Error;
use crate::state::AppState;

/// `{"data": [TokenRead]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    /// The caller's tokens, newest first (at most 1000).
    pub data: Vec<TokenRead>,
}

/// The caller's personal access tokens: id, name, abilities, created_at, last_used_at,
/// expires_at — never the secret.
#[utoipa::path(get, path = "/api/user/tokens", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = TokenList),
              (status = 401, body = tessera_http::ErrorEnvelope, description = "`unauthenticated`: no valid personal access token")))]
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    crate::throttle::check(&state, &req, &caller).await?;
    let user = caller.user()?.user.id;
    let mut conn = state.pool.get().await?;
    let data = personal_access_tokens::list_for(&mut conn, user).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", tessera_http::extract::NO_STORE))
        .json(TokenList { data }))
}

/// Revokes one of the caller's tokens by id (the one in use, or any other). Another user's token
/// id is answered as an unknown one.
#[utoipa::path(delete, path = "/api/user/tokens/{token}", tag = "auth", security(("bearer" = [])),
    params(("token" = i64, Path, description = "Token id")),
    responses((status = 200, description = "`{\"message\": \"Token revoked successfully.\"}`"),
              (status = 401, body = tessera_http::ErrorEnvelope, description = "`unauthenticated`"),
              (status = 404, body = tessera_http::ErrorEnvelope, description = "`not_found`: no such token of the caller's")))]
pub async fn destroy(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    crate::throttle::check(&state, &req, &caller).await?;
    let user = caller.user()?.user.id;
    let id = crate::routes::path_id(&path, Error::TokenNotFound)?;
    let mut conn = state.pool.get().await?;
    if !personal_access_tokens::revoke_own(&mut conn, user, id).await? {
        return Err(Error::TokenNotFound.into());
    }
    Ok(HttpResponse::Ok().json(json!({"message": "Token revoked successfully."})))
}
