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
use actix_web::{FromRequest, HttpRequest, web};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use tessera_http::{ApiError, bearer_token};
use uuid::Uuid;

use crate::db::sessions;
use crate::state::AppState;

/// `typ` header of access tokens (RFC 9068 §2.1).
pub const TOKEN_TYPE: &str = "at+jwt";

/// Read user profiles (own, or any for analysts and auditors).
pub const USERS_READ: &str = "users:read";
/// Change profile fields (own, or any for analysts).
pub const USERS_WRITE: &str = "users:write";
/// Submit registrations.
pub const REGISTRATIONS_WRITE: &str = "registrations:write";
/// Approve or reject users.
pub const ADMIN_USERS: &str = "admin:users";
/// Every scope the service knows.
pub const SCOPES: [&str; 4] = [USERS_READ, USERS_WRITE, REGISTRATIONS_WRITE, ADMIN_USERS];

tessera_db::text_enum! {
    /// A user's role (seed 004 "User.role").
    #[derive(Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum Role {
        /// A rural producer: own data only.
        Producer = "producer",
        /// Reviews registrations (`admin:users`).
        Analyst = "analyst",
        /// Reads everything, changes nothing.
        Auditor = "auditor",
    }
}

impl Role {
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    /// The role's scopes when the user has no explicit ones: producer ⇒ `users:read`,
    /// `users:write`, `registrations:write` (own data); analyst ⇒ `users:read`, `users:write`,
    /// `admin:users`; auditor ⇒ `users:read`.
    pub fn default_scopes(self) -> &'static [&'static str] {
        match self {
            Self::Producer => &[USERS_READ, USERS_WRITE, REGISTRATIONS_WRITE],
            Self::Analyst => &[USERS_READ, USERS_WRITE, ADMIN_USERS],
            Self::Auditor => &[USERS_READ],
        }
    }

    /// Whether the role may see other users' data (analysts and auditors).
    pub fn sees_everyone(self) -> bool {
        self != Self::Producer
    }
}

/// The user's effective scopes: the explicit ones, else the role's defaults.
pub fn effective_scopes(role: Role, explicit: Option<&[String]>) -> Vec<String> {
    match explicit {
        Some(s) => s.to_vec(),
        None => role
            .default_scopes()
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    }
}

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
    user_id: Uuid,
    sid: Uuid,
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

/// The authenticated caller of a protected endpoint, as of this request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user id.
    pub user_id: Uuid,
    /// The login session.
    pub session_id: Uuid,
    /// Current role.
    pub role: Role,
    /// Current effective scopes.
    pub scopes: Vec<String>,
}

impl Principal {
    /// Whether the caller has `scope`.
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// 403 `forbidden` with `reason` = `missing_scope` unless the caller has `scope`.
    ///
    /// # Errors
    /// The 403.
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "missing_scope",
                format!("This action requires the {scope} scope."),
            ))
        }
    }

    /// Whether the caller may read the data of user `owner`: its own (with `users:read`), or
    /// anyone's for analysts and auditors.
    pub fn may_read(&self, owner: Uuid) -> bool {
        self.has(USERS_READ) && (owner == self.user_id || self.role.sees_everyone())
    }
}

fn unauthenticated() -> ApiError {
    ApiError::unauthenticated("The access token is missing, invalid or expired.")
}

async fn authenticate(req: HttpRequest) -> Result<Principal, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal("AppState missing"))?
        .clone();
    let now = state.now();
    let token = bearer_token(&req).ok_or_else(unauthenticated)?;
    let claims: AccessClaims = state
        .verifier
        .verify(&token, now)
        .await
        .map_err(|_| unauthenticated())?;
    let (Ok(user_id), Ok(sid)) = (Uuid::parse_str(&claims.sub), Uuid::parse_str(&claims.sid))
    else {
        return Err(unauthenticated());
    };
    let found = {
        let mut conn = state.pool.get().await?;
        sessions::session_principal(&mut conn, sid, now).await?
    };
    match found {
        Some(p) if p.user_id == user_id => Ok(p),
        _ => Err(unauthenticated()),
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
