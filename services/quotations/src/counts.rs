//! A short-lived cache of `GET /api/quotations` totals.
//!
//! Laravel's paginator counts the matching rows on every request; on a million-row table an
//! exact `count(*)` over a broad filter costs ~120 ms here (it visits every matching index
//! entry), while the page itself costs ~1 ms. Totals are therefore cached per replica and
//! filter set for `QUOTATIONS_LIST_COUNT_CACHE_SECONDS` (default 5; 0 counts on every
//! request): `meta.total`/`last_page` may lag new rows by that long, the rows themselves never
//! do. At most [`MAX_ENTRIES`] filter sets are kept; beyond that the cache starts over.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Filter sets kept at once.
pub const MAX_ENTRIES: usize = 4096;

/// Totals by filter key.
#[derive(Debug)]
pub struct CountCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (i64, Instant)>>,
}

impl CountCache {
    /// A cache keeping totals for `ttl` (zero: never).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cached total of `key`, if fresh.
    pub fn get(&self, key: &str) -> Option<i64> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(n, _)| *n)
    }

    /// Remembers the total of `key`.
    pub fn put(&self, key: String, total: i64) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (total, Instant::now()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_entries_only_and_zero_disables() {
        let c = CountCache::new(Duration::from_millis(50));
        assert_eq!(c.get("k"), None);
        c.put("k".into(), 7);
        assert_eq!(c.get("k"), Some(7));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get("k"), None);
        let off = CountCache::new(Duration::ZERO);
        off.put("k".into(), 1);
        assert_eq!(off.get("k"), None);
    }
}
