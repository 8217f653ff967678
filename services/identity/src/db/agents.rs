//! `agents`: a tenant's agents, their password and TOTP state and their lock.
//!
//! Every query is scoped by the tenant's id, so an agent of another tenant is simply not found.
//! Brute-force counters and locks change in single `UPDATE` statements, so replicas sharing the
//! database see and enforce one count.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::domain::{AgentStatus, TenantStatus};

use crate::db::schema::{agents, role_assignments, sessions, tenants};
use crate::db::tenants::Tenant;

/// An agent (`agents` row).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = agents)]
pub struct Agent {
    /// Id (`sub` of its tokens).
    pub id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Lower-cased e-mail.
    pub email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// `active` or `disabled`.
    pub status: AgentStatus,
    /// Sealed TOTP secret (see the migration).
    pub mfa_secret: Option<Vec<u8>>,
    /// Whether login requires the second factor.
    pub mfa_enabled: bool,
    /// Locked until this instant.
    pub locked_until: Option<DateTime<Utc>>,
}

impl Agent {
    /// Whether a lock is in force at `now`.
    pub fn locked_at(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }

    /// Whether the agent may sign in at all (active and not locked).
    pub fn may_sign_in(&self, now: DateTime<Utc>) -> bool {
        self.status == AgentStatus::Active && !self.locked_at(now)
    }
}

/// Normalises an e-mail the way it is stored: trimmed, lower case.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The agent of `tenant_id` with this (normalised) e-mail.
///
/// # Errors
/// Database errors.
pub async fn agent_by_email(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    email: &str,
) -> QueryResult<Option<Agent>> {
    agents::table
        .filter(agents::tenant_id.eq(tenant_id))
        .filter(agents::email.eq(normalise_email(email)))
        .select(Agent::as_select())
        .first(conn)
        .await
        .optional()
}

/// Login's look-up in one round trip: the agent with this e-mail in the active tenant `slug`,
/// with its tenant and current role. `None` when either is unknown (the caller then tells an
/// unknown tenant, 404, from an unknown e-mail, 401, with [`crate::db::tenants::active_tenant`]).
///
/// # Errors
/// Database errors.
pub async fn login_candidate(
    conn: &mut AsyncPgConnection,
    slug: &str,
    email: &str,
) -> QueryResult<Option<(Tenant, Agent, Option<String>)>> {
    agents::table
        .inner_join(tenants::table)
        .left_join(role_assignments::table)
        .filter(tenants::slug.eq(slug))
        .filter(tenants::status.eq(TenantStatus::Active))
        .filter(agents::email.eq(normalise_email(email)))
        .select((
            Tenant::as_select(),
            Agent::as_select(),
            role_assignments::role.nullable(),
        ))
        .first(conn)
        .await
        .optional()
}

/// The agent `agent_id` of `tenant_id`.
///
/// # Errors
/// Database errors.
pub async fn agent(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    agent_id: Uuid,
) -> QueryResult<Option<Agent>> {
    agents::table
        .filter(agents::tenant_id.eq(tenant_id))
        .filter(agents::id.eq(agent_id))
        .select(Agent::as_select())
        .first(conn)
        .await
        .optional()
}

/// Inserts an agent.
///
/// # Errors
/// Unique violation when the e-mail is taken in the tenant.
pub async fn create_agent(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    tenant_id: Uuid,
    email: &str,
    password_hash: &str,
    mfa_secret: Option<&[u8]>,
) -> QueryResult<Agent> {
    diesel::insert_into(agents::table)
        .values((
            agents::id.eq(id),
            agents::tenant_id.eq(tenant_id),
            agents::email.eq(normalise_email(email)),
            agents::password_hash.eq(password_hash),
            agents::mfa_secret.eq(mfa_secret),
            agents::mfa_enabled.eq(mfa_secret.is_some()),
        ))
        .returning(Agent::as_returning())
        .get_result(conn)
        .await
}

/// Sets an agent's status; returns whether it changed (`false` if it already had it or does
/// not exist). Disabling also revokes its live sessions.
///
/// # Errors
/// Database errors.
pub async fn set_agent_status(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    agent_id: Uuid,
    status: AgentStatus,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let changed = diesel::update(
        agents::table
            .filter(agents::tenant_id.eq(tenant_id))
            .filter(agents::id.eq(agent_id))
            .filter(agents::status.ne(status)),
    )
    .set(agents::status.eq(status))
    .execute(conn)
    .await?;
    if changed > 0 && status == AgentStatus::Disabled {
        diesel::update(
            sessions::table
                .filter(sessions::agent_id.eq(agent_id))
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(now))
        .execute(conn)
        .await?;
    }
    Ok(changed > 0)
}

/// Counts a failed password; the `max`-th consecutive failure locks the agent until
/// `now + lockout_seconds` and restarts the count. One statement, so concurrent failures on
/// different replicas are all counted.
///
/// # Errors
/// Database errors.
pub async fn record_password_failure(
    conn: &mut AsyncPgConnection,
    agent_id: Uuid,
    max: u32,
    lockout_seconds: u64,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    record_failure(
        conn,
        "failed_password_count",
        agent_id,
        max,
        lockout_seconds,
        now,
    )
    .await
}

/// Counts a failed second-factor code (its own counter, same rule as passwords).
///
/// # Errors
/// Database errors.
pub async fn record_code_failure(
    conn: &mut AsyncPgConnection,
    agent_id: Uuid,
    max: u32,
    lockout_seconds: u64,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    record_failure(
        conn,
        "failed_code_count",
        agent_id,
        max,
        lockout_seconds,
        now,
    )
    .await
}

async fn record_failure(
    conn: &mut AsyncPgConnection,
    counter: &'static str,
    agent_id: Uuid,
    max: u32,
    lockout_seconds: u64,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    // `counter` is one of two literals above, never input.
    let sql = format!(
        "UPDATE agents SET \
           {counter} = CASE WHEN {counter} + 1 >= $2 THEN 0 ELSE {counter} + 1 END, \
           locked_until = CASE WHEN {counter} + 1 >= $2 \
                               THEN $3 + make_interval(secs => $4) ELSE locked_until END \
         WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $3)"
    );
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(agent_id)
        .bind::<Integer, _>(i32::try_from(max).unwrap_or(i32::MAX))
        .bind::<Timestamptz, _>(now)
        .bind::<BigInt, _>(i64::try_from(lockout_seconds).unwrap_or(i64::MAX))
        .execute(conn)
        .await?;
    Ok(())
}

/// Accepts the TOTP `step` for the agent if it is later than the last accepted one (RFC 6238
/// §5.2: a code is accepted once) and the agent is active and unlocked; clears the code
/// counter. Returns `false` for a replay or a lock. One statement: two concurrent uses of one
/// code cannot both succeed.
///
/// # Errors
/// Database errors.
pub async fn accept_totp_step(
    conn: &mut AsyncPgConnection,
    agent_id: Uuid,
    step: i64,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::update(
        agents::table
            .filter(agents::id.eq(agent_id))
            .filter(agents::status.eq(AgentStatus::Active))
            .filter(
                agents::locked_until
                    .is_null()
                    .or(agents::locked_until.le(now)),
            )
            .filter(
                agents::totp_last_step
                    .is_null()
                    .or(agents::totp_last_step.lt(step)),
            ),
    )
    .set((
        agents::totp_last_step.eq(step),
        agents::failed_code_count.eq(0),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Stores a not-yet-confirmed TOTP secret (enrollment); refused (`false`) when MFA is enabled.
///
/// # Errors
/// Database errors.
pub async fn set_pending_mfa_secret(
    conn: &mut AsyncPgConnection,
    agent_id: Uuid,
    sealed: &[u8],
) -> QueryResult<bool> {
    let n = diesel::update(
        agents::table
            .filter(agents::id.eq(agent_id))
            .filter(agents::mfa_enabled.eq(false)),
    )
    .set(agents::mfa_secret.eq(sealed))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Turns MFA on with the confirmed secret: records the confirming `step`, replaces the
/// recovery codes. Returns `false` if MFA was enabled meanwhile.
///
/// # Errors
/// Database errors.
pub async fn enable_mfa(
    conn: &mut AsyncPgConnection,
    agent_id: Uuid,
    step: i64,
    code_hashes: &[Vec<u8>],
) -> QueryResult<bool> {
    let n = diesel::update(
        agents::table
            .filter(agents::id.eq(agent_id))
            .filter(agents::mfa_enabled.eq(false))
            .filter(agents::mfa_secret.is_not_null()),
    )
    .set((
        agents::mfa_enabled.eq(true),
        agents::totp_last_step.eq(step),
    ))
    .execute(conn)
    .await?;
    if n != 1 {
        return Ok(false);
    }
    crate::db::recovery_codes::replace_recovery_codes(conn, agent_id, code_hashes).await?;
    Ok(true)
}
