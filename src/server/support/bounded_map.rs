//! A `HashMap` with a capacity, and the one rule that keeps it there: when it is full, an insert
//! first keeps only the entries its caller still wants (e.g. the unexpired ones), then, if that
//! freed nothing, clears the map or (`evicting_oldest`) drops its oldest entries. Clearing is
//! acceptable where every user can rebuild what it drops: a cache miss reads the database again, a
//! forgotten verification is verified again, a forgotten refusal is asked again. A rate window is
//! different: clearing hands every client, the one filling the map included, a fresh window, so
//! rate windows drop the oldest instead. Not synchronized: users wrap it in their own `Mutex` or
//! `RwLock`.

use std::collections::HashMap;
use std::hash::Hash;

/// Whether a full map makes room for an insert that replaces an entry already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    /// Replacing an entry does not grow the map, so it never evicts.
    Free,
    /// Every insert into a full map makes room first, even one that replaces an entry (which
    /// may then be dropped or cleared before the new value goes in).
    MakesRoom,
}

/// What a full map does when `keep` freed no room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenFull {
    /// Start over: everything dropped is rebuilt when next needed.
    Clear,
    /// Drop the oldest entries (by when they were inserted; an insert that replaces an entry
    /// makes it new, a change through `get_mut` or `get_or_insert_with` does not), enough to free
    /// [`EVICTED_SHARE`] of the capacity, so one pass over the map makes room for many inserts.
    EvictOldest,
}

/// The share of the capacity an eviction frees (at least one entry): 1/8.
pub const EVICTED_SHARE: usize = 8;

/// What [`BoundedMap::insert`] did.
#[derive(Debug)]
pub struct Inserted<V> {
    /// The value the key held just before the insert (after any room was made), if any.
    pub previous: Option<V>,
    /// The map was full, `keep` freed nothing, and it was cleared to make room (never with
    /// [`WhenFull::EvictOldest`]).
    pub cleared: bool,
}

#[derive(Debug)]
pub struct BoundedMap<K, V> {
    /// Each value with its insertion stamp (larger is newer).
    entries: HashMap<K, (u64, V)>,
    capacity: usize,
    replacement: Replacement,
    when_full: WhenFull,
    /// The stamp the next insert gets.
    next_stamp: u64,
}

impl<K: Eq + Hash, V> BoundedMap<K, V> {
    /// A map that clears when full and `keep` frees nothing ([`WhenFull::Clear`]).
    pub fn new(capacity: usize, replacement: Replacement) -> Self {
        Self {
            entries: HashMap::new(),
            capacity,
            replacement,
            when_full: WhenFull::Clear,
            next_stamp: 0,
        }
    }

    /// This map, dropping its oldest entries instead of clearing ([`WhenFull::EvictOldest`]).
    pub fn evicting_oldest(mut self) -> Self {
        self.when_full = WhenFull::EvictOldest;
        self
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(_, value)| value)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.entries.get_mut(key).map(|(_, value)| value)
    }

    /// Inserts; when the map is full, first keeps only what `keep` wants, then clears it if still
    /// full. Whether replacing a present key makes room follows the map's [`Replacement`].
    pub fn insert(&mut self, key: K, value: V, keep: impl FnMut(&K, &V) -> bool) -> Inserted<V> {
        let makes_room = match self.replacement {
            Replacement::MakesRoom => true,
            Replacement::Free => !self.entries.contains_key(&key),
        };
        let cleared = makes_room && self.make_room(keep);
        let stamp = self.stamp();
        Inserted {
            previous: self.entries.insert(key, (stamp, value)).map(|(_, previous)| previous),
            cleared,
        }
    }

    /// The entry for `key`, made by `make` if absent; only a new entry makes room (with `keep`,
    /// as [`BoundedMap::insert`] does), whatever the map's [`Replacement`].
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V, keep: impl FnMut(&K, &V) -> bool) -> &mut V {
        if !self.entries.contains_key(&key) {
            self.make_room(keep);
        }
        let stamp = self.stamp();
        &mut self.entries.entry(key).or_insert_with(|| (stamp, make())).1
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.entries.remove(key).map(|(_, value)| value)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain(|key, (_, value)| keep(key, value));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    fn stamp(&mut self) -> u64 {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        stamp
    }

    /// When full: keeps only what `keep` wants, then, if still full, clears or drops the oldest
    /// (the map's [`WhenFull`]). True when it cleared.
    fn make_room(&mut self, mut keep: impl FnMut(&K, &V) -> bool) -> bool {
        if self.entries.len() < self.capacity {
            return false;
        }
        self.entries.retain(|key, (_, value)| keep(key, value));
        if self.entries.len() < self.capacity {
            return false;
        }
        match self.when_full {
            WhenFull::Clear => {
                self.entries.clear();
                true
            }
            WhenFull::EvictOldest => {
                self.evict_oldest();
                false
            }
        }
    }

    /// Drops the oldest entries until [`EVICTED_SHARE`] of the capacity (at least one entry) is free.
    fn evict_oldest(&mut self) {
        let free = (self.capacity / EVICTED_SHARE).max(1);
        let count = (self.entries.len() + free)
            .saturating_sub(self.capacity)
            .min(self.entries.len());
        if count == 0 {
            return;
        }
        // Stamps are unique: exactly `count` entries are at or below the `count`-th smallest.
        let mut stamps: Vec<u64> = self.entries.values().map(|(stamp, _)| *stamp).collect();
        let (_, newest_dropped, _) = stamps.select_nth_unstable(count - 1);
        let newest_dropped = *newest_dropped;
        self.entries.retain(|_, (stamp, _)| *stamp > newest_dropped);
    }
}

#[cfg(test)]
mod tests {
    use super::{BoundedMap, Replacement};

    #[test]
    fn stays_within_capacity() {
        for (replacement, evicting) in [
            (Replacement::Free, false),
            (Replacement::MakesRoom, false),
            (Replacement::Free, true),
            (Replacement::MakesRoom, true),
        ] {
            let mut map = BoundedMap::new(3, replacement);
            if evicting {
                map = map.evicting_oldest();
            }
            for n in 0..100 {
                map.insert(n, n, |_, _| true);
                assert!(map.len() <= 3);
                map.insert(n % 5, n, |_, value| value % 2 == 0);
                assert!(map.len() <= 3);
                *map.get_or_insert_with(n + 1000, || 0, |_, _| true) += 1;
                assert!(map.len() <= 3);
            }
        }
    }

    #[test]
    fn what_keep_wants_survives_when_full() {
        let mut map = BoundedMap::new(3, Replacement::Free);
        for n in 0..3 {
            map.insert(n, n, |_, _| true);
        }
        // Full: the odd ones are kept, room is made, the new entry goes in.
        let inserted = map.insert(10, 10, |_, value| value % 2 == 1);
        assert!(!inserted.cleared);
        assert_eq!(inserted.previous, None);
        assert_eq!(map.get(&1), Some(&1));
        assert_eq!(map.get(&10), Some(&10));
        assert_eq!((map.get(&0), map.get(&2)), (None, None));
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn not_full_keeps_everything() {
        let mut map = BoundedMap::new(3, Replacement::MakesRoom);
        map.insert(0, 0, |_, _| false);
        map.insert(1, 1, |_, _| false);
        let inserted = map.insert(2, 2, |_, _| false);
        assert!(!inserted.cleared);
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn clears_when_nothing_can_be_dropped() {
        let mut map = BoundedMap::new(3, Replacement::Free);
        for n in 0..3 {
            map.insert(n, n, |_, _| true);
        }
        let inserted = map.insert(11, 11, |_, _| true);
        assert!(inserted.cleared);
        assert_eq!(map.len(), 1);
        assert_eq!(map.get(&11), Some(&11));
        assert_eq!((map.get(&0), map.get(&1), map.get(&2)), (None, None, None));
    }

    #[test]
    fn a_free_replacement_does_not_evict() {
        let mut map = BoundedMap::new(3, Replacement::Free);
        for n in 0..3 {
            map.insert(n, n, |_, _| true);
        }
        // Full, and `keep` would drop everything: replacing key 1 must not make room.
        let inserted = map.insert(1, 100, |_, _| false);
        assert!(!inserted.cleared);
        assert_eq!(inserted.previous, Some(1));
        assert_eq!(
            (map.get(&0), map.get(&1), map.get(&2)),
            (Some(&0), Some(&100), Some(&2))
        );
    }

    #[test]
    fn a_replacement_that_makes_room_may_drop_the_replaced_entry() {
        let mut map = BoundedMap::new(3, Replacement::MakesRoom);
        for n in 0..3 {
            map.insert(n, n, |_, _| true);
        }
        // Full: even replacing key 1 makes room first; key 1 is not wanted, so it is gone and
        // the insert finds nothing to replace.
        let inserted = map.insert(1, 100, |key, _| *key == 2);
        assert!(!inserted.cleared);
        assert_eq!(inserted.previous, None);
        assert_eq!((map.get(&0), map.get(&1), map.get(&2)), (None, Some(&100), Some(&2)));

        // Full again and everything wanted: it clears, replaced key included.
        map.insert(3, 3, |_, _| true);
        let inserted = map.insert(2, 200, |_, _| true);
        assert!(inserted.cleared);
        assert_eq!(inserted.previous, None);
        assert_eq!(map.len(), 1);
        assert_eq!(map.get(&2), Some(&200));
    }

    #[test]
    fn get_or_insert_with_makes_room_only_for_a_new_key() {
        let mut map = BoundedMap::new(2, Replacement::MakesRoom);
        *map.get_or_insert_with("a", || 0, |_, _| true) += 1;
        *map.get_or_insert_with("b", || 0, |_, _| true) += 1;
        // Full, and `keep` would drop everything: a present key is returned as it is.
        *map.get_or_insert_with("a", || 0, |_, _| false) += 1;
        assert_eq!((map.get(&"a"), map.get(&"b")), (Some(&2), Some(&1)));
        // A new key makes room: only "a" is wanted.
        *map.get_or_insert_with("c", || 10, |key, _| *key == "a") += 1;
        assert_eq!(
            (map.get(&"a"), map.get(&"b"), map.get(&"c")),
            (Some(&2), None, Some(&11))
        );
        // Full and nothing may go: it starts over.
        *map.get_or_insert_with("d", || 20, |_, _| true) += 1;
        assert_eq!(map.len(), 1);
        assert_eq!(map.get(&"d"), Some(&21));
    }

    #[test]
    fn remove_retain_and_clear() {
        let mut map = BoundedMap::new(10, Replacement::Free);
        for n in 0..5 {
            map.insert(n, n, |_, _| true);
        }
        assert_eq!(map.remove(&0), Some(0));
        assert_eq!(map.remove(&0), None);
        map.retain(|_, value| {
            *value += 1;
            *value % 2 == 0
        });
        assert_eq!((map.get(&1), map.get(&3)), (Some(&2), Some(&4)));
        assert_eq!(map.len(), 2);
        if let Some(value) = map.get_mut(&1) {
            *value = 7;
        }
        assert_eq!(map.get(&1), Some(&7));
        map.clear();
        assert!(map.is_empty());
        assert_eq!(map.capacity(), 10);
    }

    #[test]
    fn evicting_drops_the_oldest_and_keeps_the_rest() {
        // Capacity 16: an eviction frees two places.
        let mut map = BoundedMap::new(16, Replacement::Free).evicting_oldest();
        for n in 0..16 {
            map.insert(n, n, |_, _| true);
        }
        let inserted = map.insert(16, 16, |_, _| true);
        assert!(!inserted.cleared);
        assert_eq!((map.get(&0), map.get(&1)), (None, None));
        assert!((2..=16).all(|n| map.get(&n) == Some(&n)));
        assert_eq!(map.len(), 15);
        // Room was made for two: the next insert drops nothing.
        map.insert(17, 17, |_, _| true);
        assert_eq!(map.len(), 16);
        assert_eq!(map.get(&2), Some(&2));
    }

    #[test]
    fn evicting_still_keeps_what_keep_wants_first() {
        let mut map = BoundedMap::new(4, Replacement::Free).evicting_oldest();
        for n in 0..4 {
            map.insert(n, n, |_, _| true);
        }
        // The odd ones are not wanted: they go, and the old even ones stay.
        map.insert(10, 10, |_, value| value % 2 == 0);
        assert_eq!(
            (map.get(&0), map.get(&2), map.get(&10)),
            (Some(&0), Some(&2), Some(&10))
        );
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn an_insert_that_replaces_makes_the_entry_new_and_a_change_in_place_does_not() {
        let mut map = BoundedMap::new(4, Replacement::Free).evicting_oldest();
        for n in 0..4 {
            map.insert(n, n, |_, _| true);
        }
        map.insert(0, 100, |_, _| true);
        *map.get_or_insert_with(1, || 0, |_, _| true) += 1;
        if let Some(value) = map.get_mut(&2) {
            *value += 1;
        }
        // Capacity 4 frees one place: 1 is now the oldest.
        *map.get_or_insert_with(5, || 5, |_, _| true) += 1;
        assert_eq!(map.get(&1), None);
        assert_eq!(
            (map.get(&0), map.get(&2), map.get(&5)),
            (Some(&100), Some(&3), Some(&6))
        );
        map.insert(6, 6, |_, _| true);
        assert_eq!(map.get(&2), None, "then 2");
        assert_eq!(map.len(), 4);
    }

    #[test]
    fn a_clearing_map_is_unchanged_by_the_stamps() {
        let mut map = BoundedMap::new(2, Replacement::Free);
        map.insert("a", 1, |_, _| true);
        map.insert("b", 2, |_, _| true);
        let inserted = map.insert("c", 3, |_, _| true);
        assert!(inserted.cleared);
        assert_eq!((map.get(&"a"), map.get(&"b"), map.get(&"c")), (None, None, Some(&3)));
    }
}
