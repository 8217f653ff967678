//! The peer-token hot path's two look-ups (the caller's API key, the (importer, target) pair)
//! behind a short-lived per-replica cache (`REGISTRY_CACHE_TTL_MS`, default 1 s): a change
//! made through this replica's API clears it at once; other replicas see it within the TTL.
//! The queries themselves are in [`crate::db`].

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use tessera_db::DbPool;

use crate::db::api_keys;
pub use crate::db::api_keys::hash_api_key;
use crate::db::relationships::{self, PairView};

/// Most entries a cache map holds before it is cleared (bounds memory under key scanning).
const CACHE_CAP: usize = 10_000;

type Cached<V> = RwLock<HashMap<V, (Instant, CachedValue)>>;

#[derive(Clone)]
enum CachedValue {
    Wl(String),
    Pair(PairView),
}

/// The hot-path look-ups with a per-replica TTL cache (module docs).
#[derive(derive_more::Debug)]
pub struct Registry {
    #[debug(skip)]
    pool: DbPool,
    ttl: Duration,
    #[debug(skip)]
    creds: Cached<[u8; 32]>,
    #[debug(skip)]
    pairs: Cached<(String, String)>,
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
        let wl = api_keys::authenticate(&mut conn, &hash).await?;
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
        let view = relationships::resolve_pair(&mut conn, importer, target).await?;
        cache_put(&self.pairs, key, CachedValue::Pair(view.clone()), self.ttl);
        Ok(view)
    }
}
