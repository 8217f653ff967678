//! Collect runs as the operations dashboard lists them (`collect_runs`).

use super::*;
use crate::db::schema::collect_runs;
use crate::domain::RunStatus;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

/// A recorded run (`GET /dashboard/operations/auto-collect/history`).
#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct RunEntry {
    /// Id.
    pub run_id: Uuid,
    /// `manual|dashboard|scheduler`.
    pub trigger: Trigger,
    /// `running|success|partial|failed`.
    pub status: RunStatus,
    /// RFC 3339.
    pub started_at: DateTime<Utc>,
    /// RFC 3339; `null` while running.
    pub finished_at: Option<DateTime<Utc>>,
    /// [`Summary`]; `null` while running.
    #[schema(value_type = Option<Object>)]
    pub summary: Option<serde_json::Value>,
    /// `null` while running.
    pub exit_code: Option<i32>,
    /// Symbols asked.
    pub symbols: Vec<String>,
    /// Provider asked.
    pub requested_provider: Option<String>,
    /// Provider that served every symbol.
    pub effective_provider: Option<String>,
    /// The equivalent command line.
    pub command: String,
}

/// The latest `limit` runs, newest first.
///
/// # Errors
/// Database errors.
pub async fn history(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> Result<Vec<RunEntry>, diesel::result::Error> {
    collect_runs::table
        .order((collect_runs::started_at.desc(), collect_runs::run_id.desc()))
        .limit(limit)
        .select((
            collect_runs::run_id,
            collect_runs::trigger,
            collect_runs::status,
            collect_runs::started_at,
            collect_runs::finished_at,
            collect_runs::summary,
            collect_runs::exit_code,
            collect_runs::symbols,
            collect_runs::requested_provider,
            collect_runs::effective_provider,
            collect_runs::command,
        ))
        .load(conn)
        .await
}
