//! `sessions`: logins, from the password step (`mfa_pending`) to logout or expiry; `sid` of
//! the access tokens. Scoped by tenant like every identity query.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{agents, role_assignments, sessions, tenants};
use crate::db::tenants::Tenant;
use crate::domain::{AgentId, AgentStatus, SessionId, TenantId, TenantStatus};

/// A session (`sessions` row).
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    /// Id (`session_id`, and `sid` in access tokens).
    pub id: SessionId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Agent.
    pub agent_id: AgentId,
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

/// After a correct password, in one statement: opens the session only if the agent is still
/// active and unlocked at `now` (a lock set meanwhile by another replica wins; the agent row
/// is share-locked so a concurrent lock waits), and clears a non-zero password counter.
/// `None` when the agent may not sign in.
///
/// # Errors
/// Database errors.
pub async fn open_session(
    conn: &mut AsyncPgConnection,
    agent_id: AgentId,
    mfa_pending: bool,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> QueryResult<Option<Session>> {
    tessera_db::prepared(
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
        .bind::<SqlUuid, _>(SessionId::from(Uuid::new_v4()))
        .bind::<diesel::sql_types::Bool, _>(mfa_pending)
        .bind::<Timestamptz, _>(expires_at),
    )
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
    id: SessionId,
) -> QueryResult<Option<(Tenant, Session, AgentStatus, Option<String>)>> {
    sessions::table
        .inner_join(agents::table.inner_join(tenants::table))
        .left_join(role_assignments::table.on(role_assignments::agent_id.eq(sessions::agent_id)))
        .filter(sessions::id.eq(id))
        .filter(sessions::tenant_id.eq(tenants::id))
        .filter(tenants::slug.eq(slug))
        .filter(tenants::status.eq(TenantStatus::Active))
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

/// The session `id` of `tenant_id`.
///
/// # Errors
/// Database errors.
pub async fn session(
    conn: &mut AsyncPgConnection,
    tenant_id: TenantId,
    id: SessionId,
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
    id: SessionId,
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
    id: SessionId,
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
    agent_id: AgentId,
    now: DateTime<Utc>,
) -> QueryResult<Vec<(SessionId, DateTime<Utc>)>> {
    sessions::table
        .filter(sessions::agent_id.eq(agent_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::mfa_pending.eq(false))
        .filter(sessions::expires_at.gt(now))
        .select((sessions::id, sessions::expires_at))
        .load(conn)
        .await
}

/// Revokes every session of the agent not revoked yet; returns how many.
///
/// # Errors
/// Database errors.
pub async fn revoke_all(
    conn: &mut AsyncPgConnection,
    agent_id: AgentId,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::agent_id.eq(agent_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)
    .await
}

/// A live session as a tenant admin lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct LiveSession {
    /// Id (the tokens' `sid`).
    pub id: SessionId,
    /// Authenticator assurance level reached: 1 password, 2 with the second factor.
    pub aal: i16,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Expires.
    pub expires_at: DateTime<Utc>,
}

/// One page of the agent's live, fully authenticated sessions at `now`, newest first, and how
/// many there are.
///
/// # Errors
/// Database errors.
pub async fn list_live(
    conn: &mut AsyncPgConnection,
    agent_id: AgentId,
    now: DateTime<Utc>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<LiveSession>, i64)> {
    let live = || {
        sessions::table
            .filter(sessions::agent_id.eq(agent_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::mfa_pending.eq(false))
            .filter(sessions::expires_at.gt(now))
    };
    tessera_db::page::load(
        conn,
        live()
            .order((sessions::created_at.desc(), sessions::id.desc()))
            .select(LiveSession::as_select()),
        live().count(),
        limit,
        offset,
    )
    .await
}
