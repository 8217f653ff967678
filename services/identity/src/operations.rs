//! identity's business operations that the API and the operator CLI share: each is one
//! transaction with the events it publishes through the outbox.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::tenants::Tenant;
use tessera_db::one_time::{self, Lookup, Purpose};

use crate::db::{agent_credentials, agents, role_assignments};
use crate::domain::{AgentId, AgentStatus};
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
    agent_id: AgentId,
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
            publish_agent_event(c, tenant, agent_id, events::AGENT_DISABLED, now).await?;
        }
        Ok(changed)
    })
    .await
}

/// `identity.agent.*` data for `agent_id` of `tenant`.
fn agent_event(tenant: &Tenant, agent_id: AgentId) -> AgentEvent {
    AgentEvent {
        tenant: tenant.slug.clone(),
        agent_id,
        role: None,
    }
}

/// Writes the `identity.agent.*` event `kind` (`{tenant, agentId}`) for `agent_id` of `tenant`
/// to the outbox, in the caller's transaction `c`.
async fn publish_agent_event(
    c: &mut AsyncPgConnection,
    tenant: &Tenant,
    agent_id: AgentId,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<(), diesel::result::Error> {
    events::OUTBOX
        .enqueue(c, kind, agent_event(tenant, agent_id), now)
        .await
}

/// Lifts the agent's lock and clears its failure counts, publishing `identity.agent.unlocked`.
///
/// # Errors
/// [`Error::AgentNotFound`]; database errors (nothing is written then).
pub async fn unlock_agent(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    agent_id: AgentId,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    conn.transaction::<(), Error, _>(async |c| {
        if !agent_credentials::unlock(c, tenant.id, agent_id).await? {
            return Err(Error::AgentNotFound);
        }
        publish_agent_event(c, tenant, agent_id, events::AGENT_UNLOCKED, now).await?;
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
    agent_id: AgentId,
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
    agent_id: AgentId,
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
    agent_id: AgentId,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    conn.transaction::<(), Error, _>(async |c| {
        revoke_sessions_in(c, tenant, agent_id, events::RevocationReason::MfaReset, now).await?;
        agent_credentials::clear_mfa(c, tenant.id, agent_id).await?;
        crate::db::recovery_codes::delete_recovery_codes(c, agent_id).await?;
        publish_agent_event(c, tenant, agent_id, events::AGENT_MFA_RESET, now).await?;
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
    agent_id: AgentId,
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
        publish_agent_event(
            c,
            tenant,
            agent_id,
            events::AGENT_RECOVERY_CODES_REGENERATED,
            now,
        )
        .await?;
        Ok(true)
    })
    .await
}

/// An agent created through the API and the one-time link it enrolls with.
#[derive(Debug)]
pub struct CreatedAgent {
    /// The new agent (no password yet).
    pub agent_id: AgentId,
    /// The enrollment token (only its hash is stored; shown once, in the link).
    pub token: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

/// Creates an agent of `tenant` without a password, with `role` when given (already checked
/// against `IDENTITY_ROLES`; assigned by `admin_id`), and its one-time enrollment link, valid until `expires_at`;
/// publishes `identity.agent.created` (and `identity.role.assigned` with a role). One
/// transaction: `POST /tenants/{slug}/agents`.
///
/// # Errors
/// [`Error::EmailTaken`]; [`Error::Rng`]; database errors (nothing is written then).
pub async fn create_agent(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    email: &tessera_http::email::Email,
    role: Option<&str>,
    admin_id: AgentId,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<CreatedAgent, Error> {
    conn.transaction::<CreatedAgent, Error, _>(async |c| {
        let agent =
            agents::create_agent(c, AgentId::now_v7(), tenant.id, email.as_str(), None, None)
                .await
                .map_err(|e| {
                    if tessera_http::db::is_unique_violation(&e) {
                        Error::EmailTaken
                    } else {
                        Error::from(e)
                    }
                })?;
        if let Some(role) = role {
            role_assignments::put_role(c, &agent, role, admin_id, now).await?;
            let data = AgentEvent {
                role: Some(role.to_owned()),
                ..agent_event(tenant, agent.id)
            };
            events::OUTBOX
                .enqueue(c, events::ROLE_ASSIGNED, data, now)
                .await?;
        }
        let token = one_time::issue(c, Purpose::ENROLLMENT, agent.id, now, expires_at).await?;
        let data = AgentEvent {
            role: role.map(str::to_owned),
            ..agent_event(tenant, agent.id)
        };
        events::OUTBOX
            .enqueue(c, events::AGENT_CREATED, data, now)
            .await?;
        Ok(CreatedAgent {
            agent_id: agent.id,
            token,
            expires_at,
        })
    })
    .await
}

/// A new enrollment link for agent `agent_id` of `tenant`, which has not enrolled yet; every
/// older link of that agent stops working. `POST /tenants/{slug}/agents/{id}/enrollment`.
///
/// # Errors
/// [`Error::AgentNotFound`]; [`Error::AlreadyEnrolled`] when the agent has a password;
/// [`Error::Rng`]; database errors (nothing is written then).
pub async fn reissue_enrollment(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    agent_id: AgentId,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<String, Error> {
    conn.transaction::<String, Error, _>(async |c| {
        let agent = agents::agent(c, tenant.id, agent_id)
            .await?
            .ok_or(Error::AgentNotFound)?;
        if agent.password_hash.is_some() {
            return Err(Error::AlreadyEnrolled);
        }
        one_time::spend_all(c, Purpose::ENROLLMENT, agent_id, now).await?;
        Ok(one_time::issue(c, Purpose::ENROLLMENT, agent_id, now, expires_at).await?)
    })
    .await
}

/// Redeems an enrollment `token` of `tenant`: sets the agent's first password
/// (`password_hash`, already hashed) and spends the link; publishes `identity.agent.enrolled`.
/// Returns the agent's id. `POST /tenants/{slug}/password`.
///
/// # Errors
/// [`Error::Token`] for a token never issued (or issued to another tenant's agent), used or
/// expired; database errors (nothing is written then).
pub async fn enroll_agent(
    conn: &mut AsyncPgConnection,
    tenant: &Tenant,
    token: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<AgentId, Error> {
    conn.transaction::<AgentId, Error, _>(async |c| {
        let agent_id: AgentId = one_time::redeem(c, Purpose::ENROLLMENT, token, now)
            .await?
            .map_err(Error::Token)?
            .into();
        // A token of another tenant's agent is unknown here, like every cross-tenant look-up.
        if agents::agent(c, tenant.id, agent_id).await?.is_none() {
            return Err(Error::Token(Lookup::Unknown));
        }
        agent_credentials::set_password(c, agent_id, password_hash).await?;
        publish_agent_event(c, tenant, agent_id, events::AGENT_ENROLLED, now).await?;
        Ok(agent_id)
    })
    .await
}

/// Whether `token` is an enrollment token usable now (a look-up before the costly hashing;
/// [`enroll_agent`] checks it again, locked).
///
/// # Errors
/// [`Error::Token`] when it is not; database errors.
pub async fn check_enrollment(
    conn: &mut AsyncPgConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    match one_time::lock(conn, Purpose::ENROLLMENT, token, now).await? {
        Lookup::Usable(_) => Ok(()),
        other => Err(Error::Token(other)),
    }
}
