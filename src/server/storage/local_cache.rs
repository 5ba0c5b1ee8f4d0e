//! A bounded in-process copy of rows that only this process writes: with the embedded SQLite
//! database every write goes through this process, so a write-through copy is exact and a read
//! needs no database round trip. (With Postgres other instances write too: nothing is cached.)
//!
//! Writers change the database first, then the copy ([`LocalCache::put`], [`LocalCache::remove`]).
//! Readers that missed take a [`LocalCache::generation`] before reading the database and
//! [`LocalCache::fill`] with what they read only if no write happened meanwhile, so a read that
//! raced a write never stores what the write replaced.

use std::hash::Hash;
use std::sync::RwLock;

use crate::server::support::bounded_map::{BoundedMap, Replacement};

pub struct LocalCache<K, V> {
    inner: RwLock<Inner<K, V>>,
}

struct Inner<K, V> {
    /// Incremented by every write.
    generation: u64,
    /// When full, the `keep` given to [`LocalCache::fill`] or [`LocalCache::put`] decides which
    /// entries stay (e.g. the unexpired ones); if that frees nothing, the copy starts over rather
    /// than grow: the database has it all. Replacing a cached key never makes room.
    entries: BoundedMap<K, V>,
}

/// Taken before a database read; see [`LocalCache::fill`].
#[derive(Clone, Copy)]
pub struct Generation(u64);

impl<K: Eq + Hash, V: Clone> LocalCache<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: RwLock::new(Inner {
                generation: 0,
                entries: BoundedMap::new(capacity, Replacement::Free),
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner<K, V>> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner<K, V>> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, key: &K) -> Option<V> {
        self.read().entries.get(key).cloned()
    }

    pub fn generation(&self) -> Generation {
        Generation(self.read().generation)
    }

    /// Stores what a read found, unless something was written since `before` was taken.
    pub fn fill(&self, before: Generation, key: K, value: V, keep: impl Fn(&V) -> bool) {
        let mut inner = self.write();
        if inner.generation == before.0 {
            inner.entries.insert(key, value, |_, v| keep(v));
        }
    }

    /// Stores what was just written to the database.
    pub fn put(&self, key: K, value: V, keep: impl Fn(&V) -> bool) {
        let mut inner = self.write();
        inner.generation += 1;
        inner.entries.insert(key, value, |_, v| keep(v));
    }

    /// Forgets what was just deleted or changed in the database.
    pub fn remove(&self, key: &K) {
        let mut inner = self.write();
        inner.generation += 1;
        inner.entries.remove(key);
    }

    pub fn retain(&self, keep: impl Fn(&K, &V) -> bool) {
        let mut inner = self.write();
        inner.generation += 1;
        inner.entries.retain(|k, v| keep(k, v));
    }
}

#[cfg(test)]
mod tests {
    use super::LocalCache;

    #[test]
    fn stays_within_capacity_keeping_what_is_asked() {
        let cache = LocalCache::new(3);
        for n in 0..3 {
            cache.put(n, n, |_| true);
        }
        // Full: the odd ones are kept, room is made, the new entry goes in.
        cache.put(10, 10, |v| v % 2 == 1);
        assert_eq!(cache.get(&1), Some(1));
        assert_eq!(cache.get(&10), Some(10));
        assert_eq!(cache.get(&0), None);
        assert_eq!(cache.get(&2), None);
        // Full and nothing may go: it starts over rather than grow.
        cache.put(11, 11, |_| true);
        cache.put(12, 12, |_| true);
        assert_eq!(cache.get(&12), Some(12));
        assert_eq!((cache.get(&1), cache.get(&10), cache.get(&11)), (None, None, None));
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_stored() {
        let cache = LocalCache::new(10);
        let before = cache.generation();
        // A writer deletes the row after the reader read it from the database...
        cache.remove(&"row");
        // ...so what the reader found must not come back.
        cache.fill(before, "row", "stale", |_| true);
        assert_eq!(cache.get(&"row"), None);

        let before = cache.generation();
        cache.fill(before, "row", "fresh", |_| true);
        assert_eq!(cache.get(&"row"), Some("fresh"));
    }
}
