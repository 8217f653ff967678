//! Queries: bindings, the audit log, the rate-limit windows.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{audit_log, binding_upstreams, bindings};

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
    pub status: String,
    /// Why it is not active.
    pub status_reason: Option<String>,
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Binding {
    /// Active and not expired at `now`.
    pub fn usable_at(&self, now: DateTime<Utc>) -> bool {
        self.status == "active" && self.expires_at.is_none_or(|t| t > now)
    }
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
            bindings::status.eq("active"),
            bindings::status_reason.eq(None::<String>),
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

/// Suspends every active binding of the agent; returns how many.
///
/// # Errors
/// Database errors.
pub async fn suspend_agent_bindings(
    conn: &mut AsyncPgConnection,
    tenant: &str,
    agent_id: Uuid,
    reason: &str,
) -> QueryResult<usize> {
    diesel::update(
        bindings::table
            .filter(bindings::tenant.eq(tenant))
            .filter(bindings::agent_id.eq(agent_id))
            .filter(bindings::status.eq("active")),
    )
    .set((
        bindings::status.eq("suspended"),
        bindings::status_reason.eq(reason),
        bindings::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await
}

/// One audit row, written by [`AuditBatch`] (the `audit_log` columns, `at` and `id` aside).
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// Request id.
    pub request_id: Option<String>,
    /// Who called (`auth-proxy`, or `anonymous` when unauthenticated).
    pub caller: String,
    /// Requested sandbox.
    pub sandbox_id: String,
    /// Requested upstream host, as sent (or normalised when valid).
    pub upstream_host: String,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// `issued`, `denied` or `error`.
    pub outcome: String,
    /// The failed check or error.
    pub reason: Option<String>,
    /// HMAC-SHA256 of the issued token.
    pub token_hmac: Option<Vec<u8>>,
}

/// What `token_check` found for one token request (one round trip; see the migration
/// `2026-11-22-000500-0000_token_check`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Checked {
    /// The sandbox's binding.
    pub binding: Binding,
    /// The scopes the binding allows for the requested host; `None` when the host is not allowed.
    pub allowed_scopes: Option<Vec<String>>,
    /// `(this minute's count, the previous minute's count)` of the sandbox, counted in this
    /// call; `None` when checks 2–4 failed (a refused request is not counted).
    pub counts: Option<(i32, i32)>,
}

diesel::define_sql_function! {
    /// `token_check(sandbox, host, scopes, now, window, previous window)`: see the migration.
    fn token_check(
        sandbox: diesel::sql_types::Text,
        host: diesel::sql_types::Text,
        scopes: diesel::sql_types::Array<diesel::sql_types::Text>,
        now: diesel::sql_types::Timestamptz,
        win: diesel::sql_types::Timestamptz,
        prev: diesel::sql_types::Timestamptz,
    ) -> diesel::sql_types::Nullable<diesel::sql_types::Jsonb>;
}

/// Checks 2–4 of `POST /api/token` and, when they pass, counts the request in the sandbox's
/// rate window — one statement (`token_check`). `None`: no binding for `sandbox_id`.
///
/// # Errors
/// Database errors (a malformed result is reported as one).
pub async fn check(
    conn: &mut AsyncPgConnection,
    sandbox_id: &str,
    host: &str,
    scopes: &[String],
    now: DateTime<Utc>,
) -> QueryResult<Option<Checked>> {
    let start = window_start(now);
    let found: Option<serde_json::Value> = diesel::select(token_check(
        sandbox_id,
        host,
        scopes,
        now,
        start,
        start - TimeDelta::minutes(1),
    ))
    .get_result(conn)
    .await?;
    found
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
}

fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now)
}

/// The sliding-window estimate of a sandbox's requests in the last 60 s from
/// `(this minute's count, the previous minute's count)` at `now`: the previous minute's count
/// weighted by how much of it still overlaps the last 60 s, plus this minute's. Returns
/// `(estimate, seconds until the current window ends (≥ 1))` — the latter is `Retry-After`.
pub fn rate_estimate((current, previous): (i32, i32), now: DateTime<Utc>) -> (f64, u64) {
    let start = window_start(now);
    let elapsed = (now - start).num_milliseconds() as f64 / 60_000.0;
    let estimate = f64::from(previous) * (1.0 - elapsed) + f64::from(current);
    let left = u64::try_from((start + TimeDelta::minutes(1) - now).num_seconds())
        .unwrap_or(0)
        .max(1);
    (estimate, left)
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
    pub status: String,
    /// Why it is not active.
    pub status_reason: Option<String>,
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Allowed upstreams and their scopes.
    pub upstreams: Vec<UpstreamView>,
}

/// One allowed upstream.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct UpstreamView {
    /// Host (lower case, exact).
    pub host: String,
    /// Allowed scopes (exact).
    pub scopes: Vec<String>,
}

/// Bindings ordered by sandbox id, a page of them with their upstreams, and the total.
///
/// # Errors
/// Database errors.
pub async fn list_bindings(
    conn: &mut AsyncPgConnection,
    sandbox_id: Option<&str>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<BindingView>, i64)> {
    let mut q = bindings::table.into_boxed();
    let mut c = bindings::table.into_boxed();
    if let Some(id) = sandbox_id {
        q = q.filter(bindings::sandbox_id.eq(id.to_owned()));
        c = c.filter(bindings::sandbox_id.eq(id.to_owned()));
    }
    let rows: Vec<Binding> = q
        .order(bindings::sandbox_id.asc())
        .limit(limit)
        .offset(offset)
        .select(Binding::as_select())
        .load(conn)
        .await?;
    let total = c.count().get_result(conn).await?;
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
    let views = rows
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
            expires_at: b.expires_at,
        })
        .collect();
    Ok((views, total))
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

/// An audit row as the operator API shows it.
#[derive(Debug, Clone, Queryable, serde::Serialize, utoipa::ToSchema)]
pub struct AuditView {
    /// Row id.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Request id.
    pub request_id: Option<String>,
    /// Caller.
    pub caller: String,
    /// Sandbox.
    pub sandbox_id: String,
    /// Upstream host.
    pub upstream_host: String,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// `issued`, `denied` or `error`.
    pub outcome: String,
    /// The failed check or error.
    pub reason: Option<String>,
}

/// A page of audit rows, newest first, optionally for one sandbox, and the total.
///
/// # Errors
/// Database errors.
pub async fn list_audit(
    conn: &mut AsyncPgConnection,
    sandbox_id: Option<&str>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<AuditView>, i64)> {
    let mut q = audit_log::table.into_boxed();
    let mut c = audit_log::table.into_boxed();
    if let Some(id) = sandbox_id {
        q = q.filter(audit_log::sandbox_id.eq(id.to_owned()));
        c = c.filter(audit_log::sandbox_id.eq(id.to_owned()));
    }
    let rows = q
        .order(audit_log::id.desc())
        .limit(limit)
        .offset(offset)
        .select((
            audit_log::id,
            audit_log::at,
            audit_log::request_id,
            audit_log::caller,
            audit_log::sandbox_id,
            audit_log::upstream_host,
            audit_log::scopes,
            audit_log::outcome,
            audit_log::reason,
        ))
        .load(conn)
        .await?;
    let total = c.count().get_result(conn).await?;
    Ok((rows, total))
}

/// The group commit of the audit log: each item is one request's audit row with its
/// `credential-broker.token.requested` event; a batch is stored by one
/// `record_token_requests` statement (both tables or neither, one commit for the batch).
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditBatch;

impl tessera_events::BatchWrite for AuditBatch {
    type Item = (AuditEntry, tessera_events::OutboxMessage);

    async fn write(&self, conn: &mut AsyncPgConnection, items: &[Self::Item]) -> QueryResult<()> {
        let rows: Vec<serde_json::Value> = items
            .iter()
            .map(|(entry, event)| {
                serde_json::json!({
                    "request_id": entry.request_id,
                    "caller": entry.caller,
                    "sandbox_id": entry.sandbox_id,
                    "upstream_host": entry.upstream_host,
                    "scopes": entry.scopes,
                    "outcome": entry.outcome,
                    "reason": entry.reason,
                    "token_hmac": entry.token_hmac.as_deref().map(|h| BASE64.encode(h)),
                    "event_id": event.id,
                    "routing_key": event.routing_key,
                    "body": event.body,
                    "headers": event.headers,
                })
            })
            .collect();
        diesel::select(record_token_requests(serde_json::Value::Array(rows)))
            .get_result::<i32>(conn)
            .await?;
        Ok(())
    }
}

diesel::define_sql_function! {
    /// `record_token_requests(rows)`: a batch of audit rows and their outbox events; see the
    /// migration `2026-11-22-000500-0000_token_check`.
    fn record_token_requests(rows: diesel::sql_types::Jsonb) -> diesel::sql_types::Integer;
}
