//! `/tenants/{slug}/agents/{id}`: an admin (or the operator CLI) disables or re-enables an agent. Disabling
//! revokes its sessions at once and publishes `identity.agent.disabled` through the outbox
//! (credential-broker suspends the agent's bindings on it).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use tessera_http::ApiError;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Admin;
use crate::db::agents;
use crate::domain::AgentStatus;
use crate::operations::change_agent_status;
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
    state.relay_wake.notify_one();
    let agent = agents::agent(&mut conn, who.tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Agent not found."))?;
    Ok(HttpResponse::Ok().json(AgentRead {
        agent_id: agent.id,
        email: agent.email,
        status: agent.status,
        mfa_enabled: agent.mfa_enabled,
    }))
}
