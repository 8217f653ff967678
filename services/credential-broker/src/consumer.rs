//! Consumer of identity's `identity.agent.disabled` and `identity.role.revoked`: the agent lost
//! access, so its bindings are suspended (in the transaction that records the event as
//! processed; retries and dead-lettering by `tessera_events::Consumer`).

use diesel_async::AsyncPgConnection;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use tessera_events::{ConsumerConfig, EventEnvelope, EventHandler};
use uuid::Uuid;

use crate::db::bindings;

/// The default durable queue of this consumer (`BROKER_IDENTITY_QUEUE`).
pub const QUEUE: &str = "credential-broker.identity";

/// `{tenant, agentId, role?}` (ARCHITECTURE.md §2).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AgentEvent {
    tenant: String,
    agent_id: Uuid,
}

/// Suspends the bindings of agents who lost access.
#[derive(Debug, Default)]
pub struct SuspendBindings;

impl EventHandler for SuspendBindings {
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a EventEnvelope,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let data: AgentEvent = serde_json::from_value(event.data.clone())?;
            let reason = format!("{} (event {})", event.kind, event.id);
            let n = bindings::suspend_agent_bindings(conn, &data.tenant, data.agent_id, &reason)
                .await?;
            tracing::info!(tenant = %data.tenant, agent_id = %data.agent_id, suspended = n, kind = %event.kind, "bindings suspended");
            Ok(())
        })
    }
}

/// The consumer's configuration for `amqp_url` and `queue`.
pub fn config(amqp_url: &str, queue: &str) -> ConsumerConfig {
    ConsumerConfig::new(
        amqp_url,
        queue,
        vec![
            "identity.agent.disabled".to_owned(),
            "identity.role.revoked".to_owned(),
        ],
    )
}
