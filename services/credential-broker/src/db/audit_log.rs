//! `audit_log`: every token request, whatever its outcome (never the token: at most its
//! HMAC-SHA256), group-committed with its event.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::audit_log;
use crate::domain::AuditOutcome;

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
    pub outcome: AuditOutcome,
    /// The failed check or error.
    pub reason: Option<String>,
    /// HMAC-SHA256 of the issued token.
    pub token_hmac: Option<Vec<u8>>,
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
    pub outcome: AuditOutcome,
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
    let listing = || {
        let mut q = audit_log::table.into_boxed();
        if let Some(id) = sandbox_id {
            q = q.filter(audit_log::sandbox_id.eq(id.to_owned()));
        }
        q
    };
    tessera_db::page::load(
        conn,
        listing().order(audit_log::id.desc()).select((
            audit_log::id,
            audit_log::at,
            audit_log::request_id,
            audit_log::caller,
            audit_log::sandbox_id,
            audit_log::upstream_host,
            audit_log::scopes,
            audit_log::outcome,
            audit_log::reason,
        )),
        listing().count(),
        limit,
        offset,
    )
    .await
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
