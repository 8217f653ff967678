//! The API throttle (seed 001: 429 `too_many_requests` with `Retry-After`), shared across
//! replicas: one counter row per key and one-minute window in PostgreSQL, incremented by a
//! single upsert per request. The key is the presenting token (`token:<id>`), else the gateway
//! subject (`sub:<subject>`), else the client address (`ip:<addr>`: the address the nearest
//! untrusted hop had, `TRUSTED_PROXIES` and [`tessera_http::client_addr`]; a client's own
//! `X-Forwarded-For` never chooses it).
//! `QUOTATIONS_API_RATE_LIMIT_PER_MINUTE` (default 60, Laravel's `throttle:api`); 0 disables it.

use actix_web::HttpRequest;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tessera_http::ApiError;

use crate::caller::Caller;
use crate::db::schema::api_throttle;
use crate::state::AppState;

/// The throttle key of a request.
pub fn key(state: &AppState, req: &HttpRequest, caller: &Caller) -> String {
    if let Some(t) = &caller.token {
        return format!("token:{}", t.token_id);
    }
    if let Some(s) = &caller.gateway_subject {
        return format!("sub:{s}");
    }
    let ip = state
        .config
        .base
        .trusted_proxies
        .client_ip_of(req)
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    format!("ip:{ip}")
}

/// Counts one request of `key` in the window of `now`; returns the window's count.
///
/// # Errors
/// Database errors.
pub async fn hit(
    conn: &mut AsyncPgConnection,
    key: &str,
    now: DateTime<Utc>,
) -> Result<i32, diesel::result::Error> {
    let window = now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now);
    diesel::insert_into(api_throttle::table)
        .values((
            api_throttle::key.eq(key),
            api_throttle::window_start.eq(window),
            api_throttle::hits.eq(1),
        ))
        .on_conflict((api_throttle::key, api_throttle::window_start))
        .do_update()
        .set(api_throttle::hits.eq(api_throttle::hits + excluded(api_throttle::hits)))
        .returning(api_throttle::hits)
        .get_result(conn)
        .await
}

/// The count of `key` in the window of `now` without adding to it.
///
/// # Errors
/// Database errors.
pub async fn peek(
    conn: &mut AsyncPgConnection,
    key: &str,
    now: DateTime<Utc>,
) -> Result<i32, diesel::result::Error> {
    let window = now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now);
    api_throttle::table
        .find((key, window))
        .select(api_throttle::hits)
        .first(conn)
        .await
        .optional()
        .map(Option::unwrap_or_default)
}

/// Forgets `key` (a successful login clears its failures).
///
/// # Errors
/// Database errors.
pub async fn clear(conn: &mut AsyncPgConnection, key: &str) -> Result<(), diesel::result::Error> {
    diesel::delete(api_throttle::table.filter(api_throttle::key.eq(key)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Seconds from `now` to the next one-minute window (a `Retry-After`).
pub fn seconds_to_next_window(now: DateTime<Utc>) -> u64 {
    60 - u64::try_from(now.timestamp().rem_euclid(60)).unwrap_or(0)
}

/// 429 `too_many_requests` (with `Retry-After` = seconds to the next window) when the caller
/// is over the limit.
///
/// # Errors
/// The 429, or 503 when the database is down.
pub async fn check(state: &AppState, req: &HttpRequest, caller: &Caller) -> Result<(), ApiError> {
    let limit = state.config.quotations_api_rate_limit_per_minute;
    if limit == 0 {
        return Ok(());
    }
    let now = tessera_service::now();
    let hits = {
        let mut conn = state.pool.get().await?;
        hit(&mut conn, &key(state, req, caller), now).await?
    };
    if u32::try_from(hits).unwrap_or(u32::MAX) > limit {
        return Err(ApiError::too_many_requests(seconds_to_next_window(now)));
    }
    Ok(())
}

/// Deletes windows older than two minutes (a limit reads only the current and the previous
/// one); returns how many.
///
/// # Errors
/// Database errors.
pub async fn purge_windows(conn: &mut AsyncPgConnection) -> Result<usize, diesel::result::Error> {
    let cutoff = tessera_service::now() - TimeDelta::minutes(2);
    diesel::delete(api_throttle::table.filter(api_throttle::window_start.lt(cutoff)))
        .execute(conn)
        .await
}
