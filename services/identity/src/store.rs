//! Queries (STYLE.md §1: storage apart from handlers). Every query that reads or changes an
//! agent, a session or a role is scoped by the tenant's id, so a row of another tenant is
//! simply not found.
//!
//! Brute-force counters and locks change in single `UPDATE` statements, so replicas sharing
//! the database see and enforce one count.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{agents, recovery_codes, role_assignments, sessions, tenants};

/// A tenant (`tenants` row).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    /// Id.
    pub id: Uuid,
    /// URL slug, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// `active` or `disabled`.
    pub status: String,
}

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
    pub status: String,
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
        self.status == "active" && !self.locked_at(now)
    }
}

/// A session (`sessions` row).
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    /// Id (`session_id`, and `sid` in access tokens).
    pub id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// Agent.
    pub agent_id: Uuid,
    /// Authenticator assurance level reached, 1 or 2.
    pub aal: i16,
    /// Waiting for the second factor.
    pub mfa_pending: bool,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked (logout, agent disabled).
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Session {
    /// Not revoked and not expired at `now`.
    pub fn live_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A role assignment joined with its agent's e-mail.
#[derive(Debug, Clone, Queryable)]
pub struct RoleRow {
    /// Agent.
    pub agent_id: Uuid,
    /// Agent e-mail.
    pub agent_email: String,
    /// Role.
    pub role: String,
    /// When it was (last) assigned.
    pub assigned_at: DateTime<Utc>,
}

/// Normalises an e-mail the way it is stored: trimmed, lower case.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The active tenant with this slug.
///
/// # Errors
/// Database errors.
pub async fn active_tenant(
    conn: &mut AsyncPgConnection,
    slug: &str,
) -> QueryResult<Option<Tenant>> {
    tenants::table
        .filter(tenants::slug.eq(slug))
        .filter(tenants::status.eq("active"))
        .select(Tenant::as_select())
        .first(conn)
        .await
        .optional()
}

/// Creates a tenant; returns it.
///
/// # Errors
/// Unique violation when the slug is taken.
pub async fn create_tenant(
    conn: &mut AsyncPgConnection,
    slug: &str,
    name: &str,
) -> QueryResult<Tenant> {
    diesel::insert_into(tenants::table)
        .values((
            tenants::id.eq(Uuid::now_v7()),
            tenants::slug.eq(slug),
            tenants::name.eq(name),
        ))
        .returning(Tenant::as_returning())
        .get_result(conn)
        .await
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
/// unknown tenant, 404, from an unknown e-mail, 401, with [`active_tenant`]).
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
        .filter(tenants::status.eq("active"))
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

/// After a correct password, in one statement: opens the session only if the agent is still
/// active and unlocked at `now` (a lock set meanwhile by another replica wins; the agent row
/// is share-locked so a concurrent lock waits), and clears a non-zero password counter.
/// `None` when the agent may not sign in.
///
/// # Errors
/// Database errors.
pub async fn open_session(
    conn: &mut AsyncPgConnection,
    agent_id: Uuid,
    mfa_pending: bool,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> QueryResult<Option<Session>> {
    diesel::sql_query(
        "WITH ok AS ( \
           SELECT id, tenant_id, failed_password_count FROM agents \
           WHERE id = $1 AND status = 'active' AND (locked_until IS NULL OR locked_until <= $2) \
           FOR SHARE \
         ), reset AS ( \
           UPDATE agents SET failed_password_count = 0 FROM ok \
           WHERE agents.id = ok.id AND ok.failed_password_count > 0 \
         ) \
         INSERT INTO sessions (id, tenant_id, agent_id, aal, mfa_pending, expires_at) \
         SELECT $3, tenant_id, id, 1, $4, $5 FROM ok \
         RETURNING id, tenant_id, agent_id, aal, mfa_pending, expires_at, revoked_at",
    )
    .bind::<SqlUuid, _>(agent_id)
    .bind::<Timestamptz, _>(now)
    .bind::<SqlUuid, _>(Uuid::new_v4())
    .bind::<diesel::sql_types::Bool, _>(mfa_pending)
    .bind::<Timestamptz, _>(expires_at)
    .get_result(conn)
    .await
    .optional()
}

/// A protected request's look-up in one round trip: the session `id` if it belongs to the
/// active tenant `slug`, with that tenant, its agent's status and the agent's current role.
///
/// # Errors
/// Database errors.
pub async fn session_context(
    conn: &mut AsyncPgConnection,
    slug: &str,
    id: Uuid,
) -> QueryResult<Option<(Tenant, Session, String, Option<String>)>> {
    sessions::table
        .inner_join(agents::table.inner_join(tenants::table))
        .left_join(role_assignments::table.on(role_assignments::agent_id.eq(sessions::agent_id)))
        .filter(sessions::id.eq(id))
        .filter(sessions::tenant_id.eq(tenants::id))
        .filter(tenants::slug.eq(slug))
        .filter(tenants::status.eq("active"))
        .select((
            Tenant::as_select(),
            Session::as_select(),
            agents::status,
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
    status: &str,
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
    if changed > 0 && status == "disabled" {
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
            .filter(agents::status.eq("active"))
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

/// Marks an unused recovery code of the agent used; returns whether one was. Call in a
/// transaction with the lock checks done by the caller.
///
/// # Errors
/// Database errors.
pub async fn use_recovery_code(
    conn: &mut AsyncPgConnection,
    agent_id: Uuid,
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
    replace_recovery_codes(conn, agent_id, code_hashes).await?;
    Ok(true)
}

/// Replaces every recovery code of the agent.
///
/// # Errors
/// Database errors.
pub async fn replace_recovery_codes(
    conn: &mut AsyncPgConnection,
    agent_id: Uuid,
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

/// The session `id` of `tenant_id`.
///
/// # Errors
/// Database errors.
pub async fn session(
    conn: &mut AsyncPgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<Session>> {
    sessions::table
        .filter(sessions::tenant_id.eq(tenant_id))
        .filter(sessions::id.eq(id))
        .select(Session::as_select())
        .first(conn)
        .await
        .optional()
}

/// Completes the second factor: `mfa_pending` off, AAL 2. Only a live, pending session
/// changes; returns it.
///
/// # Errors
/// Database errors.
pub async fn complete_mfa(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Option<Session>> {
    diesel::update(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::mfa_pending.eq(true))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now)),
    )
    .set((sessions::mfa_pending.eq(false), sessions::aal.eq(2_i16)))
    .returning(Session::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Revokes a session (logout); returns whether it was live.
///
/// # Errors
/// Database errors.
pub async fn revoke_session(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::update(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// The agent's fully authenticated sessions that are still live at `now` (those with tokens):
/// `(id, expires_at)`.
///
/// # Errors
/// Database errors.
pub async fn live_sessions(
    conn: &mut AsyncPgConnection,
    agent_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Vec<(Uuid, DateTime<Utc>)>> {
    sessions::table
        .filter(sessions::agent_id.eq(agent_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::mfa_pending.eq(false))
        .filter(sessions::expires_at.gt(now))
        .select((sessions::id, sessions::expires_at))
        .load(conn)
        .await
}

/// The agent's role, if any.
///
/// # Errors
/// Database errors.
pub async fn role_of(conn: &mut AsyncPgConnection, agent_id: Uuid) -> QueryResult<Option<String>> {
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
    tenant_id: Uuid,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<RoleRow>, i64)> {
    let rows = role_assignments::table
        .inner_join(agents::table)
        .filter(role_assignments::tenant_id.eq(tenant_id))
        .order((
            role_assignments::assigned_at.asc(),
            role_assignments::agent_id.asc(),
        ))
        .limit(limit)
        .offset(offset)
        .select((
            role_assignments::agent_id,
            agents::email,
            role_assignments::role,
            role_assignments::assigned_at,
        ))
        .load(conn)
        .await?;
    let total = role_assignments::table
        .filter(role_assignments::tenant_id.eq(tenant_id))
        .count()
        .get_result(conn)
        .await?;
    Ok((rows, total))
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
    assigned_by: Uuid,
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
    tenant_id: Uuid,
    agent_id: Uuid,
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
    tenant_id: Uuid,
    role: &str,
) -> QueryResult<i64> {
    role_assignments::table
        .inner_join(agents::table)
        .filter(role_assignments::tenant_id.eq(tenant_id))
        .filter(role_assignments::role.eq(role))
        .filter(agents::status.eq("active"))
        .count()
        .get_result(conn)
        .await
}
