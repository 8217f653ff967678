//! The events identity publishes (ARCHITECTURE.md §2 "Events"), written to the outbox in the
//! transaction of the change that causes them.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use tessera_events::{EventEnvelope, OutboxMessage};
use uuid::Uuid;

/// `identity.role.assigned`: an agent got a role (new or changed).
pub const ROLE_ASSIGNED: &str = "identity.role.assigned";
/// `identity.role.revoked`: an agent's role assignment was deleted.
pub const ROLE_REVOKED: &str = "identity.role.revoked";
/// `identity.agent.disabled`: an agent can no longer sign in; its sessions are revoked.
pub const AGENT_DISABLED: &str = "identity.agent.disabled";

/// Payload `{tenant, agentId, role?}` (ARCHITECTURE.md §2 event table).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentEvent {
    /// Tenant slug.
    pub tenant: String,
    /// Agent id.
    pub agent_id: Uuid,
    /// The role assigned or revoked; absent for `identity.agent.disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// Writes one event to the outbox on `conn` (inside the caller's transaction).
///
/// # Errors
/// Database or serialisation errors (the transaction then rolls back).
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    kind: &str,
    data: AgentEvent,
    now: DateTime<Utc>,
) -> Result<(), diesel::result::Error> {
    let request_id = tessera_http::request_id::current();
    let envelope = EventEnvelope::new("identity", kind, data, request_id, now);
    let message = OutboxMessage::new(&envelope, tessera_telemetry::trace_headers())
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    tessera_events::outbox::enqueue(conn, &[message]).await?;
    Ok(())
}
