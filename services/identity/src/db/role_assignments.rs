//! `role_assignments`: one role per agent of a tenant (seed 002), assigned by the tenant's admins.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::agents::Agent;
use crate::db::schema::{agents, role_assignments};
use crate::domain::{AgentId, AgentStatus, TenantId};

/// A role assignment joined with its agent's e-mail.
#[derive(Debug, Clone, Queryable)]
pub struct RoleRow {
    /// Agent.
    pub agent_id: AgentId,
    /// Agent e-mail.
    pub agent_email: String,
    /// Role.
    pub role: String,
    /// When it was (last) assigned.
    pub assigned_at: DateTime<Utc>,
}

/// The agent's role, if any.
///
/// # Errors
/// Database errors.
pub async fn role_of(
    conn: &mut AsyncPgConnection,
    agent_id: AgentId,
) -> QueryResult<Option<String>> {
    role_assignments::table
        .filter(role_assignments::agent_id.eq(agent_id))
        .select(role_assignments::role)
        .first(conn)
        .await
        .optional()
}

/// A page of the tenant's role assignments (oldest first) and the total.
///
/// # Errors
/// Database errors.
pub async fn list_roles(
    conn: &mut AsyncPgConnection,
    tenant_id: TenantId,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<RoleRow>, i64)> {
    let of_tenant = role_assignments::tenant_id.eq(tenant_id);
    tessera_db::page::load(
        conn,
        role_assignments::table
            .inner_join(agents::table)
            .filter(of_tenant)
            .order((
                role_assignments::assigned_at.asc(),
                role_assignments::agent_id.asc(),
            ))
            .select((
                role_assignments::agent_id,
                agents::email,
                role_assignments::role,
                role_assignments::assigned_at,
            )),
        role_assignments::table.filter(of_tenant).count(),
        limit,
        offset,
    )
    .await
}

/// Creates or replaces the agent's role. Returns the row and the previous role (`None` when
/// there was none). The agent must belong to `tenant_id` (checked by the caller).
///
/// # Errors
/// Database errors.
pub async fn put_role(
    conn: &mut AsyncPgConnection,
    agent: &Agent,
    role: &str,
    assigned_by: AgentId,
    now: DateTime<Utc>,
) -> QueryResult<(RoleRow, Option<String>)> {
    let previous = role_assignments::table
        .filter(role_assignments::agent_id.eq(agent.id))
        .select(role_assignments::role)
        .for_update()
        .first::<String>(conn)
        .await
        .optional()?;
    if previous.as_deref() != Some(role) {
        diesel::insert_into(role_assignments::table)
            .values((
                role_assignments::agent_id.eq(agent.id),
                role_assignments::tenant_id.eq(agent.tenant_id),
                role_assignments::role.eq(role),
                role_assignments::assigned_at.eq(now),
                role_assignments::assigned_by.eq(assigned_by),
            ))
            .on_conflict(role_assignments::agent_id)
            .do_update()
            .set((
                role_assignments::role.eq(role),
                role_assignments::assigned_at.eq(now),
                role_assignments::assigned_by.eq(assigned_by),
            ))
            .execute(conn)
            .await?;
    }
    let assigned_at = role_assignments::table
        .filter(role_assignments::agent_id.eq(agent.id))
        .select(role_assignments::assigned_at)
        .first(conn)
        .await?;
    Ok((
        RoleRow {
            agent_id: agent.id,
            agent_email: agent.email.clone(),
            role: role.to_owned(),
            assigned_at,
        },
        previous,
    ))
}

/// Deletes the agent's role assignment in the tenant; returns the role it had.
///
/// # Errors
/// Database errors.
pub async fn delete_role(
    conn: &mut AsyncPgConnection,
    tenant_id: TenantId,
    agent_id: AgentId,
) -> QueryResult<Option<String>> {
    diesel::delete(
        role_assignments::table
            .filter(role_assignments::tenant_id.eq(tenant_id))
            .filter(role_assignments::agent_id.eq(agent_id)),
    )
    .returning(role_assignments::role)
    .get_result(conn)
    .await
    .optional()
}

/// How many agents of the tenant currently hold `role` and are active.
///
/// # Errors
/// Database errors.
pub async fn count_active_with_role(
    conn: &mut AsyncPgConnection,
    tenant_id: TenantId,
    role: &str,
) -> QueryResult<i64> {
    role_assignments::table
        .inner_join(agents::table)
        .filter(role_assignments::tenant_id.eq(tenant_id))
        .filter(role_assignments::role.eq(role))
        .filter(agents::status.eq(AgentStatus::Active))
        .count()
        .get_result(conn)
        .await
}
