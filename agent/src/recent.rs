//! The objects this agent wrote last, kept in memory up to a byte budget: readers tailing a
//! partition this agent leads read the batches it just committed from here, without a GET.
//! Objects are immutable once written, so a kept copy is never stale.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::Mutex;

use bytes::Bytes;

/// Recently written objects by key, oldest evicted first.
#[derive(Debug)]
pub struct RecentObjects {
    max_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_key: HashMap<String, Bytes>,
    order: VecDeque<String>,
    bytes: usize,
}

impl RecentObjects {
    /// Keeps up to `max_bytes` of objects; 0 keeps none.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            inner: Mutex::default(),
        }
    }

    /// Keeps `object`, written under `key`, evicting the oldest ones past the budget.
    pub fn insert(&self, key: &str, object: Bytes) {
        if object.len() > self.max_bytes {
            return;
        }
        let mut inner = self.inner.lock().expect("poisoned");
        inner.bytes += object.len();
        if let Some(old) = inner.by_key.insert(key.to_owned(), object) {
            inner.bytes -= old.len();
        } else {
            inner.order.push_back(key.to_owned());
        }
        while inner.bytes > self.max_bytes {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(o) = inner.by_key.remove(&oldest) {
                inner.bytes -= o.len();
            }
        }
    }

    /// The bytes `range` of object `key`, if it is kept and holds them.
    pub fn get(&self, key: &str, range: Range<u64>) -> Option<Bytes> {
        let inner = self.inner.lock().expect("poisoned");
        let object = inner.by_key.get(key)?;
        let (start, end) = (
            usize::try_from(range.start).ok()?,
            usize::try_from(range.end).ok()?,
        );
        (start <= end && end <= object.len()).then(|| object.slice(start..end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_objects_within_the_budget() {
        let r = RecentObjects::new(10);
        r.insert("a", Bytes::from_static(b"0123456"));
        assert_eq!(r.get("a", 2..5).as_deref(), Some(&b"234"[..]));
        assert_eq!(r.get("a", 5..9), None, "past its end");
        r.insert("b", Bytes::from_static(b"abcde"));
        assert_eq!(r.get("a", 0..1), None, "evicted for b");
        assert_eq!(r.get("b", 0..5).as_deref(), Some(&b"abcde"[..]));
        r.insert("huge", Bytes::from(vec![0; 11]));
        assert_eq!(r.get("huge", 0..1), None, "larger than the budget");
        assert!(r.get("b", 0..1).is_some());
        let none = RecentObjects::new(0);
        none.insert("a", Bytes::from_static(b"x"));
        assert_eq!(none.get("a", 0..1), None);
    }
}
