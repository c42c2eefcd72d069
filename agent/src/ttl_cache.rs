//! A map whose entries expire and whose size is capped: for everything the agent caches by
//! keys a client chooses (tenants, topics, consumer groups), so that no sequence of requests
//! grows the agent's memory without bound.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Entries live for `ttl`; at `capacity`, an insert first drops the expired entries, then
/// the oldest one.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    entries: HashMap<K, (V, Instant)>,
    ttl: Duration,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V> TtlCache<K, V> {
    /// An empty cache.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            ttl,
            capacity: capacity.max(1),
        }
    }

    /// The live value of `key` (or of a borrowed form of it, such as a `&str` for a
    /// `String` key).
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(v, _)| v)
    }

    /// Stores `value` under `key`, fresh from now.
    pub fn insert(&mut self, key: K, value: V) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            let ttl = self.ttl;
            self.entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if self.entries.len() >= self.capacity
                && let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (value, Instant::now()));
    }

    /// Forgets `key`.
    pub fn remove(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// The live values.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries
            .values()
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(v, _)| v)
    }

    /// Entries stored, live or not yet dropped.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_grows_past_its_capacity_and_keeps_the_newest() {
        let mut c = TtlCache::new(Duration::from_secs(60), 100);
        for i in 0..10_000 {
            c.insert(i, i * 2);
        }
        assert_eq!(c.len(), 100);
        assert_eq!(c.get(&9_999), Some(&19_998));
        assert_eq!(c.get(&0), None);
        c.insert(9_999, 1);
        assert_eq!((c.len(), c.get(&9_999)), (100, Some(&1)));
        c.remove(&9_999);
        assert_eq!(c.get(&9_999), None);
    }

    #[test]
    fn entries_expire() {
        let mut c = TtlCache::new(Duration::from_millis(20), 10);
        c.insert("a", 1);
        assert_eq!(c.get(&"a"), Some(&1));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(c.get(&"a"), None);
        assert_eq!(c.values().count(), 0);
        for k in ["b", "c", "d", "e", "f", "g", "h", "i", "j", "k"] {
            c.insert(k, 2);
        }
        // The expired entry made room first.
        assert_eq!(c.len(), 10);
        assert_eq!(c.get(&"b"), Some(&2));
    }
}
