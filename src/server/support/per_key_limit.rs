//! Counted slots per key (a client address, a person's `sub`): each key holds at most `cap`
//! slots at once, and a slot is given back when it is dropped. A key is kept only while it holds
//! a slot, so there are never more entries than slots held: the map needs no size bound of its
//! own, and nothing is forgotten while it is still counted.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Slots held per key. Shared as an `Arc`: each [`Slot`] holds one to give itself back.
pub struct PerKeyLimit<K> {
    held: Mutex<HashMap<K, usize>>,
}

impl<K: Eq + Hash + Clone> Default for PerKeyLimit<K> {
    fn default() -> Self {
        Self {
            held: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone> PerKeyLimit<K> {
    pub fn new() -> Self {
        Self::default()
    }

    /// One more slot for `key`, unless it already holds `cap` (`None`, and nothing changes; a
    /// `cap` of 0 admits nothing).
    pub fn admit(self: &Arc<Self>, key: K, cap: usize) -> Option<Slot<K>> {
        let mut held = self.lock();
        let count = held.get(&key).copied().unwrap_or(0);
        if count >= cap {
            return None;
        }
        held.insert(key.clone(), count + 1);
        Some(Slot {
            limit: self.clone(),
            key,
        })
    }

    /// The slots `key` holds now.
    pub fn held(&self, key: &K) -> usize {
        self.lock().get(key).copied().unwrap_or(0)
    }

    /// The slots held now, all keys together.
    pub fn total(&self) -> usize {
        self.lock().values().sum()
    }

    /// The keys holding at least one slot now (the map's size).
    pub fn keys(&self) -> usize {
        self.lock().len()
    }

    /// The counts, even if a thread panicked while holding them: each change is one whole
    /// insert or remove, so they are never half-changed.
    fn lock(&self) -> MutexGuard<'_, HashMap<K, usize>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One slot of `key`'s, held until dropped.
pub struct Slot<K: Eq + Hash + Clone> {
    limit: Arc<PerKeyLimit<K>>,
    key: K,
}

impl<K: Eq + Hash + Clone> Slot<K> {
    pub fn key(&self) -> &K {
        &self.key
    }
}

impl<K: Eq + Hash + Clone> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut held = self.limit.lock();
        let left = match held.get_mut(&self.key) {
            Some(count) => {
                *count = count.saturating_sub(1);
                *count
            }
            None => return,
        };
        if left == 0 {
            held.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::PerKeyLimit;

    #[test]
    fn a_key_holds_at_most_its_cap_and_others_are_not_counted_with_it() {
        let limit = Arc::new(PerKeyLimit::new());
        let johns: Vec<_> = (0..2).map(|_| limit.admit("john", 2).unwrap()).collect();
        assert!(limit.admit("john", 2).is_none(), "a third is refused");
        let emily = limit.admit("emily", 2).expect("another key has its own slots");
        assert_eq!((limit.held(&"john"), limit.held(&"emily"), limit.total()), (2, 1, 3));
        assert_eq!(emily.key(), &"emily");
        drop(johns);
        assert_eq!(limit.held(&"john"), 0);
        assert!(limit.admit("john", 2).is_some(), "dropped slots are given back");
    }

    #[test]
    fn a_key_is_forgotten_with_its_last_slot_and_a_refusal_leaves_nothing() {
        let limit = Arc::new(PerKeyLimit::new());
        assert!(limit.admit("192.0.2.1", 0).is_none(), "a cap of 0 admits nothing");
        assert_eq!(limit.keys(), 0, "a refusal adds no entry");
        let first = limit.admit("192.0.2.1", 3).unwrap();
        let second = limit.admit("192.0.2.1", 3).unwrap();
        let other = limit.admit("192.0.2.2", 3).unwrap();
        assert_eq!(limit.keys(), 2);
        drop(first);
        assert_eq!(limit.keys(), 2, "still held once");
        drop((second, other));
        assert_eq!((limit.keys(), limit.total()), (0, 0), "bounded by the slots held");
    }

    #[test]
    fn slots_are_given_back_from_other_threads() {
        let limit = Arc::new(PerKeyLimit::new());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let limit = limit.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        if let Some(slot) = limit.admit(String::from("sub"), 4) {
                            assert!(limit.held(slot.key()) <= 4);
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!((limit.keys(), limit.total()), (0, 0));
    }
}
