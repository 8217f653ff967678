//! Access tokens (RFC 9068 JWTs) and the extractors of protected endpoints.
//!
//! A protected request carries `Authorization: Bearer <access_token>`. It is accepted only if
//! the token verifies against the service's key set, names the tenant of the path (`tenant`
//! and `iss`; otherwise 404, as if the tenant did not exist), and its session (`sid`) is live,
//! fully authenticated (`mfa_pending = false`) and belongs to an active agent of that tenant.
//! The session is checked in the database on every request, so logout and disabling an agent
//! take effect at once; the role is read from the database too, so a revoked `admin` loses
//! access at once even though its token still says `admin`.

use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use tessera_http::{ApiError, bearer_token};
use tessera_jwt::{Verifier, VerifierConfig};
use uuid::Uuid;

use crate::db::sessions::Session;
use crate::db::tenants::Tenant;
use crate::db::{sessions, tenants};
use crate::domain::{AgentId, AgentStatus, SessionId};
use crate::state::AppState;

/// `client_id` of every access token (RFC 9068 §2.2): the identity service itself issues them
/// to its agents.
pub const CLIENT_ID: &str = "tessera-identity";
/// `typ` header of access tokens (RFC 9068 §2.1).
pub const TOKEN_TYPE: &str = "at+jwt";
/// The role allowed to manage roles and agents.
pub const ADMIN_ROLE: &str = "admin";

/// Claims of an access token (RFC 9068 §2.2 plus `sid`, `tenant`, `roles`, `aal`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessClaims {
    /// The tenant's issuer URL, `<IDENTITY_ISSUER_BASE_URL>/tenants/<slug>`.
    pub iss: String,
    /// The agent id.
    pub sub: String,
    /// `ACCESS_TOKEN_AUDIENCE`.
    pub aud: String,
    /// Expiry (Unix seconds) = the session's expiry.
    pub exp: i64,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Unique token id.
    pub jti: String,
    /// [`CLIENT_ID`].
    pub client_id: String,
    /// The session id.
    pub sid: String,
    /// The tenant slug.
    pub tenant: String,
    /// The agent's roles when the token was issued.
    pub roles: Vec<String>,
    /// Authenticator assurance level (NIST SP 800-63B): `aal1` (password) or `aal2` (+ TOTP).
    pub aal: String,
}

/// Signs the access token of a fully authenticated `session`.
///
/// # Errors
/// 500 when no signing key is active.
pub fn issue_access_token(
    state: &AppState,
    tenant: &Tenant,
    session: &Session,
    role: Option<String>,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let claims = AccessClaims {
        iss: state.config.issuer(&tenant.slug),
        sub: session.agent_id.to_string(),
        aud: state.config.access_token_audience.clone(),
        exp: session.expires_at.timestamp(),
        iat: now.timestamp(),
        jti: Uuid::new_v4().to_string(),
        client_id: CLIENT_ID.to_owned(),
        sid: session.id.to_string(),
        tenant: tenant.slug.clone(),
        roles: role.into_iter().collect(),
        aal: format!("aal{}", session.aal),
    };
    state
        .keys
        .get()
        .sign(TOKEN_TYPE, &claims, now)
        .map_err(ApiError::internal)
}

/// Resolves the tenant of the path; 404 when unknown or disabled.
///
/// # Errors
/// 404, or 503 when the database is unavailable.
pub async fn tenant(state: &AppState, slug: &str) -> Result<Tenant, ApiError> {
    let mut conn = state.pool.get().await?;
    tenants::active_tenant(&mut conn, slug)
        .await?
        .ok_or_else(tenant_not_found)
}

/// The 404 of an unknown tenant, also used for another tenant's token or session.
pub fn tenant_not_found() -> ApiError {
    ApiError::not_found("Tenant not found.")
}

/// A fully authenticated agent of the path's tenant.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The tenant of the path.
    pub tenant: Tenant,
    /// The agent.
    pub agent_id: AgentId,
    /// The session.
    pub session: Session,
    /// The agent's current role.
    pub role: Option<String>,
}

/// An [`Authenticated`] agent whose current role is `admin` (403 otherwise).
#[derive(Debug, Clone)]
pub struct Admin(pub Authenticated);

async fn authenticate(req: HttpRequest) -> Result<Authenticated, ApiError> {
    let state = tessera_http::extract::app_data::<AppState>(&req)?;
    let slug = req.match_info().get("tenant_slug").unwrap_or_default();
    let now = state.now();
    let claims = match bearer_token(&req) {
        Some(token) => {
            let verifier = Verifier::with_jwks(
                VerifierConfig {
                    issuer: None,
                    audience: Some(state.config.access_token_audience.clone()),
                    leeway: Duration::from_secs(0),
                    ..VerifierConfig::default()
                },
                state.keys.get().jwks(now),
            );
            verifier.verify::<AccessClaims>(&token, now).await.ok()
        }
        None => None,
    };
    let Some(claims) = claims else {
        // An unknown tenant is a 404 whatever the credentials.
        tenant(&state, slug).await?;
        return Err(tessera_http::bearer::invalid_token());
    };
    if claims.tenant != slug || claims.iss != state.config.issuer(slug) {
        return Err(tenant_not_found());
    }
    let (agent_id, sid): (AgentId, SessionId) =
        tessera_http::bearer::subject_and_session(&claims.sub, &claims.sid)?;
    // One round trip: the session in the active tenant `slug`, its agent's status and role.
    let found = {
        let mut conn = state.pool.get().await?;
        sessions::session_context(&mut conn, slug, sid).await?
    };
    let Some((tenant, session, agent_status, role)) = found else {
        tenant(&state, slug).await?;
        return Err(tessera_http::bearer::invalid_token());
    };
    if session.agent_id != agent_id || !session.live_at(now) {
        return Err(tessera_http::bearer::invalid_token());
    }
    if session.mfa_pending {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNAUTHORIZED,
            tessera_http::ErrorCode::MfaRequired,
            "The session still needs its second factor.",
        ));
    }
    if agent_status != AgentStatus::Active {
        return Err(tessera_http::bearer::invalid_token());
    }
    Ok(Authenticated {
        tenant,
        agent_id,
        session,
        role,
    })
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let who = authenticate(req).await?;
            if who.role.as_deref() != Some(ADMIN_ROLE) {
                return Err(ApiError::forbidden(
                    "admin_role_required",
                    "This action requires the admin role in this tenant.",
                ));
            }
            Ok(Self(who))
        })
    }
}
