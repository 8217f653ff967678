//! `password_setup_tokens`: the one-time set-password links of users who signed up without a
//! password (seed 004's own payload; issue #20). Only the SHA-256 of a token is stored.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DbError;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::password_setup_tokens as tokens;

/// What a presented token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// No such token (never issued, or its user is gone).
    Unknown,
    /// Issued, but already used (or spent by another token of the same user).
    Used,
    /// Issued, unused, but past its expiry.
    Expired,
    /// Usable now: the user it sets the password of.
    Usable(Uuid),
}

/// Stores a new token (its hash) for `user_id`, usable until `expires_at`.
///
/// # Errors
/// Database errors.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    user_id: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    diesel::insert_into(tokens::table)
        .values((
            tokens::token_hash.eq(token_hash),
            tokens::user_id.eq(user_id),
            tokens::created_at.eq(now),
            tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Finds the token with hash `token_hash` and locks its row (`FOR UPDATE`, inside the caller's
/// transaction), so two redemptions of one token cannot both see it usable.
///
/// # Errors
/// Database errors.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<Lookup, DbError> {
    let row: Option<(Uuid, DateTime<Utc>, Option<DateTime<Utc>>)> = tokens::table
        .find(token_hash)
        .select((tokens::user_id, tokens::expires_at, tokens::used_at))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    Ok(match row {
        None => Lookup::Unknown,
        Some((_, _, Some(_))) => Lookup::Used,
        Some((_, expires_at, None)) if expires_at <= now => Lookup::Expired,
        Some((user_id, _, None)) => Lookup::Usable(user_id),
    })
}

/// Marks every unused token of `user_id` used at `now` (a password was set: no other link of
/// that user works any more). Returns how many it spent.
///
/// # Errors
/// Database errors.
pub async fn spend_all(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    diesel::update(
        tokens::table
            .filter(tokens::user_id.eq(user_id))
            .filter(tokens::used_at.is_null()),
    )
    .set(tokens::used_at.eq(now))
    .execute(conn)
    .await
}
