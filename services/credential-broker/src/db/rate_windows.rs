//! `rate_windows` and the token endpoint's one-statement check (`token_check`): the binding,
//! the upstream and scopes it allows, and the sandbox's per-minute count across replicas.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::bindings::Binding;

/// What `token_check` found for one token request (one round trip; see the migration
/// `2026-11-22-000500-0000_token_check`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Checked {
    /// The sandbox's binding.
    pub binding: Binding,
    /// Whether the binding yields tokens at the request's time (active and unexpired): the
    /// database's rule, said once in `token_check`.
    pub usable: bool,
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

/// Deletes windows older than two minutes (the limit reads only the current and the previous
/// one, by the database's clock); returns how many.
///
/// # Errors
/// Database errors.
pub async fn purge_windows(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM rate_windows WHERE window_start < now() - interval '2 minutes'")
        .execute(conn)
        .await
}
