//! `bindings` and `binding_upstreams`: which sandbox may get tokens for which upstream hosts
//! and scopes, on behalf of which identity agent (seed 003); fail-closed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::domain::{BindingStatus, SuspendedBy};

use crate::db::schema::{binding_upstreams, bindings};

/// A binding (`bindings` row).
#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = bindings)]
pub struct Binding {
    /// The sandbox.
    pub sandbox_id: String,
    /// The owner's identity tenant.
    pub tenant: String,
    /// The owner (identity agent id).
    pub agent_id: Uuid,
    /// `active`, `suspended` or `revoked`.
    pub status: BindingStatus,
    /// Why it is not active.
    pub status_reason: Option<String>,
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Who suspended it (`None` unless suspended).
    pub suspended_by: Option<SuspendedBy>,
    /// The revoked roles that keep it suspended (only with `SuspendedBy::RoleRevoked`).
    pub suspended_roles: Option<Vec<String>>,
}

/// The binding of `sandbox_id`.
///
/// # Errors
/// Database errors.
pub async fn binding(
    conn: &mut AsyncPgConnection,
    sandbox_id: &str,
) -> QueryResult<Option<Binding>> {
    bindings::table
        .find(sandbox_id)
        .select(Binding::as_select())
        .first(conn)
        .await
        .optional()
}

/// Creates or replaces a binding and its upstreams (`(host, scopes)`, hosts normalised).
///
/// # Errors
/// Database errors.
pub async fn put_binding(
    conn: &mut AsyncPgConnection,
    sandbox_id: &str,
    tenant: &str,
    agent_id: Uuid,
    expires_at: Option<DateTime<Utc>>,
    upstreams: &[(String, Vec<String>)],
) -> QueryResult<()> {
    diesel::insert_into(bindings::table)
        .values((
            bindings::sandbox_id.eq(sandbox_id),
            bindings::tenant.eq(tenant),
            bindings::agent_id.eq(agent_id),
            bindings::expires_at.eq(expires_at),
        ))
        .on_conflict(bindings::sandbox_id)
        .do_update()
        .set((
            bindings::tenant.eq(tenant),
            bindings::agent_id.eq(agent_id),
            bindings::expires_at.eq(expires_at),
            bindings::status.eq(BindingStatus::Active),
            bindings::status_reason.eq(None::<String>),
            bindings::suspended_by.eq(None::<SuspendedBy>),
            bindings::suspended_roles.eq(None::<Vec<String>>),
            bindings::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    diesel::delete(binding_upstreams::table.filter(binding_upstreams::sandbox_id.eq(sandbox_id)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = upstreams
        .iter()
        .map(|(host, scopes)| {
            (
                binding_upstreams::sandbox_id.eq(sandbox_id),
                binding_upstreams::upstream_host.eq(host),
                binding_upstreams::scopes.eq(scopes),
            )
        })
        .collect();
    diesel::insert_into(binding_upstreams::table)
        .values(&rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// A binding with its upstreams, as the operator API shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BindingView {
    /// The sandbox.
    pub sandbox_id: String,
    /// Owner's identity tenant.
    pub tenant: String,
    /// Owner (identity agent id).
    pub agent_id: Uuid,
    /// `active`, `suspended` or `revoked`.
    pub status: BindingStatus,
    /// Why it is not active.
    pub status_reason: Option<String>,
    /// Who suspended it: `operator`, `agent_disabled` or `role_revoked` (absent unless
    /// suspended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspended_by: Option<SuspendedBy>,
    /// With `role_revoked`: the revoked roles that must all be assigned again for it to come
    /// back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspended_roles: Option<Vec<String>>,
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Allowed upstreams and their scopes.
    pub upstreams: Vec<UpstreamView>,
}

/// What `GET /api/bindings` is narrowed to; the fields combine with AND.
#[derive(Debug, Default)]
pub struct BindingFilter {
    /// Only this sandbox.
    pub sandbox_id: Option<String>,
    /// Only this status.
    pub status: Option<BindingStatus>,
    /// Only this identity tenant.
    pub tenant: Option<String>,
    /// Only this agent.
    pub agent_id: Option<Uuid>,
    /// Only bindings allowing this upstream host (normalised).
    pub upstream_host: Option<String>,
}

fn filtered(f: &BindingFilter) -> bindings::BoxedQuery<'static, diesel::pg::Pg> {
    let mut q = bindings::table.into_boxed();
    if let Some(id) = &f.sandbox_id {
        q = q.filter(bindings::sandbox_id.eq(id.clone()));
    }
    if let Some(status) = f.status {
        q = q.filter(bindings::status.eq(status));
    }
    if let Some(tenant) = &f.tenant {
        q = q.filter(bindings::tenant.eq(tenant.clone()));
    }
    if let Some(agent) = f.agent_id {
        q = q.filter(bindings::agent_id.eq(agent));
    }
    if let Some(host) = &f.upstream_host {
        q = q.filter(diesel::dsl::exists(
            binding_upstreams::table
                .filter(binding_upstreams::sandbox_id.eq(bindings::sandbox_id))
                .filter(binding_upstreams::upstream_host.eq(host.clone())),
        ));
    }
    q
}

/// One allowed upstream.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct UpstreamView {
    /// Host (lower case, exact).
    pub host: String,
    /// Allowed scopes (exact).
    pub scopes: Vec<String>,
}

/// The bindings `filter` selects ordered by sandbox id: a page of them with their upstreams,
/// and the total.
///
/// # Errors
/// Database errors.
pub async fn list_bindings(
    conn: &mut AsyncPgConnection,
    filter: &BindingFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<BindingView>, i64)> {
    let (rows, total): (Vec<Binding>, i64) = tessera_db::page::load(
        conn,
        filtered(filter)
            .order(bindings::sandbox_id.asc())
            .select(Binding::as_select()),
        filtered(filter).count(),
        limit,
        offset,
    )
    .await?;
    Ok((with_upstreams(conn, rows).await?, total))
}

/// Binding `sandbox_id` as the operator API shows it, if it exists (the binding, then its
/// upstreams: two statements).
///
/// # Errors
/// Database errors.
pub async fn view(
    conn: &mut AsyncPgConnection,
    sandbox_id: &str,
) -> QueryResult<Option<BindingView>> {
    let Some(row) = binding(conn, sandbox_id).await? else {
        return Ok(None);
    };
    Ok(with_upstreams(conn, vec![row]).await?.pop())
}

/// `rows` with their upstreams (one statement for all of them), in the same order.
async fn with_upstreams(
    conn: &mut AsyncPgConnection,
    rows: Vec<Binding>,
) -> QueryResult<Vec<BindingView>> {
    let ids: Vec<&str> = rows.iter().map(|b| b.sandbox_id.as_str()).collect();
    let ups: Vec<(String, String, Vec<String>)> = binding_upstreams::table
        .filter(binding_upstreams::sandbox_id.eq_any(&ids))
        .order((
            binding_upstreams::sandbox_id,
            binding_upstreams::upstream_host,
        ))
        .select((
            binding_upstreams::sandbox_id,
            binding_upstreams::upstream_host,
            binding_upstreams::scopes,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|b| BindingView {
            upstreams: ups
                .iter()
                .filter(|(s, _, _)| *s == b.sandbox_id)
                .map(|(_, host, scopes)| UpstreamView {
                    host: host.clone(),
                    scopes: scopes.clone(),
                })
                .collect(),
            sandbox_id: b.sandbox_id,
            tenant: b.tenant,
            agent_id: b.agent_id,
            status: b.status,
            status_reason: b.status_reason,
            suspended_by: b.suspended_by,
            suspended_roles: b.suspended_roles,
            expires_at: b.expires_at,
        })
        .collect())
}

/// Deletes a binding (its upstreams go with it); returns whether it existed.
///
/// # Errors
/// Database errors.
pub async fn delete_binding(conn: &mut AsyncPgConnection, sandbox_id: &str) -> QueryResult<bool> {
    Ok(diesel::delete(bindings::table.find(sandbox_id))
        .execute(conn)
        .await?
        == 1)
}
