//! `/tenants/{slug}/agents…`: a tenant admin administers the tenant's agents (issue #20): lists
//! and searches them, disables or re-enables one (the operator CLI too), unlocks a locked one,
//! resets its second factor, revokes its sessions. Each change is one operation with its
//! `identity.*` event (`crate::operations`). Disabling revokes its sessions at once and
//! publishes `identity.agent.disabled` (credential-broker suspends the agent's bindings on it).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_http::ApiError;
use tessera_http::pagination::{PageMeta, PageParams};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Admin;
use crate::db::agents;
use crate::domain::{AgentId, AgentStatus, TenantId};
use crate::operations::{self, change_agent_status};
use crate::routes::roles::agent_id;
use crate::state::AppState;

/// `PATCH` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentStatusUpdate {
    /// The new status.
    pub status: AgentStatus,
}

/// An agent as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentRead {
    /// Id.
    pub agent_id: Uuid,
    /// E-mail.
    pub email: String,
    /// Status.
    pub status: AgentStatus,
    /// Whether login requires TOTP.
    pub mfa_enabled: bool,
    /// Locked (too many failures) until this instant; absent or past when not locked.
    pub locked_until: Option<DateTime<Utc>>,
    /// Created (RFC 3339).
    pub created_at: DateTime<Utc>,
}

impl From<agents::AgentSummary> for AgentRead {
    fn from(a: agents::AgentSummary) -> Self {
        Self {
            agent_id: a.id.into(),
            email: a.email,
            status: a.status,
            mfa_enabled: a.mfa_enabled,
            locked_until: a.locked_until,
            created_at: a.created_at,
        }
    }
}

/// A page of agents.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentList {
    /// The agents, by e-mail.
    pub data: Vec<AgentRead>,
    /// Page metadata.
    pub meta: PageMeta,
}

/// `?status=&q=&page=&per_page=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AgentQuery {
    /// Only `active` or only `disabled` agents.
    pub status: Option<AgentStatus>,
    /// 1 to 100 characters found case-insensitively in the e-mail.
    pub q: Option<String>,
    /// 1-based page number.
    pub page: Option<u32>,
    /// Items per page, 1..=100 (default 20).
    pub per_page: Option<u32>,
}

/// `DELETE …/sessions` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsRevoked {
    /// How many sessions were revoked.
    pub revoked: usize,
}

/// The answer after a change to agent `id`: the relay woken for its events, 200 with the agent
/// as it is now.
async fn changed(
    state: &AppState,
    tenant_id: TenantId,
    id: AgentId,
) -> Result<HttpResponse, ApiError> {
    state.relay_wake.notify_one();
    let mut conn = state.pool.get().await?;
    let agent = agents::agent_summary(&mut conn, tenant_id, id)
        .await?
        .map(AgentRead::from)
        .ok_or_else(|| ApiError::not_found("Agent not found."))?;
    Ok(HttpResponse::Ok().json(agent))
}

/// Lists and searches the tenant's agents, by e-mail.
#[utoipa::path(
    get,
    path = "/tenants/{tenant_slug}/agents",
    tag = "agents",
    params(("tenant_slug" = String, Path, description = "Tenant slug"), AgentQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of agents", body = AgentList),
        (status = 401, description = "Missing, invalid, expired or MFA-pending credentials", body = tessera_http::ErrorEnvelope),
        (status = 403, description = "Not an admin of this tenant", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant", body = tessera_http::ErrorEnvelope),
        (status = 422, description = "A parameter out of range or unknown", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn list_agents(
    state: web::Data<AppState>,
    Admin(who): Admin,
    query: web::Query<AgentQuery>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = PageParams {
        page: query.page,
        per_page: query.per_page,
    };
    let (limit, offset) = page.limit_offset()?;
    let search = match query.q.as_deref().map(str::trim) {
        Some(q) if q.is_empty() || q.chars().count() > 100 => {
            return Err(ApiError::invalid_field(
                "q",
                "The q field must have 1 to 100 characters.",
            ));
        }
        other => other,
    };
    let mut conn = state.pool.get().await?;
    let (rows, total) = agents::list_agents(
        &mut conn,
        who.tenant.id,
        query.status,
        search,
        limit,
        offset,
    )
    .await?;
    let meta = page.meta(total);
    Ok(
        tessera_http::pagination::page_response(&req, &meta).json(AgentList {
            data: rows.into_iter().map(AgentRead::from).collect(),
            meta,
        }),
    )
}

/// Unlocks an agent locked by too many failed passwords or codes (`identity.agent.unlocked`).
#[utoipa::path(
    post,
    path = "/tenants/{tenant_slug}/agents/{agent_id}/unlock",
    tag = "agents",
    params(("tenant_slug" = String, Path, description = "Tenant slug"), ("agent_id" = Uuid, Path, description = "Agent id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The agent, unlocked", body = AgentRead),
        (status = 401, description = "Missing, invalid, expired or MFA-pending credentials", body = tessera_http::ErrorEnvelope),
        (status = 403, description = "Not an admin of this tenant", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant or agent", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn unlock_agent(
    state: web::Data<AppState>,
    Admin(who): Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = agent_id(&path.1)?;
    let mut conn = state.pool.get().await?;
    operations::unlock_agent(&mut conn, &who.tenant, id, state.now()).await?;
    changed(&state, who.tenant.id, id).await
}

/// Resets an agent's second factor: MFA off, its secret and recovery codes gone, its sessions
/// revoked; it enrolls again (`identity.agent.mfa_reset`, `identity.session.revoked`).
#[utoipa::path(
    post,
    path = "/tenants/{tenant_slug}/agents/{agent_id}/mfa/reset",
    tag = "agents",
    params(("tenant_slug" = String, Path, description = "Tenant slug"), ("agent_id" = Uuid, Path, description = "Agent id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The agent, without MFA", body = AgentRead),
        (status = 401, description = "Missing, invalid, expired or MFA-pending credentials", body = tessera_http::ErrorEnvelope),
        (status = 403, description = "Not an admin of this tenant", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant or agent", body = tessera_http::ErrorEnvelope),
        (status = 409, description = "An admin cannot reset its own second factor", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn reset_mfa(
    state: web::Data<AppState>,
    Admin(who): Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = agent_id(&path.1)?;
    if id == who.agent_id {
        return Err(ApiError::conflict(
            "An admin cannot reset its own second factor.",
        ));
    }
    let mut conn = state.pool.get().await?;
    operations::reset_agent_mfa(&mut conn, &who.tenant, id, state.now()).await?;
    changed(&state, who.tenant.id, id).await
}

/// Revokes every session of an agent: its access tokens stop working at once in identity and,
/// through `identity.session.revoked`, at the gateway.
#[utoipa::path(
    delete,
    path = "/tenants/{tenant_slug}/agents/{agent_id}/sessions",
    tag = "agents",
    params(("tenant_slug" = String, Path, description = "Tenant slug"), ("agent_id" = Uuid, Path, description = "Agent id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "How many sessions were revoked", body = SessionsRevoked),
        (status = 401, description = "Missing, invalid, expired or MFA-pending credentials", body = tessera_http::ErrorEnvelope),
        (status = 403, description = "Not an admin of this tenant", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant or agent", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn revoke_sessions(
    state: web::Data<AppState>,
    Admin(who): Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = agent_id(&path.1)?;
    let mut conn = state.pool.get().await?;
    let revoked =
        operations::revoke_agent_sessions(&mut conn, &who.tenant, id, state.now()).await?;
    state.relay_wake.notify_one();
    Ok(HttpResponse::Ok().json(SessionsRevoked { revoked }))
}

/// Disables or re-enables an agent of the tenant (not oneself).
#[utoipa::path(
    patch,
    path = "/tenants/{tenant_slug}/agents/{agent_id}",
    tag = "agents",
    params(("tenant_slug" = String, Path, description = "Tenant slug"), ("agent_id" = Uuid, Path, description = "Agent id")),
    security(("bearer" = [])),
    request_body = AgentStatusUpdate,
    responses(
        (status = 200, description = "The agent", body = AgentRead),
        (status = 401, description = "Missing, invalid, expired or MFA-pending credentials", body = tessera_http::ErrorEnvelope),
        (status = 403, description = "Not an admin of this tenant", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant or agent (also an agent of another tenant)", body = tessera_http::ErrorEnvelope),
        (status = 409, description = "An admin cannot change its own status", body = tessera_http::ErrorEnvelope),
        (status = 422, description = "Unknown status", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn update_agent(
    state: web::Data<AppState>,
    Admin(who): Admin,
    path: web::Path<(String, String)>,
    body: web::Json<AgentStatusUpdate>,
) -> Result<HttpResponse, ApiError> {
    let id = agent_id(&path.1)?;
    if id == who.agent_id {
        return Err(ApiError::conflict("An admin cannot change its own status."));
    }
    let mut conn = state.pool.get().await?;
    change_agent_status(&mut conn, &who.tenant, id, body.status, state.now()).await?;
    changed(&state, who.tenant.id, id).await
}

/// A live session of an agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionRead {
    /// The session id (the tokens' `sid`).
    pub session_id: Uuid,
    /// 1 password, 2 with the second factor.
    pub aal: i16,
    /// Opened (RFC 3339).
    pub created_at: DateTime<Utc>,
    /// Expires (RFC 3339).
    pub expires_at: DateTime<Utc>,
}

/// A page of sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// Newest first.
    pub data: Vec<SessionRead>,
    /// Page metadata.
    pub meta: PageMeta,
}

/// Lists an agent's live sessions (fully authenticated, not revoked, not expired), newest first.
#[utoipa::path(
    get,
    path = "/tenants/{tenant_slug}/agents/{agent_id}/sessions",
    tag = "agents",
    params(("tenant_slug" = String, Path, description = "Tenant slug"), ("agent_id" = Uuid, Path, description = "Agent id"), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of live sessions", body = SessionList),
        (status = 401, description = "Missing, invalid, expired or MFA-pending credentials", body = tessera_http::ErrorEnvelope),
        (status = 403, description = "Not an admin of this tenant", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant or agent", body = tessera_http::ErrorEnvelope),
        (status = 422, description = "`page` or `per_page` out of range", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn list_sessions(
    state: web::Data<AppState>,
    Admin(who): Admin,
    path: web::Path<(String, String)>,
    page: web::Query<PageParams>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = agent_id(&path.1)?;
    let (limit, offset) = page.limit_offset()?;
    let mut conn = state.pool.get().await?;
    if agents::agent(&mut conn, who.tenant.id, id).await?.is_none() {
        return Err(ApiError::not_found("Agent not found."));
    }
    let (rows, total) =
        crate::db::sessions::list_live(&mut conn, id, state.now(), limit, offset).await?;
    let meta = page.meta(total);
    Ok(
        tessera_http::pagination::page_response(&req, &meta).json(SessionList {
            data: rows
                .into_iter()
                .map(|s| SessionRead {
                    session_id: s.id.into(),
                    aal: s.aal,
                    created_at: s.created_at,
                    expires_at: s.expires_at,
                })
                .collect(),
            meta,
        }),
    )
}

/// New recovery codes for an agent with a second factor, shown once (`Cache-Control:
/// no-store`); the old ones stop working (`identity.agent.recovery_codes_regenerated`). For an
/// agent who lost its codes; only their SHA-256 is stored.
#[utoipa::path(
    post,
    path = "/tenants/{tenant_slug}/agents/{agent_id}/recovery-codes",
    tag = "agents",
    params(("tenant_slug" = String, Path, description = "Tenant slug"), ("agent_id" = Uuid, Path, description = "Agent id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The new codes, shown once", body = crate::routes::enroll::MfaConfirmed),
        (status = 401, description = "Missing, invalid, expired or MFA-pending credentials", body = tessera_http::ErrorEnvelope),
        (status = 403, description = "Not an admin of this tenant", body = tessera_http::ErrorEnvelope),
        (status = 404, description = "Unknown tenant or agent", body = tessera_http::ErrorEnvelope),
        (status = 409, description = "The agent has no second factor", body = tessera_http::ErrorEnvelope)
    )
)]
pub async fn regenerate_recovery_codes(
    state: web::Data<AppState>,
    Admin(who): Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = agent_id(&path.1)?;
    let codes =
        crate::mfa::recovery_codes(crate::mfa::RECOVERY_CODES).map_err(ApiError::internal)?;
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .map(|c| crate::mfa::recovery_code_hash(c))
        .collect();
    let mut conn = state.pool.get().await?;
    if !operations::regenerate_recovery_codes(&mut conn, &who.tenant, id, &hashes, state.now())
        .await?
    {
        return Err(ApiError::conflict(
            "The agent has no second factor: it has no recovery codes.",
        ));
    }
    state.relay_wake.notify_one();
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            tessera_http::extract::NO_STORE,
        ))
        .json(crate::routes::enroll::MfaConfirmed {
            mfa_enabled: true,
            recovery_codes: codes,
        }))
}
