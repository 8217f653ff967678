//! `wl_credentials`: white labels' API keys. A key is `cpk_` + 43 base64url characters (256
//! random bits), shown once at issue and stored as SHA-256 only (STYLE.md §6).

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::db::schema::wl_credentials;
use crate::error::Error;

/// Prefix of WL API keys (`cpk_` + 43 base64url chars = 256 random bits).
pub const API_KEY_PREFIX: &str = "cpk_";

/// An API key's metadata (never the key).
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = wl_credentials)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyInfo {
    /// Key id (for revocation).
    pub id: Uuid,
    /// Owning WL.
    pub wl_id: String,
    /// First characters of the key, to recognise it.
    pub key_prefix: String,
    /// Issue time.
    pub created_at: DateTime<Utc>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A freshly issued API key: shown once, stored as SHA-256 only.
#[derive(derive_more::Debug)]
pub struct NewApiKey {
    /// The key's metadata.
    pub info: ApiKeyInfo,
    /// The plaintext key (`cpk_…`).
    #[debug(skip)]
    pub plaintext: String,
}

/// SHA-256 of an API key.
pub fn hash_api_key(key: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, key.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn generate_api_key() -> Result<String, diesel::result::Error> {
    let mut secret = [0u8; 32];
    aws_lc_rs::rand::fill(&mut secret).map_err(|_| {
        diesel::result::Error::QueryBuilderError("random number generator failed".into())
    })?;
    Ok(format!(
        "{API_KEY_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(secret)
    ))
}

/// Issues an API key for `wl_id`.
///
/// # Errors
/// [`Error::WhiteLabelNotFound`] when the WL does not exist; database errors.
pub async fn issue(conn: &mut AsyncPgConnection, wl_id: &str) -> Result<NewApiKey, Error> {
    let plaintext = generate_api_key()?;
    let hash = hash_api_key(&plaintext);
    let prefix: String = plaintext.chars().take(API_KEY_PREFIX.len() + 6).collect();
    let info = diesel::insert_into(wl_credentials::table)
        .values((
            wl_credentials::id.eq(Uuid::now_v7()),
            wl_credentials::wl_id.eq(wl_id),
            wl_credentials::secret_hash.eq(hash.as_slice()),
            wl_credentials::key_prefix.eq(&prefix),
        ))
        .returning(ApiKeyInfo::as_returning())
        .get_result(conn)
        .await?;
    Ok(NewApiKey { info, plaintext })
}

/// A WL's API keys (metadata only), newest first.
///
/// # Errors
/// Database errors.
pub async fn list(conn: &mut AsyncPgConnection, wl_id: &str) -> QueryResult<Vec<ApiKeyInfo>> {
    wl_credentials::table
        .filter(wl_credentials::wl_id.eq(wl_id))
        .order(wl_credentials::created_at.desc())
        .limit(100)
        .select(ApiKeyInfo::as_select())
        .load(conn)
        .await
}

/// Revokes a key of `wl_id`.
///
/// # Errors
/// [`Error::ApiKeyNotFound`] when there is no such unrevoked key; database errors.
pub async fn revoke(conn: &mut AsyncPgConnection, wl_id: &str, key_id: Uuid) -> Result<(), Error> {
    let n = diesel::update(
        wl_credentials::table
            .filter(wl_credentials::id.eq(key_id))
            .filter(wl_credentials::wl_id.eq(wl_id))
            .filter(wl_credentials::revoked_at.is_null()),
    )
    .set(wl_credentials::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    if n == 0 {
        return Err(Error::ApiKeyNotFound);
    }
    Ok(())
}

/// The WL owning an unrevoked API key with this hash.
///
/// # Errors
/// Database errors.
pub async fn authenticate(
    conn: &mut AsyncPgConnection,
    hash: &[u8; 32],
) -> QueryResult<Option<String>> {
    wl_credentials::table
        .filter(wl_credentials::secret_hash.eq(hash.as_slice()))
        .filter(wl_credentials::revoked_at.is_null())
        .select(wl_credentials::wl_id)
        .first(conn)
        .await
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_long_random_and_hashed() {
        let a = generate_api_key().unwrap();
        let b = generate_api_key().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(API_KEY_PREFIX));
        assert_eq!(a.len(), API_KEY_PREFIX.len() + 43);
        assert_ne!(hash_api_key(&a), hash_api_key(&b));
    }
}
