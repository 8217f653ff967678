//! `personal_access_tokens`: Sanctum-style tokens (seed 001 "Autenticacao").
//!
//! A token is issued as `"{id}|{secret}"` (40 random characters, shown once) and stored as the
//! SHA-256 of the secret; presenting it looks the row up by id and compares digests in
//! constant time.

use crate::db::schema::{personal_access_tokens, users};
use crate::db::users::{ApiUser, view};
use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

/// The caller behind a presented token.
#[derive(Debug, Clone)]
pub struct TokenUser {
    /// The user.
    pub user: ApiUser,
    /// The presented token's id (what `DELETE /api/auth/token` revokes).
    pub token_id: i64,
}

/// SHA-256 of `secret` (how tokens, session cookies and reset tokens are stored).
pub fn sha256(secret: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, secret.as_bytes())
        .as_ref()
        .to_vec()
}

/// A fresh 40-character secret (30 random bytes, base64url).
///
/// # Errors
/// The system RNG failed.
pub fn new_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 30];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("system RNG failed"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Issues a token named `device_name` for `user_id`; returns the plaintext `"{id}|{secret}"`.
///
/// # Errors
/// Database errors or an RNG failure.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    device_name: &str,
) -> anyhow::Result<String> {
    issue_until(conn, user_id, device_name, None).await
}

/// [`issue`], expiring at `expires_at` when given (Sanctum's `createToken(…, $expiresAt)`):
/// from then on the token authenticates nobody.
///
/// # Errors
/// Database errors or an RNG failure.
pub async fn issue_until(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    device_name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> anyhow::Result<String> {
    let secret = new_secret()?;
    let id: i64 = diesel::insert_into(personal_access_tokens::table)
        .values((
            personal_access_tokens::user_id.eq(user_id),
            personal_access_tokens::name.eq(device_name),
            personal_access_tokens::token_hash.eq(sha256(&secret)),
            personal_access_tokens::expires_at.eq(expires_at),
        ))
        .returning(personal_access_tokens::id)
        .get_result(conn)
        .await?;
    Ok(format!("{id}|{secret}"))
}

/// A token's hash, expiry and last use with its user's id, name, e-mail, admin flag and
/// permissions.
type TokenRow = (
    Vec<u8>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    i64,
    String,
    String,
    bool,
    serde_json::Value,
);

/// The user behind `presented` (`"{id}|{secret}"`), if it is a live token; records its use
/// (`last_used_at`, at most once a minute).
///
/// # Errors
/// Database errors.
pub async fn authenticate(
    conn: &mut AsyncPgConnection,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<Option<TokenUser>, diesel::result::Error> {
    let Some((id, secret)) = presented.split_once('|') else {
        return Ok(None);
    };
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    let row: Option<TokenRow> = personal_access_tokens::table
        .inner_join(users::table)
        .filter(personal_access_tokens::id.eq(id))
        .select((
            personal_access_tokens::token_hash,
            personal_access_tokens::expires_at,
            personal_access_tokens::last_used_at,
            users::id,
            users::name,
            users::email,
            users::is_admin,
            users::permissions,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((hash, expires_at, last_used_at, uid, name, email, admin, perms)) = row else {
        return Ok(None);
    };
    if !tessera_http::secrets_equal(&hash, &sha256(secret)) || expires_at.is_some_and(|e| e <= now)
    {
        return Ok(None);
    }
    // `last_used_at` to the minute: a write per minute per token, not per request.
    if last_used_at.is_none_or(|at| now - at >= chrono::TimeDelta::minutes(1)) {
        diesel::update(personal_access_tokens::table.find(id))
            .set(personal_access_tokens::last_used_at.eq(now))
            .execute(conn)
            .await?;
    }
    Ok(Some(TokenUser {
        user: view(uid, name, email, admin, perms),
        token_id: id,
    }))
}

/// A personal access token as its owner lists it (`GET /api/user/tokens`): never the secret
/// nor its hash.
#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct TokenRead {
    /// Id (the part before `|` of the token).
    pub id: i64,
    /// The name given at issue (`device_name`).
    pub name: String,
    /// Sanctum's abilities (`["*"]`: everything the user may do).
    #[schema(value_type = Vec<String>, example = json!(["*"]))]
    pub abilities: serde_json::Value,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// Last request it authenticated (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Most tokens `GET /api/user/tokens` lists (newest first).
pub const MAX_LISTED: i64 = 1000;

/// `user_id`'s tokens, newest first, at most [`MAX_LISTED`].
///
/// # Errors
/// Database errors.
pub async fn list_for(
    conn: &mut AsyncPgConnection,
    user_id: i64,
) -> Result<Vec<TokenRead>, diesel::result::Error> {
    personal_access_tokens::table
        .filter(personal_access_tokens::user_id.eq(user_id))
        .order((
            personal_access_tokens::created_at.desc(),
            personal_access_tokens::id.desc(),
        ))
        .limit(MAX_LISTED)
        .select((
            personal_access_tokens::id,
            personal_access_tokens::name,
            personal_access_tokens::abilities,
            personal_access_tokens::created_at,
            personal_access_tokens::last_used_at,
            personal_access_tokens::expires_at,
        ))
        .load(conn)
        .await
}

/// Deletes token `id` when it is `user_id`'s; whether it was.
///
/// # Errors
/// Database errors.
pub async fn revoke_own(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
) -> Result<bool, diesel::result::Error> {
    let n = diesel::delete(
        personal_access_tokens::table
            .filter(personal_access_tokens::id.eq(id))
            .filter(personal_access_tokens::user_id.eq(user_id)),
    )
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Deletes token `id`.
///
/// # Errors
/// Database errors.
pub async fn revoke(conn: &mut AsyncPgConnection, id: i64) -> Result<(), diesel::result::Error> {
    diesel::delete(personal_access_tokens::table.find(id))
        .execute(conn)
        .await?;
    Ok(())
}
