//! The white-label registry: WLs, relationships ("visibility") and WL API keys.
//!
//! Query functions take a connection so the operator API, the CLI and tests share them.
//! [`Registry`] adds a short-lived per-replica cache in front of the two look-ups on the
//! peer-token hot path (`REGISTRY_CACHE_TTL_MS`, default 1 s): a change made through this
//! replica's API clears it at once; other replicas see it within the TTL.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use tessera_db::DbPool;
use uuid::Uuid;

use crate::db::schema::{white_labels, wl_credentials, wl_relationships};

/// Prefix of WL API keys (`cpk_` + 43 base64url chars = 256 random bits).
pub const API_KEY_PREFIX: &str = "cpk_";

/// A WL's status (`active` | `inactive`).
pub const ACTIVE: &str = "active";
/// See [`ACTIVE`].
pub const INACTIVE: &str = "inactive";

/// Whether `s` is a valid WL id: 1–63 chars of `[a-z0-9._-]`, starting with a letter or digit.
pub fn valid_wl_id(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
        && s.len() <= 63
        && bytes.all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// Whether `s` is a valid status.
pub fn valid_status(s: &str) -> bool {
    s == ACTIVE || s == INACTIVE
}

/// A white label.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = white_labels)]
#[serde(rename_all = "camelCase")]
pub struct WhiteLabel {
    /// Stable public id, e.g. `wl-a`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `active` | `inactive`.
    pub status: String,
    /// Creation time (RFC 3339).
    pub created_at: DateTime<Utc>,
    /// Last change (RFC 3339).
    pub updated_at: DateTime<Utc>,
}

/// An importer → target relationship and the scopes it allows.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = wl_relationships)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    /// The WL that imports offers and asks for peer tokens.
    pub importer_id: String,
    /// The WL the tokens are for.
    pub target_id: String,
    /// Scopes the importer may request for this target.
    pub scopes: Vec<String>,
    /// `active` | `inactive`.
    pub status: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

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
pub struct NewApiKey {
    /// The key's metadata.
    pub info: ApiKeyInfo,
    /// The plaintext key (`cpk_…`).
    pub plaintext: String,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
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

/// Creates a WL.
///
/// # Errors
/// `UniqueViolation` when the id exists; other database errors.
pub async fn create_wl(
    conn: &mut AsyncPgConnection,
    id: &str,
    name: &str,
    status: &str,
) -> QueryResult<WhiteLabel> {
    diesel::insert_into(white_labels::table)
        .values((
            white_labels::id.eq(id),
            white_labels::name.eq(name),
            white_labels::status.eq(status),
        ))
        .returning(WhiteLabel::as_returning())
        .get_result(conn)
        .await
}

/// One page of WLs by id, and the total.
///
/// # Errors
/// Database errors.
pub async fn list_wls(
    conn: &mut AsyncPgConnection,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<WhiteLabel>, i64)> {
    let rows = white_labels::table
        .order(white_labels::id.asc())
        .limit(limit)
        .offset(offset)
        .select(WhiteLabel::as_select())
        .load(conn)
        .await?;
    let total = white_labels::table.count().get_result(conn).await?;
    Ok((rows, total))
}

/// One WL.
///
/// # Errors
/// Database errors.
pub async fn get_wl(conn: &mut AsyncPgConnection, id: &str) -> QueryResult<Option<WhiteLabel>> {
    white_labels::table
        .find(id)
        .select(WhiteLabel::as_select())
        .first(conn)
        .await
        .optional()
}

/// Changes a WL's name and/or status; `None` when it does not exist.
///
/// # Errors
/// Database errors.
pub async fn update_wl(
    conn: &mut AsyncPgConnection,
    id: &str,
    name: Option<&str>,
    status: Option<&str>,
) -> QueryResult<Option<WhiteLabel>> {
    #[derive(AsChangeset)]
    #[diesel(table_name = white_labels)]
    struct Change<'a> {
        name: Option<&'a str>,
        status: Option<&'a str>,
        updated_at: DateTime<Utc>,
    }
    diesel::update(white_labels::table.find(id))
        .set(Change {
            name,
            status,
            updated_at: Utc::now(),
        })
        .returning(WhiteLabel::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Creates or replaces the importer → target relationship; `true` when it was created.
///
/// # Errors
/// `ForeignKeyViolation` when a WL does not exist; other database errors.
pub async fn upsert_relationship(
    conn: &mut AsyncPgConnection,
    importer: &str,
    target: &str,
    scopes: &[String],
    status: &str,
) -> QueryResult<(Relationship, bool)> {
    let existed: bool = diesel::select(diesel::dsl::exists(
        wl_relationships::table.find((importer, target)),
    ))
    .get_result(conn)
    .await?;
    let row = diesel::insert_into(wl_relationships::table)
        .values((
            wl_relationships::importer_id.eq(importer),
            wl_relationships::target_id.eq(target),
            wl_relationships::scopes.eq(scopes),
            wl_relationships::status.eq(status),
        ))
        .on_conflict((wl_relationships::importer_id, wl_relationships::target_id))
        .do_update()
        .set((
            wl_relationships::scopes.eq(scopes),
            wl_relationships::status.eq(status),
            wl_relationships::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Relationship::as_returning())
        .get_result(conn)
        .await?;
    Ok((row, !existed))
}

/// One page of an importer's relationships, and the total.
///
/// # Errors
/// Database errors.
pub async fn list_relationships(
    conn: &mut AsyncPgConnection,
    importer: &str,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<Relationship>, i64)> {
    let rows = wl_relationships::table
        .filter(wl_relationships::importer_id.eq(importer))
        .order(wl_relationships::target_id.asc())
        .limit(limit)
        .offset(offset)
        .select(Relationship::as_select())
        .load(conn)
        .await?;
    let total = wl_relationships::table
        .filter(wl_relationships::importer_id.eq(importer))
        .count()
        .get_result(conn)
        .await?;
    Ok((rows, total))
}

/// Deletes a relationship; `false` when there was none.
///
/// # Errors
/// Database errors.
pub async fn delete_relationship(
    conn: &mut AsyncPgConnection,
    importer: &str,
    target: &str,
) -> QueryResult<bool> {
    let n = diesel::delete(wl_relationships::table.find((importer, target)))
        .execute(conn)
        .await?;
    Ok(n > 0)
}

/// Issues an API key for `wl_id`.
///
/// # Errors
/// `ForeignKeyViolation` when the WL does not exist; other database errors.
pub async fn issue_api_key(conn: &mut AsyncPgConnection, wl_id: &str) -> QueryResult<NewApiKey> {
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
pub async fn list_api_keys(
    conn: &mut AsyncPgConnection,
    wl_id: &str,
) -> QueryResult<Vec<ApiKeyInfo>> {
    wl_credentials::table
        .filter(wl_credentials::wl_id.eq(wl_id))
        .order(wl_credentials::created_at.desc())
        .limit(100)
        .select(ApiKeyInfo::as_select())
        .load(conn)
        .await
}

/// Revokes a key of `wl_id`; `false` when there is no such unrevoked key.
///
/// # Errors
/// Database errors.
pub async fn revoke_api_key(
    conn: &mut AsyncPgConnection,
    wl_id: &str,
    key_id: Uuid,
) -> QueryResult<bool> {
    let n = diesel::update(
        wl_credentials::table
            .filter(wl_credentials::id.eq(key_id))
            .filter(wl_credentials::wl_id.eq(wl_id))
            .filter(wl_credentials::revoked_at.is_null()),
    )
    .set(wl_credentials::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(n > 0)
}

/// The WL owning an unrevoked API key with this hash.
///
/// # Errors
/// Database errors.
pub async fn authenticate_api_key(
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

/// Everything the peer-token endpoint needs about (importer, target), in one round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq, QueryableByName)]
pub struct PairView {
    /// Importer's status, `None` when unknown.
    #[diesel(sql_type = Nullable<Text>)]
    pub importer_status: Option<String>,
    /// Target's status, `None` when unknown.
    #[diesel(sql_type = Nullable<Text>)]
    pub target_status: Option<String>,
    /// Relationship status, `None` when there is none.
    #[diesel(sql_type = Nullable<Text>)]
    pub relationship_status: Option<String>,
    /// Scopes the relationship allows.
    #[diesel(sql_type = Nullable<Array<Text>>)]
    pub relationship_scopes: Option<Vec<String>>,
}

/// Loads the [`PairView`] of (importer, target).
///
/// # Errors
/// Database errors.
pub async fn resolve_pair(
    conn: &mut AsyncPgConnection,
    importer: &str,
    target: &str,
) -> QueryResult<PairView> {
    diesel::sql_query(
        "SELECT i.status AS importer_status, t.status AS target_status, \
                r.status AS relationship_status, r.scopes AS relationship_scopes \
         FROM (SELECT 1) AS one \
         LEFT JOIN white_labels i ON i.id = $1 \
         LEFT JOIN white_labels t ON t.id = $2 \
         LEFT JOIN wl_relationships r ON r.importer_id = $1 AND r.target_id = $2",
    )
    .bind::<Text, _>(importer)
    .bind::<Text, _>(target)
    .get_result(conn)
    .await
}

/// Most entries a cache map holds before it is cleared (bounds memory under key scanning).
const CACHE_CAP: usize = 10_000;

type Cached<V> = RwLock<HashMap<V, (Instant, CachedValue)>>;

#[derive(Clone)]
enum CachedValue {
    Wl(String),
    Pair(PairView),
}

/// The hot-path look-ups with a per-replica TTL cache (module docs).
pub struct Registry {
    pool: DbPool,
    ttl: Duration,
    creds: Cached<[u8; 32]>,
    pairs: Cached<(String, String)>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

fn cache_get<K: std::hash::Hash + Eq>(
    map: &Cached<K>,
    key: &K,
    ttl: Duration,
) -> Option<CachedValue> {
    let guard = map.read().ok()?;
    let (at, v) = guard.get(key)?;
    (at.elapsed() < ttl).then(|| v.clone())
}

fn cache_put<K: std::hash::Hash + Eq>(map: &Cached<K>, key: K, value: CachedValue, ttl: Duration) {
    if ttl.is_zero() {
        return;
    }
    if let Ok(mut guard) = map.write() {
        if guard.len() >= CACHE_CAP {
            guard.clear();
        }
        guard.insert(key, (Instant::now(), value));
    }
}

impl Registry {
    /// A registry over `pool` caching for `ttl` (zero disables the cache).
    pub fn new(pool: DbPool, ttl: Duration) -> Self {
        Self {
            pool,
            ttl,
            creds: RwLock::new(HashMap::new()),
            pairs: RwLock::new(HashMap::new()),
        }
    }

    /// The pool.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Forgets every cached look-up (after an operator change).
    pub fn invalidate(&self) {
        if let Ok(mut g) = self.creds.write() {
            g.clear();
        }
        if let Ok(mut g) = self.pairs.write() {
            g.clear();
        }
    }

    /// The WL owning API key `key`, if valid. Only hits are cached.
    ///
    /// # Errors
    /// Pool or database errors.
    pub async fn authenticate(&self, key: &str) -> anyhow::Result<Option<String>> {
        let hash = hash_api_key(key);
        if let Some(CachedValue::Wl(wl)) = cache_get(&self.creds, &hash, self.ttl) {
            return Ok(Some(wl));
        }
        let mut conn = self.pool.get().await?;
        let wl = authenticate_api_key(&mut conn, &hash).await?;
        if let Some(wl) = &wl {
            cache_put(&self.creds, hash, CachedValue::Wl(wl.clone()), self.ttl);
        }
        Ok(wl)
    }

    /// The [`PairView`] of (importer, target).
    ///
    /// # Errors
    /// Pool or database errors.
    pub async fn pair(&self, importer: &str, target: &str) -> anyhow::Result<PairView> {
        let key = (importer.to_owned(), target.to_owned());
        if let Some(CachedValue::Pair(p)) = cache_get(&self.pairs, &key, self.ttl) {
            return Ok(p);
        }
        let mut conn = self.pool.get().await?;
        let view = resolve_pair(&mut conn, importer, target).await?;
        cache_put(&self.pairs, key, CachedValue::Pair(view.clone()), self.ttl);
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wl_ids() {
        assert!(valid_wl_id("wl-a"));
        assert!(valid_wl_id("0x.b_c"));
        assert!(!valid_wl_id(""));
        assert!(!valid_wl_id("-a"));
        assert!(!valid_wl_id("WL"));
        assert!(!valid_wl_id("a b"));
        assert!(!valid_wl_id(&"a".repeat(64)));
    }

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
