//! TOTP enrollment for a signed-in agent: `POST …/mfa/enroll` returns a provisioning URI,
//! `POST …/mfa/enroll/confirm` turns MFA on with a first code and returns recovery codes.

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, web};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use tessera_http::ApiError;
use tessera_http::extract::NO_STORE;
use utoipa::ToSchema;

use crate::auth::Authenticated;
use crate::db::{agent_credentials, agents};
use crate::mfa;
use crate::state::AppState;

/// The enrollment to scan or type into an authenticator app.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaEnrollment {
    /// `otpauth://totp/…` (Key Uri Format): show it as a QR code.
    pub otpauth_uri: String,
    /// The same secret in base32, for manual entry.
    pub secret: String,
}

/// The first code from the authenticator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaConfirmRequest {
    /// 6-digit TOTP code.
    pub code: String,
}

/// MFA is on; the recovery codes are shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaConfirmed {
    /// Always true.
    pub mfa_enabled: bool,
    /// Ten single-use recovery codes (`xxxx-xxxx-xxxx-xxxx`); only their SHA-256 is stored.
    pub recovery_codes: Vec<String>,
}

/// Starts (or restarts) TOTP enrollment: a new secret, sealed at rest, not yet required.
#[utoipa::path(
    post,
    path = "/tenants/{tenant_slug}/mfa/enroll",
    tag = "mfa",
    params(("tenant_slug" = String, Path, description = "Tenant slug")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Provisioning URI and secret", body = MfaEnrollment),
        (status = 401, description = "Not signed in", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant, or a token of another tenant", body = tessera_http::ErrorEnvelope),
        (status = 409, description = "MFA is already enabled", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn enroll(
    state: web::Data<AppState>,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await?;
    let agent = agents::agent(&mut conn, who.tenant.id, who.agent_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Agent not found."))?;
    if agent.mfa_enabled {
        return Err(ApiError::conflict("MFA is already enabled for this agent."));
    }
    let secret = mfa::new_secret();
    let sealed = state
        .mfa_key
        .seal(&secret, agent.id.as_bytes())
        .map_err(ApiError::internal)?;
    if !agent_credentials::set_pending_mfa_secret(&mut conn, agent.id, &sealed).await? {
        return Err(ApiError::conflict("MFA is already enabled for this agent."));
    }
    let issuer = format!("{} {}", state.config.totp_issuer, who.tenant.slug);
    let body = MfaEnrollment {
        otpauth_uri: mfa::provisioning_uri(&secret, &issuer, &agent.email)
            .map_err(ApiError::internal)?,
        secret: mfa::secret_base32(&secret),
    };
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, NO_STORE))
        .json(body))
}

/// Confirms enrollment with a first code: from then on login requires the second factor.
#[utoipa::path(
    post,
    path = "/tenants/{tenant_slug}/mfa/enroll/confirm",
    tag = "mfa",
    params(("tenant_slug" = String, Path, description = "Tenant slug")),
    security(("bearer" = [])),
    request_body = MfaConfirmRequest,
    responses(
        (status = 200, description = "MFA enabled; recovery codes shown once", body = MfaConfirmed),
        (status = 401, description = "Not signed in", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant, or a token of another tenant", body = tessera_http::ErrorEnvelope),
        (status = 409, description = "MFA already enabled, or no enrollment started", body = tessera_http::ErrorEnvelope),
        (status = 422, description = "Wrong code", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn confirm(
    state: web::Data<AppState>,
    who: Authenticated,
    body: web::Json<MfaConfirmRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await?;
    let agent = agents::agent(&mut conn, who.tenant.id, who.agent_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Agent not found."))?;
    let (false, Some(sealed)) = (agent.mfa_enabled, &agent.mfa_secret) else {
        return Err(ApiError::conflict(
            "No MFA enrollment is pending (it is already enabled, or was never started).",
        ));
    };
    let secret = state
        .mfa_key
        .open(sealed, agent.id.as_bytes())
        .map_err(ApiError::internal)?;
    let unix = u64::try_from(state.now().timestamp()).unwrap_or(0);
    let step = mfa::verify_totp(&secret, &body.code, unix).ok_or_else(|| {
        ApiError::invalid_field("code", "The code does not match the enrolled secret.")
    })?;
    let codes = mfa::recovery_codes(mfa::RECOVERY_CODES).map_err(ApiError::internal)?;
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| mfa::recovery_code_hash(c)).collect();
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let enabled = conn
        .transaction::<bool, diesel::result::Error, _>(async |c| {
            agent_credentials::enable_mfa(c, agent.id, step, &hashes).await
        })
        .await?;
    if !enabled {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            tessera_http::ErrorCode::Conflict,
            "MFA is already enabled for this agent.",
        ));
    }
    tracing::info!(agent_id = %agent.id, "MFA enabled");
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, NO_STORE))
        .json(MfaConfirmed {
            mfa_enabled: true,
            recovery_codes: codes,
        }))
}
