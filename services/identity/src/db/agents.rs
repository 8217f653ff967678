//! `agents`: a tenant's agents, their password and TOTP state and their lock.
//!
//! Every query is scoped by the tenant's id, so an agent of another tenant is simply not found.
//! Brute-force counters and locks change in single `UPDATE` statements, so replicas sharing the
//! database see and enforce one count.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::{AgentId, AgentStatus, TenantId, TenantStatus};

use crate::db::schema::{agents, role_assignments, tenants};
use crate::db::tenants::Tenant;

/// An agent (`agents` row).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = agents)]
pub struct Agent {
    /// Id (`sub` of its tokens).
    pub id: AgentId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Lower-cased e-mail.
    pub email: String,
    /// Argon2id PHC string; `None` until an agent created through the API redeems its
    /// enrollment link.
    pub password_hash: Option<String>,
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
    tenant_id: TenantId,
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
    tenant_id: TenantId,
    agent_id: AgentId,
) -> QueryResult<Option<Agent>> {
    agents::table
        .filter(agents::tenant_id.eq(tenant_id))
        .filter(agents::id.eq(agent_id))
        .select(Agent::as_select())
        .first(conn)
        .await
        .optional()
}

/// Inserts an agent (without a password: `password_hash` `None`, it enrolls by link).
///
/// # Errors
/// Unique violation when the e-mail is taken in the tenant.
pub async fn create_agent(
    conn: &mut AsyncPgConnection,
    id: AgentId,
    tenant_id: TenantId,
    email: &str,
    password_hash: Option<&str>,
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
    tenant_id: TenantId,
    agent_id: AgentId,
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
        crate::db::sessions::revoke_all(conn, agent_id, now).await?;
    }
    Ok(changed > 0)
}

/// An agent as a tenant admin lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = agents)]
pub struct AgentSummary {
    /// Id.
    pub id: AgentId,
    /// Lower-cased e-mail.
    pub email: String,
    /// `active` or `disabled`.
    pub status: AgentStatus,
    /// Whether login requires the second factor.
    pub mfa_enabled: bool,
    /// Locked until this instant (may be past).
    pub locked_until: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// One page of the tenant's agents by e-mail, narrowed to `status` and to e-mails containing
/// `search` (case-insensitive; `%`, `_` and `\` match themselves), and how many there are.
///
/// # Errors
/// Database errors.
pub async fn list_agents(
    conn: &mut AsyncPgConnection,
    tenant_id: TenantId,
    status: Option<AgentStatus>,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<AgentSummary>, i64)> {
    let pattern = search.map(tessera_db::contains_pattern);
    let query = || {
        let mut q = agents::table
            .filter(agents::tenant_id.eq(tenant_id))
            .into_boxed();
        if let Some(status) = status {
            q = q.filter(agents::status.eq(status));
        }
        if let Some(p) = &pattern {
            q = q.filter(agents::email.ilike(p.clone()));
        }
        q
    };
    tessera_db::page::load(
        conn,
        query()
            .order((agents::email.asc(), agents::id.asc()))
            .select(AgentSummary::as_select()),
        query().count(),
        limit,
        offset,
    )
    .await
}

/// The admin's view of one agent of `tenant_id`.
///
/// # Errors
/// Database errors.
pub async fn agent_summary(
    conn: &mut AsyncPgConnection,
    tenant_id: TenantId,
    agent_id: AgentId,
) -> QueryResult<Option<AgentSummary>> {
    agents::table
        .filter(agents::tenant_id.eq(tenant_id))
        .filter(agents::id.eq(agent_id))
        .select(AgentSummary::as_select())
        .first(conn)
        .await
        .optional()
}
