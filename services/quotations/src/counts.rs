//! A short-lived cache of `GET /api/quotations` totals.
//!
//! Laravel's paginator counts the matching rows on every request; on a million-row table an
//! exact `count(*)` over a broad filter costs ~120–190 ms here (it visits every matching index
//! entry), while the page itself costs ~1 ms. Totals are therefore cached per replica and
//! filter set for `QUOTATIONS_LIST_COUNT_CACHE_SECONDS` (default 30; 0 counts on every
//! request). When an entry goes stale, exactly one request is told to recount (in the
//! background) and everyone keeps the previous total meanwhile, so an expiry never makes
//! concurrent requests all count at once. `meta.total`/`last_page` may lag new rows by about
//! the TTL plus one count; the rows themselves are never cached. At most [`MAX_ENTRIES`]
//! filter sets are kept; beyond that the cache starts over.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Filter sets kept at once.
pub const MAX_ENTRIES: usize = 4096;

/// What the cache knows about a filter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A total to use as is (fresh, or stale while someone recounts).
    Total(i64),
    /// A stale total to use; the caller must recount and [`CountCache::put`] the result.
    Recount(i64),
    /// Nothing known: count now.
    Missing,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    total: i64,
    at: Instant,
    recounting: bool,
}

/// Totals by filter key.
#[derive(Debug)]
pub struct CountCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl CountCache {
    /// A cache keeping totals for `ttl` (zero: never).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// What is known about `key`; at most one caller per expiry gets [`Lookup::Recount`].
    pub fn lookup(&self, key: &str) -> Lookup {
        if self.ttl.is_zero() {
            return Lookup::Missing;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return Lookup::Missing;
        };
        match entries.get_mut(key) {
            None => Lookup::Missing,
            Some(e) if e.at.elapsed() < self.ttl || e.recounting => Lookup::Total(e.total),
            Some(e) => {
                e.recounting = true;
                Lookup::Recount(e.total)
            }
        }
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
            entries.insert(
                key,
                Entry {
                    total,
                    at: Instant::now(),
                    recounting: false,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_recount_per_expiry_and_zero_disables() {
        let c = CountCache::new(Duration::from_millis(50));
        assert_eq!(c.lookup("k"), Lookup::Missing);
        c.put("k".into(), 7);
        assert_eq!(c.lookup("k"), Lookup::Total(7));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            c.lookup("k"),
            Lookup::Recount(7),
            "the first caller after expiry recounts"
        );
        assert_eq!(
            c.lookup("k"),
            Lookup::Total(7),
            "the others keep the stale total"
        );
        c.put("k".into(), 8);
        assert_eq!(c.lookup("k"), Lookup::Total(8));
        let off = CountCache::new(Duration::ZERO);
        off.put("k".into(), 1);
        assert_eq!(off.lookup("k"), Lookup::Missing);
    }
}
