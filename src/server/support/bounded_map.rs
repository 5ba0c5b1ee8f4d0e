//! A `HashMap` with a capacity, and the one rule that keeps it there: when it is full, an insert
//! first keeps only the entries its caller still wants (e.g. the unexpired ones), then clears the
//! map if that freed nothing. Clearing is acceptable because every user can rebuild what it drops:
//! a cache miss reads the database again, a forgotten verification is verified again, a forgotten
//! refusal or rate window is asked or counted again. Not synchronized: users wrap it in their own
//! `Mutex` or `RwLock`.

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

/// What [`BoundedMap::insert`] did.
#[derive(Debug)]
pub struct Inserted<V> {
    /// The value the key held just before the insert (after any room was made), if any.
    pub previous: Option<V>,
    /// The map was full, `keep` freed nothing, and it was cleared to make room.
    pub cleared: bool,
}

#[derive(Debug)]
pub struct BoundedMap<K, V> {
    entries: HashMap<K, V>,
    capacity: usize,
    replacement: Replacement,
}

impl<K: Eq + Hash, V> BoundedMap<K, V> {
    pub fn new(capacity: usize, replacement: Replacement) -> Self {
        Self {
            entries: HashMap::new(),
            capacity,
            replacement,
        }
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.entries.get_mut(key)
    }

    /// Inserts; when the map is full, first keeps only what `keep` wants, then clears it if still
    /// full. Whether replacing a present key makes room follows the map's [`Replacement`].
    pub fn insert(&mut self, key: K, value: V, keep: impl FnMut(&K, &V) -> bool) -> Inserted<V> {
        let makes_room = match self.replacement {
            Replacement::MakesRoom => true,
            Replacement::Free => !self.entries.contains_key(&key),
        };
        let cleared = makes_room && self.make_room(keep);
        Inserted {
            previous: self.entries.insert(key, value),
            cleared,
        }
    }

    /// The entry for `key`, made by `make` if absent; only a new entry makes room (with `keep`,
    /// as [`BoundedMap::insert`] does), whatever the map's [`Replacement`].
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V, keep: impl FnMut(&K, &V) -> bool) -> &mut V {
        if !self.entries.contains_key(&key) {
            self.make_room(keep);
        }
        self.entries.entry(key).or_insert_with(make)
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.entries.remove(key)
    }

    pub fn retain(&mut self, keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain(keep);
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

    /// When full: keeps only what `keep` wants, then clears if still full. True when it cleared.
    fn make_room(&mut self, mut keep: impl FnMut(&K, &V) -> bool) -> bool {
        if self.entries.len() < self.capacity {
            return false;
        }
        self.entries.retain(|key, value| keep(key, value));
        if self.entries.len() >= self.capacity {
            self.entries.clear();
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::{BoundedMap, Replacement};

    #[test]
    fn stays_within_capacity() {
        for replacement in [Replacement::Free, Replacement::MakesRoom] {
            let mut map = BoundedMap::new(3, replacement);
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
}
