//! `recovery_codes`: an agent's single-use MFA recovery codes, stored as SHA-256.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{agents, recovery_codes};
use crate::domain::AgentId;

/// Marks an unused recovery code of the agent used; returns whether one was. Call in a
/// transaction with the lock checks done by the caller.
///
/// # Errors
/// Database errors.
pub async fn use_recovery_code(
    conn: &mut AsyncPgConnection,
    agent_id: AgentId,
    code_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::agent_id.eq(agent_id))
            .filter(recovery_codes::code_hash.eq(code_hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)
    .await?;
    if n == 1 {
        diesel::update(agents::table.filter(agents::id.eq(agent_id)))
            .set(agents::failed_code_count.eq(0))
            .execute(conn)
            .await?;
    }
    Ok(n == 1)
}

/// Replaces every recovery code of the agent.
///
/// # Errors
/// Database errors.
pub async fn replace_recovery_codes(
    conn: &mut AsyncPgConnection,
    agent_id: AgentId,
    code_hashes: &[Vec<u8>],
) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::agent_id.eq(agent_id)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = code_hashes
        .iter()
        .map(|h| {
            (
                recovery_codes::agent_id.eq(agent_id),
                recovery_codes::code_hash.eq(h.as_slice()),
            )
        })
        .collect();
    diesel::insert_into(recovery_codes::table)
        .values(&rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes every recovery code of the agent (its second factor was reset).
///
/// # Errors
/// Database errors.
pub async fn delete_recovery_codes(
    conn: &mut AsyncPgConnection,
    agent_id: AgentId,
) -> QueryResult<usize> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::agent_id.eq(agent_id)))
        .execute(conn)
        .await
}
