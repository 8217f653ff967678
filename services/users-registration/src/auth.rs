//! Roles, scopes, access tokens and the extractor of protected endpoints (seed 004
//! "Políticas de segurança e autorização").
//!
//! Access tokens are HS256 JWTs signed with `JWT_SECRET` (the seed's choice; through
//! `tessera_jwt`, which refuses any other `alg` for a shared secret). Claims (RFC 9068 §2.2
//! names): `iss`, `sub` = user id, `exp`, `iat`, `jti`, `sid` = login session, `role`, `scope`
//! (space-separated, RFC 9068 §2.2.3; the seed's "scopes").
//!
//! A protected request is accepted only when the token verifies *and* its session is live
//! and its user still `APPROVED`: one query per request reads the session, the user's status,
//! role and scopes, so logout, refresh-token reuse and a status change take effect at once, and
//! the scopes that decide are the current ones, not those the token was minted with.

use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use tessera_http::{ApiError, bearer_token};
use uuid::Uuid;

use crate::db::sessions;
pub use crate::domain::{
    ADMIN_USERS, Principal, REGISTRATIONS_WRITE, Role, SCOPES, USERS_READ, USERS_WRITE,
    effective_scopes,
};
use crate::domain::{SessionId, UserId};
use crate::state::AppState;

/// `typ` header of access tokens (RFC 9068 §2.1).
pub const TOKEN_TYPE: &str = "at+jwt";

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessClaims {
    /// `JWT_ISSUER`.
    pub iss: String,
    /// The user id.
    pub sub: String,
    /// Expiry (Unix seconds).
    pub exp: i64,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Unique token id.
    pub jti: String,
    /// The login session (refresh-token family) id.
    pub sid: String,
    /// The user's role when issued.
    pub role: Role,
    /// Space-separated scopes when issued (RFC 9068 §2.2.3).
    pub scope: String,
}

/// Signs an access token for `user_id` in session `sid`; returns it with its lifetime.
///
/// # Errors
/// 500 if signing fails.
pub fn issue_access_token(
    state: &AppState,
    user_id: UserId,
    sid: SessionId,
    role: Role,
    scopes: &[String],
    now: DateTime<Utc>,
) -> Result<(String, u64), ApiError> {
    let ttl = state.config.access_token_ttl_seconds;
    let claims = AccessClaims {
        iss: state.config.jwt_issuer.clone(),
        sub: user_id.to_string(),
        exp: now
            .timestamp()
            .saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)),
        iat: now.timestamp(),
        jti: Uuid::new_v4().to_string(),
        sid: sid.to_string(),
        role,
        scope: scopes.join(" "),
    };
    let token = state
        .keys
        .sign(TOKEN_TYPE, &claims, now)
        .map_err(ApiError::internal)?;
    Ok((token, ttl))
}

async fn authenticate(req: HttpRequest) -> Result<Principal, ApiError> {
    let state = tessera_http::extract::app_data::<AppState>(&req)?;
    let now = state.now();
    let token = bearer_token(&req).ok_or_else(tessera_http::bearer::invalid_token)?;
    let claims: AccessClaims = state
        .verifier
        .verify(&token, now)
        .await
        .map_err(|_| tessera_http::bearer::invalid_token())?;
    let (user_id, sid): (UserId, SessionId) =
        tessera_http::bearer::subject_and_session(&claims.sub, &claims.sid)?;
    let found = {
        let mut conn = state.pool.get().await?;
        sessions::session_principal(&mut conn, sid, now).await?
    };
    match found {
        Some(p) if p.user_id == user_id => Ok(p),
        _ => Err(tessera_http::bearer::invalid_token()),
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

/// The verifier of access tokens: HS256 with `JWT_SECRET`, `iss` = `JWT_ISSUER`, 30 s leeway.
pub fn verifier(secret: &[u8], issuer: &str) -> tessera_jwt::Verifier {
    tessera_jwt::Verifier::with_secret(
        tessera_jwt::VerifierConfig {
            issuer: Some(issuer.to_owned()),
            audience: None,
            leeway: Duration::from_secs(30),
            ..tessera_jwt::VerifierConfig::default()
        },
        secret,
    )
}
