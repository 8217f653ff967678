//! A binding's status changes (issue #20): who suspends it — an operator, the agent's
//! disablement, role revocations — and what brings it back. A binding suspended by role
//! revocations (`suspended_by = role_revoked`) lists them in `suspended_roles` and is active
//! again once identity assigned each of them back; the others wait for an operator.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::bindings::binding;
use crate::db::schema::bindings;
use crate::domain::{BindingStatus, SuspendedBy};

/// `identity.agent.disabled`: suspends every binding of the agent that is active or suspended
/// only by role revocations (a disabled agent must not come back with a role); returns how many.
///
/// # Errors
/// Database errors.
pub async fn suspend_for_disabled_agent(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    agent_id: Uuid,
    reason: &str,
) -> QueryResult<usize> {
    diesel::update(
        bindings::table
            .filter(bindings::tenant.eq(tenant))
            .filter(bindings::agent_id.eq(agent_id))
            .filter(
                bindings::status
                    .eq(BindingStatus::Active)
                    .or(bindings::suspended_by.eq(SuspendedBy::RoleRevoked)),
            ),
    )
    .set((
        bindings::status.eq(BindingStatus::Suspended),
        bindings::status_reason.eq(reason),
        bindings::suspended_by.eq(SuspendedBy::AgentDisabled),
        bindings::suspended_roles.eq(None::<Vec<String>>),
        bindings::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await
}

/// `identity.role.revoked` of `role`: suspends the agent's active bindings, and adds `role` to
/// those already suspended by revocations (each revoked role must come back before they do);
/// returns how many it newly suspended.
///
/// # Errors
/// Database errors.
pub async fn suspend_for_revoked_role(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    agent_id: Uuid,
    role: &str,
    reason: &str,
) -> QueryResult<usize> {
    use diesel::sql_types::{Text, Uuid as SqlUuid};
    diesel::sql_query(
        "UPDATE bindings SET suspended_roles = array_append(suspended_roles, $3), updated_at = now() \
         WHERE tenant = $1 AND agent_id = $2 AND suspended_by = 'role_revoked' \
         AND NOT ($3 = ANY (suspended_roles))",
    )
    .bind::<Text, _>(tenant)
    .bind::<SqlUuid, _>(agent_id)
    .bind::<Text, _>(role)
    .execute(conn)
    .await?;
    diesel::update(
        bindings::table
            .filter(bindings::tenant.eq(tenant))
            .filter(bindings::agent_id.eq(agent_id))
            .filter(bindings::status.eq(BindingStatus::Active)),
    )
    .set((
        bindings::status.eq(BindingStatus::Suspended),
        bindings::status_reason.eq(reason),
        bindings::suspended_by.eq(SuspendedBy::RoleRevoked),
        bindings::suspended_roles.eq(vec![role.to_owned()]),
        bindings::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await
}

/// `identity.role.assigned` of `role`: removes it from the agent's role-suspended bindings and
/// reactivates those it was the last revoked role of; returns how many came back. Bindings an
/// operator or the agent's disablement suspended are not touched.
///
/// # Errors
/// Database errors.
pub async fn restore_for_assigned_role(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    agent_id: Uuid,
    role: &str,
) -> QueryResult<usize> {
    use diesel::sql_types::{Text, Uuid as SqlUuid};
    let back = diesel::sql_query(
        "UPDATE bindings SET status = 'active', status_reason = NULL, suspended_by = NULL, \
         suspended_roles = NULL, updated_at = now() \
         WHERE tenant = $1 AND agent_id = $2 AND suspended_by = 'role_revoked' \
         AND suspended_roles = ARRAY[$3]::text[]",
    )
    .bind::<Text, _>(tenant)
    .bind::<SqlUuid, _>(agent_id)
    .bind::<Text, _>(role)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "UPDATE bindings SET suspended_roles = array_remove(suspended_roles, $3), updated_at = now() \
         WHERE tenant = $1 AND agent_id = $2 AND suspended_by = 'role_revoked' \
         AND $3 = ANY (suspended_roles)",
    )
    .bind::<Text, _>(tenant)
    .bind::<SqlUuid, _>(agent_id)
    .bind::<Text, _>(role)
    .execute(conn)
    .await?;
    Ok(back)
}

/// What an operator's status change found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorChange {
    /// Done (or already so).
    Changed,
    /// No such binding.
    NotFound,
    /// Revoked for good: neither suspended nor reactivated.
    Revoked,
}

/// An operator suspends (`Some(reason)`) or reactivates (`None`) binding `sandbox_id`, whoever
/// suspended it. A revoked binding stays revoked.
///
/// # Errors
/// Database errors.
pub async fn operator_set_status(
    conn: &mut AsyncPgConnection,
    sandbox_id: &str,
    suspend: Option<&str>,
) -> QueryResult<OperatorChange> {
    let Some(current) = binding(conn, sandbox_id).await? else {
        return Ok(OperatorChange::NotFound);
    };
    if current.status == BindingStatus::Revoked {
        return Ok(OperatorChange::Revoked);
    }
    let target = bindings::table
        .find(sandbox_id)
        .filter(bindings::status.ne(BindingStatus::Revoked));
    let changed = match suspend {
        Some(reason) => {
            diesel::update(target)
                .set((
                    bindings::status.eq(BindingStatus::Suspended),
                    bindings::status_reason.eq(reason),
                    bindings::suspended_by.eq(SuspendedBy::Operator),
                    bindings::suspended_roles.eq(None::<Vec<String>>),
                    bindings::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?
        }
        None => {
            diesel::update(target)
                .set((
                    bindings::status.eq(BindingStatus::Active),
                    bindings::status_reason.eq(None::<String>),
                    bindings::suspended_by.eq(None::<SuspendedBy>),
                    bindings::suspended_roles.eq(None::<Vec<String>>),
                    bindings::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?
        }
    };
    if changed == 1 {
        return Ok(OperatorChange::Changed);
    }
    // Revoked or deleted between the read and the write: say what is there now.
    Ok(match binding(conn, sandbox_id).await? {
        None => OperatorChange::NotFound,
        Some(_) => OperatorChange::Revoked,
    })
}
