//! `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header; Stripe's semantics) for
//! `POST /registrations`.
//!
//! - The key is 1 to 255 visible ASCII characters; anything else is a 400.
//! - The first request with a key claims it by inserting its row inside the transaction that
//!   creates the registration, and stores its response there: the registration, its event and
//!   the stored response commit together or not at all.
//! - A request with the same key and the same body (compared by fingerprint: SHA-256 of the
//!   canonical JSON, keys sorted) gets the stored response again (`Idempotent-Replayed: true`),
//!   with no new row and no new event.
//! - The same key with a different body is 422 `idempotency_key_reused`.
//! - A request whose key is held by a request still in flight (an uncommitted claim, on any
//!   replica) waits for it up to `IDEMPOTENCY_WAIT_SECONDS` (PostgreSQL's `lock_timeout`), then
//!   gets that request's stored response; if it is still in flight then, 409 `conflict` with
//!   `reason` = `idempotency_key_in_flight`.
//! - Only successful responses are stored. A refusal (duplicate e-mail or document, invalid
//!   body) stores nothing, so a corrected retry with the same key can succeed.
//! - Stored responses expire after `IDEMPOTENCY_TTL_SECONDS` (24 h); an expired key may be
//!   claimed again.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use aws_lc_rs::digest;
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use tessera_http::ApiError;

use crate::db::schema::idempotency_keys;
use crate::error::Error;

/// The request header (draft-ietf-httpapi-idempotency-key-header §2).
pub const HEADER: &str = "Idempotency-Key";
/// Set to `true` on a response replayed from a stored one.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// Longest key accepted.
pub const MAX_LEN: usize = 255;

/// A response stored under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

/// The request's key, if it sent one.
///
/// # Errors
/// 400 `validation_error` on an empty, over-long or non-visible-ASCII key.
pub fn key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(raw) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let valid = raw
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_LEN)
        .filter(|k| k.bytes().all(|b| b.is_ascii_graphic()));
    match valid {
        Some(k) => Ok(Some(k.to_owned())),
        None => Err(ApiError::validation(
            StatusCode::BAD_REQUEST,
            tessera_http::FieldErrors::from([(
                HEADER.to_owned(),
                vec![format!(
                    "The {HEADER} header must be 1 to {MAX_LEN} visible ASCII characters."
                )],
            )]),
        )),
    }
}

/// SHA-256 of `body` in canonical form (object keys sorted at every level, no whitespace).
pub fn fingerprint(body: &Value) -> Vec<u8> {
    let mut canonical = String::new();
    write_canonical(body, &mut canonical);
    digest::digest(&digest::SHA256, canonical.as_bytes())
        .as_ref()
        .to_vec()
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(child) = map.get(k) {
                    write_canonical(child, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The live stored response for `key`, checked against `fingerprint`: `Ok(None)` when there
/// is none (or it expired).
///
/// # Errors
/// 422 `idempotency_key_reused` when the key was used with another body; database errors as 503.
pub async fn replay(
    conn: &mut AsyncPgConnection,
    key: &str,
    fingerprint: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<StoredResponse>, ApiError> {
    let found: Option<(Vec<u8>, i16, Value)> = idempotency_keys::table
        .find(key)
        .filter(idempotency_keys::expires_at.gt(now))
        .select((
            idempotency_keys::fingerprint,
            idempotency_keys::response_status,
            idempotency_keys::response_body,
        ))
        .first(conn)
        .await
        .optional()?;
    match found {
        None => Ok(None),
        Some((stored, _, _)) if stored != fingerprint => Err(Error::IdempotencyKeyReused.into()),
        Some((_, status, body)) => Ok(Some(StoredResponse {
            status: u16::try_from(status).unwrap_or(500),
            body,
        })),
    }
}

/// Whether a database error is PostgreSQL's `lock_not_available` (55P03): the wait for the
/// request in flight ran out.
pub fn is_lock_timeout(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(_, info)
        if info.message().contains("lock timeout"))
}

/// Claims `key` inside the caller's transaction, waiting at most `wait_seconds` for a request
/// in flight with the same key. `Ok(true)`: claimed (the caller must store its response in the
/// same transaction); `Ok(false)`: a live row exists, read it with [`replay`].
///
/// # Errors
/// Database errors, including the lock timeout ([`is_lock_timeout`]).
pub async fn claim(
    conn: &mut AsyncPgConnection,
    key: &str,
    fingerprint: &[u8],
    now: DateTime<Utc>,
    ttl: TimeDelta,
    wait_seconds: u64,
) -> Result<bool, diesel::result::Error> {
    tessera_db::set_local(conn, "lock_timeout", &format!("{}s", wait_seconds.max(1))).await?;
    // The placeholder response is replaced (`db::registrations::submit`) before the commit.
    let upsert = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::key.eq(key),
            idempotency_keys::fingerprint.eq(fingerprint),
            idempotency_keys::response_status.eq(0i16),
            idempotency_keys::response_body.eq(Value::Null),
            idempotency_keys::created_at.eq(now),
            idempotency_keys::expires_at.eq(now + ttl),
        ))
        .on_conflict(idempotency_keys::key)
        .do_update()
        .set((
            idempotency_keys::fingerprint.eq(excluded(idempotency_keys::fingerprint)),
            idempotency_keys::created_at.eq(excluded(idempotency_keys::created_at)),
            idempotency_keys::expires_at.eq(excluded(idempotency_keys::expires_at)),
        ));
    // `ON CONFLICT … DO UPDATE … WHERE`: only an expired row is taken over.
    let claimed =
        diesel::query_dsl::methods::FilterDsl::filter(upsert, idempotency_keys::expires_at.le(now))
            .execute(conn)
            .await?;
    tessera_db::set_local(conn, "lock_timeout", "0").await?;
    Ok(claimed == 1)
}

/// Deletes expired keys; returns how many.
///
/// # Errors
/// Database errors.
pub async fn purge_expired(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<usize, diesel::result::Error> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::expires_at.le(now)))
        .execute(conn)
        .await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fingerprint_ignores_key_order_and_whitespace_but_not_values() {
        let a = fingerprint(&json!({"a": 1, "b": {"y": [1, 2], "x": "s"}}));
        let b: Value = serde_json::from_str(r#"{ "b": {"x":"s","y":[1,2]}, "a":1 }"#).unwrap();
        assert_eq!(a, fingerprint(&b));
        assert_ne!(
            a,
            fingerprint(&json!({"a": 1, "b": {"y": [2, 1], "x": "s"}}))
        );
        assert_ne!(
            a,
            fingerprint(&json!({"a": "1", "b": {"y": [1, 2], "x": "s"}}))
        );
    }
}
