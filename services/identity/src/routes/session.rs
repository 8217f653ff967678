//! Login, second factor and logout (seed 002 "Endpoints").

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tessera_db::attempts::SignIn;
use tessera_http::{ApiError, ErrorCode, FieldErrors};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{self, Authenticated};
use crate::db::agent_credentials;
use crate::db::sessions::Session;
use crate::db::tenants::Tenant;
use crate::db::{agents, sessions};
use crate::state::AppState;

mod second_factor;
pub use second_factor::*;

/// Longest password accepted (bounds the hashing input).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The one answer for an unknown e-mail, a wrong password, a disabled and a locked agent.
const BAD_CREDENTIALS: &str = "The e-mail or password is incorrect, or the account is locked.";

fn invalid_credentials(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::InvalidCredentials,
        message,
    )
}

/// `TenantLoginRequest`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantLoginRequest {
    /// The agent's e-mail (case-insensitive).
    #[schema(example = "ana@acme.test")]
    pub email: String,
    /// The password (1..=1024 bytes).
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// `TenantLoginResponse` (seed 002).
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantLoginResponse {
    /// The session (send it to `/mfa/verify` when `mfa_required`).
    pub session_id: Uuid,
    /// The agent.
    pub agent_id: Uuid,
    /// Whether the second factor is still needed; no `access_token` until it is given.
    pub mfa_required: bool,
    /// When the session ends (RFC 3339).
    pub expires_at: DateTime<Utc>,
    /// Seconds of session left (the full `AUTH_SESSION_TIMEOUT_SECONDS` at login).
    pub session_timeout_seconds: i64,
    /// RFC 9068 JWT access token, present when `mfa_required` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// `Bearer`, with `access_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
}

fn validate_login(body: &TenantLoginRequest) -> Result<(), ApiError> {
    use secrecy::ExposeSecret;
    let mut errors = FieldErrors::new();
    if tessera_http::email::Email::parse(&body.email).is_err() {
        errors.insert(
            "email".into(),
            vec!["The email field must be a valid e-mail address.".into()],
        );
    }
    let pw = body.password.expose_secret().len();
    if pw == 0 || pw > MAX_PASSWORD_BYTES {
        errors.insert(
            "password".into(),
            vec![format!(
                "The password field must be 1 to {MAX_PASSWORD_BYTES} bytes."
            )],
        );
    }
    ApiError::fail_if_any(errors)
}

/// The response for a session, with an access token carrying the agent's `role` when the
/// session is fully authenticated (none while it waits for its second factor).
fn session_response(
    state: &AppState,
    tenant: &Tenant,
    session: &Session,
    role: Option<String>,
    now: DateTime<Utc>,
) -> Result<HttpResponse, ApiError> {
    let access_token = if session.mfa_pending {
        None
    } else {
        Some(auth::issue_access_token(state, tenant, session, role, now)?)
    };
    let body = TenantLoginResponse {
        session_id: session.id.into(),
        agent_id: session.agent_id.into(),
        mfa_required: session.mfa_pending,
        expires_at: session.expires_at,
        // Rounded up: storage keeps microseconds, so a fresh session shows the full timeout.
        session_timeout_seconds: ((session.expires_at - now).num_milliseconds().max(0) + 999)
            / 1000,
        token_type: access_token.as_ref().map(|_| "Bearer"),
        access_token,
    };
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            tessera_http::extract::NO_STORE,
        ))
        .json(body))
}

/// The client-address key a login attempt counts under (`tessera_db::attempts`).
fn address_attempts(state: &AppState, req: &HttpRequest) -> SignIn {
    SignIn::new().address(
        state.config.base.trusted_proxies.client_ip_of(req),
        state.config.lockout.address_policy(),
    )
}

/// Signs an agent in with e-mail and password.
///
/// The password is checked with Argon2id off the executor, also for unknown e-mails (against
/// a dummy hash), so the answer and its timing are the same for an unknown e-mail, a wrong
/// password, a disabled or a locked agent. `AUTH_MAX_FAILED_ATTEMPTS` consecutive wrong
/// passwords lock the agent for `AUTH_LOCKOUT_SECONDS`, across replicas; and
/// `AUTH_ADDRESS_MAX_FAILED_ATTEMPTS` wrong passwords from one client address make it wait
/// (429 with `Retry-After`), whichever e-mails they named.
#[utoipa::path(
    post,
    path = "/tenants/{tenant_slug}/login",
    tag = "sessions",
    params(("tenant_slug" = String, Path, description = "Tenant slug")),
    request_body = TenantLoginRequest,
    responses(
        (status = 200, description = "Session opened; `access_token` unless `mfa_required`", body = TenantLoginResponse),
        (status = 401, description = "`invalid_credentials` (same for unknown e-mail, wrong password, locked)", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant", body = tessera_http::ErrorEnvelope),
        (status = 422, description = "Malformed e-mail or password", body = tessera_http::ErrorEnvelope),
        (status = 429, description = "`too_many_requests` with `Retry-After`: too many wrong passwords from this client address", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<TenantLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let result = sign_in(&state, &req, &path, body.into_inner()).await;
    tessera_http::metrics::count_login(&state.logins, result)
}

/// [`login`]'s work, whose result `logins_total` counts.
async fn sign_in(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    path: &str,
    body: TenantLoginRequest,
) -> Result<HttpResponse, ApiError> {
    let mut address = address_attempts(state, req);
    let candidate = {
        let mut conn = state.pool.get().await?;
        if let Some(wait) = address.locked(&mut conn, state.now()).await? {
            return Err(ApiError::too_many_requests(wait));
        }
        let found = agents::login_candidate(&mut conn, path, &body.email).await?;
        if found.is_none() {
            // Unknown tenant (404) or unknown e-mail (401, after the same hashing work).
            auth::tenant(state, path).await?;
        }
        found
    };
    validate_login(&body)?;
    let matched = state
        .hasher
        .verify(
            body.password,
            candidate
                .as_ref()
                .and_then(|(_, a, _)| a.password_hash.clone()),
        )
        .await
        .map_err(ApiError::internal)?;
    let now = state.now();
    let mut conn = state.pool.get().await?;
    if !matched {
        address.failed(&mut conn, now).await?;
    }
    let Some((tenant, agent, role)) = candidate else {
        return Err(invalid_credentials(BAD_CREDENTIALS));
    };
    if !matched {
        // An agent still to enroll has no password to guess: nothing to count or lock.
        if agent.may_sign_in(now) && agent.password_hash.is_some() {
            agent_credentials::record_password_failure(
                &mut conn,
                agent.id,
                state.config.lockout.auth_max_failed_attempts,
                state.config.lockout.auth_lockout_seconds,
                now,
            )
            .await?;
        }
        tracing::info!(agent_id = %agent.id, tenant = %tenant.slug, "login refused: wrong password");
        return Err(invalid_credentials(BAD_CREDENTIALS));
    }
    let expires_at = now + state.config.session_timeout();
    let session = if agent.may_sign_in(now) {
        sessions::open_session(&mut conn, agent.id, agent.mfa_enabled, now, expires_at).await?
    } else {
        None
    };
    drop(conn);
    let Some(session) = session else {
        tracing::info!(agent_id = %agent.id, tenant = %tenant.slug, "login refused: agent locked or disabled");
        return Err(invalid_credentials(BAD_CREDENTIALS));
    };
    tracing::info!(agent_id = %agent.id, session_id = %session.id, mfa_required = session.mfa_pending, "login accepted");
    session_response(state, &tenant, &session, role, now)
}

/// Ends the session of the presented access token; the token stops working at once here, and
/// `identity.session.revoked` (in the same transaction) tells the gateway to stop vouching for
/// it within seconds (issue #17).
#[utoipa::path(
    post,
    path = "/tenants/{tenant_slug}/logout",
    tag = "sessions",
    params(("tenant_slug" = String, Path, description = "Tenant slug")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Session revoked"),
        (status = 401, description = "Missing, invalid, expired or revoked token", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant, or a token of another tenant", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn logout(
    state: web::Data<AppState>,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    let session = crate::events::RevokedSession {
        session_id: who.session.id,
        expires_at: who.session.expires_at,
    };
    let mut conn = state.pool.get().await?;
    conn.transaction::<(), diesel::result::Error, _>(async |c| {
        if sessions::revoke_session(c, who.session.id, now).await? {
            crate::events::enqueue_revoked(
                c,
                &who.tenant.slug,
                who.agent_id,
                crate::events::RevocationReason::Logout,
                vec![session],
                now,
            )
            .await?;
        }
        Ok(())
    })
    .await?;
    state.relay_wake.notify_one();
    Ok(HttpResponse::NoContent().finish())
}

/// `TenantSessionRead`: the live session of the presented access token, as identity knows it now.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantSessionRead {
    /// The session (the token's `sid`).
    pub session_id: Uuid,
    /// The agent (the token's `sub`).
    pub agent_id: Uuid,
    /// The agent's roles now (read from the database, not from the token).
    pub roles: Vec<String>,
    /// When the session ends (RFC 3339).
    pub expires_at: DateTime<Utc>,
    /// `aal1` or `aal2`.
    pub aal: String,
}

/// The presented token's session, checked in the database: live, fully authenticated, active
/// agent. The gateway asks this for a token it cannot judge from the revocation feed alone
/// (issued before it started listening, or while the broker is down) and compares `roles`
/// with the token's.
#[utoipa::path(
    get,
    path = "/tenants/{tenant_slug}/session",
    tag = "sessions",
    params(("tenant_slug" = String, Path, description = "Tenant slug")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session is live", body = TenantSessionRead),
        (status = 401, description = "Missing, invalid, expired, revoked or MFA-pending token", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant, or a token of another tenant", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn current_session(who: Authenticated) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            tessera_http::extract::NO_STORE,
        ))
        .json(TenantSessionRead {
            session_id: who.session.id.into(),
            agent_id: who.agent_id.into(),
            roles: who.role.into_iter().collect(),
            expires_at: who.session.expires_at,
            aal: format!("aal{}", who.session.aal),
        })
}
