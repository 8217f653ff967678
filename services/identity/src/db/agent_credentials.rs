//! An agent's credential state in `agents`: failure counts and locks (single `UPDATE`
//! statements, so replicas sharing the database enforce one count), the TOTP secret and its
//! last accepted step, and what an admin resets (issue #20).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::agents;
use crate::domain::{AgentId, AgentStatus, TenantId};

/// Counts a failed password; the `max`-th consecutive failure locks the agent until
/// `now + lockout_seconds` and restarts the count. One statement, so concurrent failures on
/// different replicas are all counted.
///
/// # Errors
/// Database errors.
pub async fn record_password_failure(
    conn: &mut AsyncPgConnection,
    agent_id: AgentId,
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

/// Sets the agent's first password (enrollment) and clears its password lock and count.
/// Returns whether the agent exists.
///
/// # Errors
/// Database errors.
pub async fn set_password(
    conn: &mut AsyncPgConnection,
    agent_id: AgentId,
    password_hash: &str,
) -> QueryResult<bool> {
    diesel::update(agents::table.find(agent_id))
        .set((
            agents::password_hash.eq(password_hash),
            agents::failed_password_count.eq(0),
            agents::locked_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await
        .map(|n| n == 1)
}

/// Counts a failed second-factor code (its own counter, same rule as passwords).
///
/// # Errors
/// Database errors.
pub async fn record_code_failure(
    conn: &mut AsyncPgConnection,
    agent_id: AgentId,
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
    agent_id: AgentId,
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
    tessera_db::prepared(
        diesel::sql_query(sql)
            .bind::<SqlUuid, _>(agent_id)
            .bind::<Integer, _>(i32::try_from(max).unwrap_or(i32::MAX))
            .bind::<Timestamptz, _>(now)
            .bind::<BigInt, _>(i64::try_from(lockout_seconds).unwrap_or(i64::MAX)),
    )
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
    agent_id: AgentId,
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
    agent_id: AgentId,
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
    agent_id: AgentId,
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

/// Lifts a lock and clears both failure counts; returns whether the agent exists.
///
/// # Errors
/// Database errors.
pub async fn unlock(
    conn: &mut AsyncPgConnection,
    tenant_id: TenantId,
    agent_id: AgentId,
) -> QueryResult<bool> {
    let n = diesel::update(
        agents::table
            .filter(agents::tenant_id.eq(tenant_id))
            .filter(agents::id.eq(agent_id)),
    )
    .set((
        agents::locked_until.eq(None::<DateTime<Utc>>),
        agents::failed_password_count.eq(0),
        agents::failed_code_count.eq(0),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Turns the second factor off and forgets its secret and last step (the agent enrolls again);
/// returns whether the agent exists. The caller deletes the recovery codes.
///
/// # Errors
/// Database errors.
pub async fn clear_mfa(
    conn: &mut AsyncPgConnection,
    tenant_id: TenantId,
    agent_id: AgentId,
) -> QueryResult<bool> {
    let n = diesel::update(
        agents::table
            .filter(agents::tenant_id.eq(tenant_id))
            .filter(agents::id.eq(agent_id)),
    )
    .set((
        agents::mfa_enabled.eq(false),
        agents::mfa_secret.eq(None::<Vec<u8>>),
        agents::totp_last_step.eq(None::<i64>),
        agents::failed_code_count.eq(0),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}
