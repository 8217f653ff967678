//! The events identity publishes (ARCHITECTURE.md §2 "Events"), written to the outbox in the
//! transaction of the change that causes them.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use tessera_service::EventSource;

use crate::domain::{AgentId, SessionId};

/// identity as the `source` of its events; [`EventSource::enqueue`] writes them.
pub const OUTBOX: EventSource = EventSource("identity");
/// `identity.role.assigned`: an agent got a role (new or changed).
pub const ROLE_ASSIGNED: &str = "identity.role.assigned";
/// `identity.role.revoked`: an agent's role assignment was deleted.
pub const ROLE_REVOKED: &str = "identity.role.revoked";
/// `identity.agent.created`: a tenant admin created an agent through the API
/// (`{tenant, agentId, role?}`); it signs in once it redeemed its enrollment link.
pub const AGENT_CREATED: &str = "identity.agent.created";
/// `identity.agent.enrolled`: an agent created through the API set its first password with
/// its enrollment link (`{tenant, agentId}`).
pub const AGENT_ENROLLED: &str = "identity.agent.enrolled";
/// `identity.agent.disabled`: an agent can no longer sign in; its sessions are revoked.
pub const AGENT_DISABLED: &str = "identity.agent.disabled";
/// `identity.agent.unlocked`: a tenant admin lifted the agent's lock (`{tenant, agentId}`).
pub const AGENT_UNLOCKED: &str = "identity.agent.unlocked";
/// `identity.agent.mfa_reset`: a tenant admin reset the agent's second factor; its sessions are
/// revoked and it enrolls again (`{tenant, agentId}`).
pub const AGENT_MFA_RESET: &str = "identity.agent.mfa_reset";
/// `identity.agent.recovery_codes_regenerated`: a tenant admin replaced the agent's recovery
/// codes (`{tenant, agentId}`; never the codes).
pub const AGENT_RECOVERY_CODES_REGENERATED: &str = "identity.agent.recovery_codes_regenerated";
/// `identity.session.revoked`: the access tokens of these sessions must no longer be vouched
/// for (logout, agent disabled, or a role change that made their `roles` claim stale). The
/// gateway (`gateway-auth`) keeps each session id until its `expiresAt` (issue #17).
pub const SESSION_REVOKED: &str = "identity.session.revoked";

/// Why [`SESSION_REVOKED`] was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// `POST /logout`.
    Logout,
    /// The agent was disabled (its sessions are revoked in identity too).
    AgentDisabled,
    /// The agent's role was assigned, changed or removed: identity itself reads the role from
    /// the database, but the tokens' `roles` claim is stale, so the gateway stops vouching.
    RoleChanged,
    /// A tenant admin revoked the agent's sessions.
    AdminRevoked,
    /// A tenant admin reset the agent's second factor.
    MfaReset,
}

/// One session of [`SessionRevoked`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokedSession {
    /// The session id (the tokens' `sid`).
    pub session_id: SessionId,
    /// When the session, and so each of its tokens, expires anyway (RFC 3339).
    pub expires_at: DateTime<Utc>,
}

/// Payload of [`SESSION_REVOKED`]: `{tenant, agentId, reason, sessions: [{sessionId, expiresAt}]}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRevoked {
    /// Tenant slug.
    pub tenant: String,
    /// Agent id.
    pub agent_id: AgentId,
    /// Why.
    pub reason: RevocationReason,
    /// The sessions whose tokens are revoked (at least one).
    pub sessions: Vec<RevokedSession>,
}

/// Enqueues [`SESSION_REVOKED`] for the agent's live sessions at `now` (nothing when it has
/// none), in the caller's transaction: what a role change and an agent's disabling publish.
///
/// # Errors
/// As [`EventSource::enqueue`].
pub async fn revoke_live_sessions(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    agent_id: AgentId,
    reason: RevocationReason,
    now: DateTime<Utc>,
) -> Result<(), diesel::result::Error> {
    let sessions = crate::db::sessions::live_sessions(conn, agent_id, now)
        .await?
        .into_iter()
        .map(|(session_id, expires_at)| RevokedSession {
            session_id,
            expires_at,
        })
        .collect();
    enqueue_revoked(conn, tenant, agent_id, reason, sessions, now).await
}

/// Enqueues [`SESSION_REVOKED`] for `sessions` (nothing when there are none).
///
/// # Errors
/// As [`EventSource::enqueue`].
pub async fn enqueue_revoked(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    agent_id: AgentId,
    reason: RevocationReason,
    sessions: Vec<RevokedSession>,
    now: DateTime<Utc>,
) -> Result<(), diesel::result::Error> {
    if sessions.is_empty() {
        return Ok(());
    }
    let data = SessionRevoked {
        tenant: tenant.to_owned(),
        agent_id,
        reason,
        sessions,
    };
    OUTBOX.enqueue(conn, SESSION_REVOKED, data, now).await
}

/// Payload `{tenant, agentId, role?}` (ARCHITECTURE.md §2 event table).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentEvent {
    /// Tenant slug.
    pub tenant: String,
    /// Agent id.
    pub agent_id: AgentId,
    /// The role assigned or revoked; absent for the `identity.agent.*` events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}
