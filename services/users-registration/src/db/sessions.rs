//! `sessions`: logins (a refresh-token family each); revoking one ends every token of it.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::result::Error as DbError;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{sessions, users};
use crate::domain::{Principal, Role, effective_scopes};
use crate::domain::{SessionId, UserId, UserStatus};

/// Starts a login session for `user_id` with its first refresh token (stored as its SHA-256).
///
/// # Errors
/// Database errors.
pub async fn create_session(
    conn: &mut AsyncPgConnection,
    session_id: SessionId,
    user_id: UserId,
    refresh_hash: &[u8],
    now: DateTime<Utc>,
    ttl: TimeDelta,
) -> Result<(), DbError> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(session_id),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(now + ttl),
        ))
        .execute(conn)
        .await?;
    crate::db::refresh_tokens::insert_refresh(conn, session_id, refresh_hash, now, ttl).await
}

/// Revokes session `id` (every refresh token of its family, and its access tokens at their
/// next use). Returns whether it was live.
///
/// # Errors
/// Database errors.
pub async fn revoke_session(
    conn: &mut AsyncPgConnection,
    id: SessionId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let n = diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(now),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// The caller behind session `id` when the session is live and its user `APPROVED`: one query.
///
/// # Errors
/// Database errors.
pub async fn session_principal(
    conn: &mut AsyncPgConnection,
    id: SessionId,
    now: DateTime<Utc>,
) -> Result<Option<Principal>, DbError> {
    let found: Option<(UserId, String, Option<Vec<String>>)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(users::status.eq(UserStatus::Approved))
        .select((users::id, users::role, users::scopes))
        .first(conn)
        .await
        .optional()?;
    Ok(found.map(|(user_id, role, scopes)| {
        let role = Role::parse(&role).unwrap_or(Role::Producer);
        Principal {
            user_id,
            session_id: id,
            role,
            scopes: effective_scopes(role, scopes.as_deref()),
        }
    }))
}

/// The user of session `id`.
///
/// # Errors
/// Database errors.
pub async fn session_owner(
    conn: &mut AsyncPgConnection,
    id: SessionId,
) -> Result<Option<UserId>, DbError> {
    sessions::table
        .find(id)
        .select(sessions::user_id)
        .first(conn)
        .await
        .optional()
}
