//! `refresh_tokens`: rotating refresh tokens (stored as SHA-256), one family per session; a
//! reused token revokes its family.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::result::Error as DbError;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::refresh_tokens;
use crate::domain::{Principal, SessionId};

pub(crate) async fn insert_refresh(
    conn: &mut AsyncPgConnection,
    session_id: SessionId,
    refresh_hash: &[u8],
    now: DateTime<Utc>,
    ttl: TimeDelta,
) -> Result<(), DbError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(refresh_hash),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::issued_at.eq(now),
            refresh_tokens::expires_at.eq(now + ttl),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The outcome of presenting a refresh token.
#[derive(Debug)]
pub enum Rotation {
    /// Rotated: the new token is stored; the caller's session and user.
    Rotated(Principal),
    /// The token was already rotated: it leaked or was replayed, so its session (the whole
    /// family) is now revoked.
    Reused,
    /// Unknown, expired, or its session or user is no longer valid.
    Invalid,
}

/// Rotates the refresh token whose hash is `presented` into `next` (RFC 9700 §4.14.2: refresh
/// token rotation with reuse detection). Run inside a transaction.
///
/// # Errors
/// Database errors.
pub async fn rotate_refresh(
    conn: &mut AsyncPgConnection,
    presented: &[u8],
    next: &[u8],
    now: DateTime<Utc>,
    ttl: TimeDelta,
) -> Result<Rotation, DbError> {
    let rotated: Option<SessionId> = diesel::update(
        refresh_tokens::table
            .find(presented)
            .filter(refresh_tokens::rotated_at.is_null())
            .filter(refresh_tokens::expires_at.gt(now)),
    )
    .set(refresh_tokens::rotated_at.eq(now))
    .returning(refresh_tokens::session_id)
    .get_result(conn)
    .await
    .optional()?;
    let Some(session_id) = rotated else {
        let known: Option<(SessionId, Option<DateTime<Utc>>)> = refresh_tokens::table
            .find(presented)
            .select((refresh_tokens::session_id, refresh_tokens::rotated_at))
            .first(conn)
            .await
            .optional()?;
        return Ok(match known {
            Some((session_id, Some(_))) => {
                crate::db::sessions::revoke_session(conn, session_id, "refresh_token_reused", now)
                    .await?;
                Rotation::Reused
            }
            _ => Rotation::Invalid,
        });
    };
    let Some(principal) = crate::db::sessions::session_principal(conn, session_id, now).await?
    else {
        return Ok(Rotation::Invalid);
    };
    insert_refresh(conn, session_id, next, now, ttl).await?;
    Ok(Rotation::Rotated(principal))
}

/// The session of a refresh token.
///
/// # Errors
/// Database errors.
pub async fn session_of_refresh(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> Result<Option<SessionId>, DbError> {
    refresh_tokens::table
        .find(token_hash)
        .select(refresh_tokens::session_id)
        .first(conn)
        .await
        .optional()
}
