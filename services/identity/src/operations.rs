//! identity's business operations that the API and the operator CLI share: each is one
//! transaction with the events it publishes through the outbox.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::db::agents;
use crate::db::tenants::Tenant;
use crate::domain::AgentStatus;
use crate::error::Error;
use crate::events::{self, AgentEvent};

/// Sets an agent's status in one transaction with its events; returns whether it changed.
/// Disabling revokes the agent's sessions (`identity.session.revoked`) and publishes
/// `identity.agent.disabled` (credential-broker suspends the agent's bindings on it). Used by
/// `PATCH /tenants/{slug}/agents/{id}` and by `identity agent disable|enable`.
///
/// # Errors
/// [`Error::AgentNotFound`] when the tenant has no such agent; database errors (nothing is
/// written then).
pub async fn change_agent_status(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    agent_id: Uuid,
    status: AgentStatus,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    conn.transaction::<bool, Error, _>(async |c| {
        if agents::agent(c, tenant.id, agent_id).await?.is_none() {
            return Err(Error::AgentNotFound);
        }
        if status == AgentStatus::Disabled {
            // Before they are revoked below; an agent already disabled has none, so nothing.
            events::revoke_live_sessions(
                c,
                &tenant.slug,
                agent_id,
                events::RevocationReason::AgentDisabled,
                now,
            )
            .await?;
        }
        let changed = agents::set_agent_status(c, tenant.id, agent_id, status, now).await?;
        if changed && status == AgentStatus::Disabled {
            let data = AgentEvent {
                tenant: tenant.slug.clone(),
                agent_id,
                role: None,
            };
            events::enqueue(c, events::AGENT_DISABLED, data, now).await?;
        }
        Ok(changed)
    })
    .await
}
