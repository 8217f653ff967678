//! identity's business operations that the API and the operator CLI share: each is one
//! transaction with the events it publishes through the outbox.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::db::tenants::Tenant;
use crate::db::{agent_credentials, agents};
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
            events::enqueue(
                c,
                events::AGENT_DISABLED,
                agent_event(tenant, agent_id),
                now,
            )
            .await?;
        }
        Ok(changed)
    })
    .await
}

/// `identity.agent.*` data for `agent_id` of `tenant`.
fn agent_event(tenant: &Tenant, agent_id: Uuid) -> AgentEvent {
    AgentEvent {
        tenant: tenant.slug.clone(),
        agent_id,
        role: None,
    }
}

/// Lifts the agent's lock and clears its failure counts, publishing `identity.agent.unlocked`.
///
/// # Errors
/// [`Error::AgentNotFound`]; database errors (nothing is written then).
pub async fn unlock_agent(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    agent_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    conn.transaction::<(), Error, _>(async |c| {
        if !agent_credentials::unlock(c, tenant.id, agent_id).await? {
            return Err(Error::AgentNotFound);
        }
        events::enqueue(
            c,
            events::AGENT_UNLOCKED,
            agent_event(tenant, agent_id),
            now,
        )
        .await?;
        Ok(())
    })
    .await
}

/// Revokes every session of the agent (`identity.session.revoked`, reason `reason`, for those
/// with live tokens); returns how many sessions it revoked.
///
/// # Errors
/// [`Error::AgentNotFound`]; database errors (nothing is written then).
pub async fn revoke_agent_sessions(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    agent_id: Uuid,
    now: DateTime<Utc>,
) -> Result<usize, Error> {
    conn.transaction::<usize, Error, _>(async |c| {
        revoke_sessions_in(
            c,
            tenant,
            agent_id,
            events::RevocationReason::AdminRevoked,
            now,
        )
        .await
    })
    .await
}

async fn revoke_sessions_in(
    c: &mut AsyncPgConnection,
    tenant: &Tenant,
    agent_id: Uuid,
    reason: events::RevocationReason,
    now: DateTime<Utc>,
) -> Result<usize, Error> {
    if agents::agent(c, tenant.id, agent_id).await?.is_none() {
        return Err(Error::AgentNotFound);
    }
    // The event lists the live sessions, so it is written before they are revoked.
    events::revoke_live_sessions(c, &tenant.slug, agent_id, reason, now).await?;
    Ok(crate::db::sessions::revoke_all(c, agent_id, now).await?)
}

/// Resets the agent's second factor: MFA off, secret and recovery codes gone, every session
/// revoked; it enrolls again at its next sign-in. Publishes `identity.session.revoked` (reason
/// `mfa_reset`) and `identity.agent.mfa_reset`.
///
/// # Errors
/// [`Error::AgentNotFound`]; database errors (nothing is written then).
pub async fn reset_agent_mfa(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    agent_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    conn.transaction::<(), Error, _>(async |c| {
        revoke_sessions_in(c, tenant, agent_id, events::RevocationReason::MfaReset, now).await?;
        agent_credentials::clear_mfa(c, tenant.id, agent_id).await?;
        crate::db::recovery_codes::delete_recovery_codes(c, agent_id).await?;
        events::enqueue(
            c,
            events::AGENT_MFA_RESET,
            agent_event(tenant, agent_id),
            now,
        )
        .await?;
        Ok(())
    })
    .await
}

/// Replaces the recovery codes of an agent whose second factor is on with `hashes` (of codes
/// shown once to the caller), publishing `identity.agent.recovery_codes_regenerated`. Returns
/// `false`, writing nothing, when the agent has no second factor.
///
/// # Errors
/// [`Error::AgentNotFound`]; database errors (nothing is written then).
pub async fn regenerate_recovery_codes(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    agent_id: Uuid,
    hashes: &[Vec<u8>],
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    conn.transaction::<bool, Error, _>(async |c| {
        let agent = agents::agent(c, tenant.id, agent_id)
            .await?
            .ok_or(Error::AgentNotFound)?;
        if !agent.mfa_enabled {
            return Ok(false);
        }
        crate::db::recovery_codes::replace_recovery_codes(c, agent_id, hashes).await?;
        events::enqueue(
            c,
            events::AGENT_RECOVERY_CODES_REGENERATED,
            agent_event(tenant, agent_id),
            now,
        )
        .await?;
        Ok(true)
    })
    .await
}
