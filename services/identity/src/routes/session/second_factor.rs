//! `POST /tenants/{slug}/mfa/verify`: the second step of a login, with a TOTP code (each step
//! accepted once, ±1 step of drift) or an unused recovery code.

use super::*;
use crate::auth::{self};
use crate::db::agent_credentials;
use crate::db::agents::Agent;
use crate::db::{agents, recovery_codes, role_assignments, sessions};
use crate::domain::SessionId;
use crate::mfa;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use tessera_http::ApiError;
use utoipa::ToSchema;

/// The one answer for a wrong, replayed or used code, or a locked agent.
pub(super) const BAD_CODE: &str = "The code is invalid or already used, or the account is locked.";

/// `TenantMFAVerificationRequest`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantMfaVerificationRequest {
    /// The session from login.
    pub session_id: String,
    /// A 6-digit TOTP code, or a recovery code.
    pub code: String,
    /// `totp` (default) or `recovery_code`.
    #[serde(default)]
    pub method: MfaMethod,
}

/// Which second factor a code is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MfaMethod {
    /// RFC 6238 code from an authenticator app.
    #[default]
    Totp,
    /// One of the single-use recovery codes given at enrollment.
    RecoveryCode,
}

/// Checks the code against the agent's second factors; `true` when accepted (and consumed).
pub(super) async fn code_accepted(
    state: &AppState,
    agent: &Agent,
    body: &TenantMfaVerificationRequest,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let mut conn = state.pool.get().await?;
    match body.method {
        MfaMethod::Totp => {
            let Some(sealed) = &agent.mfa_secret else {
                return Ok(false);
            };
            let secret = state
                .mfa_key
                .open(sealed, agent.id.as_bytes())
                .map_err(ApiError::internal)?;
            let unix = u64::try_from(now.timestamp()).unwrap_or(0);
            let Some(step) = mfa::verify_totp(&secret, &body.code, unix) else {
                return Ok(false);
            };
            agent_credentials::accept_totp_step(
                &mut conn,
                agent.id,
                i64::try_from(step).unwrap_or(i64::MAX),
                now,
            )
            .await
            .map_err(ApiError::from)
        }
        MfaMethod::RecoveryCode => {
            let hash = mfa::recovery_code_hash(&body.code);
            conn.transaction::<bool, diesel::result::Error, _>(async |c| {
                recovery_codes::use_recovery_code(c, agent.id, &hash, now).await
            })
            .await
            .map_err(ApiError::from)
        }
    }
}

/// Completes a login with the second factor: a TOTP code (each accepted once; ±1 step of
/// drift) or an unused recovery code. `AUTH_MAX_FAILED_ATTEMPTS` wrong codes lock the agent.
#[utoipa::path(
    post,
    path = "/tenants/{tenant_slug}/mfa/verify",
    tag = "sessions",
    params(("tenant_slug" = String, Path, description = "Tenant slug")),
    request_body = TenantMfaVerificationRequest,
    responses(
        (status = 200, description = "Fully authenticated: `mfa_required=false`, remaining time, `access_token`", body = TenantLoginResponse),
        (status = 401, description = "`invalid_credentials`: wrong, replayed or used code, locked agent; `unauthenticated`: session expired or revoked", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant or session (also a session of another tenant)", body = tessera_http::ErrorEnvelope),
        (status = 409, description = "The session already completed MFA", body = tessera_http::ErrorEnvelope),
        (status = 422, description = "Malformed body", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn verify_mfa(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<TenantMfaVerificationRequest>,
) -> Result<HttpResponse, ApiError> {
    let tenant = auth::tenant(&state, &path).await?;
    let not_found = || ApiError::not_found("Session not found.");
    let sid: SessionId = body.session_id.trim().parse().map_err(|_| not_found())?;
    let now = state.now();
    let (session, agent) = {
        let mut conn = state.pool.get().await?;
        let session = sessions::session(&mut conn, tenant.id, sid)
            .await?
            .ok_or_else(not_found)?;
        let agent = agents::agent(&mut conn, tenant.id, session.agent_id)
            .await?
            .ok_or_else(not_found)?;
        (session, agent)
    };
    if !session.live_at(now) {
        return Err(ApiError::unauthenticated(
            "The session has expired or was revoked; sign in again.",
        ));
    }
    if !session.mfa_pending {
        return Err(ApiError::conflict(
            "This session has already completed its second factor.",
        ));
    }
    if !agent.may_sign_in(now) {
        return Err(invalid_credentials(BAD_CODE));
    }
    if !code_accepted(&state, &agent, &body, now).await? {
        let mut conn = state.pool.get().await?;
        agent_credentials::record_code_failure(
            &mut conn,
            agent.id,
            state.config.lockout.auth_max_failed_attempts,
            state.config.lockout.auth_lockout_seconds,
            now,
        )
        .await?;
        tracing::info!(agent_id = %agent.id, session_id = %session.id, "second factor refused");
        return Err(invalid_credentials(BAD_CODE));
    }
    let (session, role) = {
        let mut conn = state.pool.get().await?;
        let session = sessions::complete_mfa(&mut conn, session.id, now)
            .await?
            .ok_or_else(|| {
                ApiError::unauthenticated("The session has expired or was revoked; sign in again.")
            })?;
        let role = role_assignments::role_of(&mut conn, session.agent_id).await?;
        (session, role)
    };
    tracing::info!(agent_id = %agent.id, session_id = %session.id, "second factor accepted");
    session_response(&state, &tenant, &session, role, now)
}
