//! Consumer of identity's `identity.agent.disabled`, `identity.role.revoked` and
//! `identity.role.assigned` (in the transaction that records the event as processed; retries
//! and dead-lettering by `tessera_events::Consumer`):
//!
//! - disabled: every active binding of the agent is suspended (`agent_disabled`), and so are
//!   those suspended only by role revocations: identity has no re-enable event, so an operator
//!   reactivates them;
//! - role revoked: the agent's active bindings are suspended (`role_revoked`, with the role in
//!   `suspended_roles`); the role is added to those already suspended by revocations;
//! - role assigned: the role leaves `suspended_roles`; a binding whose list empties is active
//!   again. Bindings an operator suspended never come back this way (issue #20).

use diesel_async::AsyncPgConnection;
use serde::Deserialize;
use tessera_events::{ConsumerConfig, EventEnvelope, EventHandler};
use tessera_http::config::ServiceSettings;
use uuid::Uuid;

use crate::db::binding_status as bindings;

/// The default durable queue of this consumer (`BROKER_IDENTITY_QUEUE`).
pub const QUEUE: &str = "credential-broker.identity";

/// `{tenant, agentId, role?}` (ARCHITECTURE.md §2).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AgentEvent {
    tenant: String,
    agent_id: Uuid,
    #[serde(default)]
    role: Option<String>,
}

/// Follows the agents' access in identity: suspends the bindings of agents who lost it, and
/// brings back the ones a role revocation suspended when the role is assigned again.
#[derive(Debug, Default)]
pub struct FollowIdentity;

#[async_trait::async_trait]
impl EventHandler for FollowIdentity {
    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        event: &EventEnvelope,
    ) -> anyhow::Result<()> {
        let data: AgentEvent = serde_json::from_value(event.data.clone())?;
        let reason = format!("{} (event {})", event.kind, event.id);
        let (tenant, agent) = (data.tenant.as_str(), data.agent_id);
        let role = || {
            data.role
                .as_deref()
                .ok_or_else(|| anyhow::anyhow!("{} without a role", event.kind))
        };
        match event.kind.as_str() {
            AGENT_DISABLED => {
                let n = bindings::suspend_for_disabled_agent(conn, tenant, agent, &reason).await?;
                tracing::info!(tenant, agent_id = %agent, suspended = n, kind = %event.kind, "bindings suspended");
            }
            ROLE_REVOKED => {
                let n = bindings::suspend_for_revoked_role(conn, tenant, agent, role()?, &reason)
                    .await?;
                tracing::info!(tenant, agent_id = %agent, suspended = n, kind = %event.kind, "bindings suspended");
            }
            ROLE_ASSIGNED => {
                let n = bindings::restore_for_assigned_role(conn, tenant, agent, role()?).await?;
                if n > 0 {
                    tracing::info!(tenant, agent_id = %agent, reactivated = n, kind = %event.kind, "bindings reactivated");
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// `identity.agent.disabled`.
pub const AGENT_DISABLED: &str = "identity.agent.disabled";
/// `identity.role.revoked`.
pub const ROLE_REVOKED: &str = "identity.role.revoked";
/// `identity.role.assigned`.
pub const ROLE_ASSIGNED: &str = "identity.role.assigned";

/// The consumer's configuration: `queue` bound to the three `identity.*` keys on the service's
/// events exchange ([`tessera_service::consumer_config`]).
pub fn config(base: &ServiceSettings, queue: &str) -> ConsumerConfig {
    tessera_service::consumer_config(
        base,
        queue,
        vec![
            AGENT_DISABLED.to_owned(),
            ROLE_REVOKED.to_owned(),
            ROLE_ASSIGNED.to_owned(),
        ],
    )
}
