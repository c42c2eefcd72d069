//! The read cache all consumers of an agent share: aligned chunks of objects (not
//! per-partition copies), in memory up to a byte budget, with an optional disk tier behind it.
//!
//! Objects are immutable once written, so a cached chunk is never stale. Loads are
//! single-flight: however many readers ask for a chunk that is not cached, one load runs
//! (in a task of its own, so it completes and fills the cache even if they all give up) and
//! they all get its result.

pub mod disk;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use streamhouse_core::ObjectStoreError;

use crate::metrics::{ReadCacheMetrics, TierLabels};
use disk::DiskTier;

/// One aligned chunk of an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChunkId {
    /// The object's key.
    pub key: Arc<str>,
    /// Which chunk: it starts at `index * chunk_bytes`.
    pub index: u64,
}

/// A failed load, shared by every reader that waited for it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(pub Arc<ObjectStoreError>);

impl From<ObjectStoreError> for LoadError {
    fn from(e: ObjectStoreError) -> Self {
        LoadError(Arc::new(e))
    }
}

/// A chunk's bytes, or why it could not be read.
pub type LoadResult = Result<Bytes, LoadError>;

type Loading = Shared<BoxFuture<'static, LoadResult>>;

/// The shared read cache.
#[derive(Debug)]
pub struct ChunkCache {
    chunk_bytes: u64,
    max_bytes: usize,
    inner: Mutex<Inner>,
    disk: Option<Arc<DiskTier>>,
    metrics: ReadCacheMetrics,
}

#[derive(Debug, Default)]
struct Inner {
    ready: HashMap<ChunkId, Ready>,
    /// Ready chunks by last use, oldest first.
    lru: BTreeMap<u64, ChunkId>,
    loading: HashMap<ChunkId, Loading>,
    bytes: usize,
    tick: u64,
}

#[derive(Debug)]
struct Ready {
    data: Bytes,
    tick: u64,
}

impl Inner {
    /// A ready chunk, marked as just used.
    fn touch(&mut self, id: &ChunkId) -> Option<Bytes> {
        self.tick += 1;
        let tick = self.tick;
        let r = self.ready.get_mut(id)?;
        self.lru.remove(&r.tick);
        r.tick = tick;
        self.lru.insert(tick, id.clone());
        Some(r.data.clone())
    }

    /// Adds a chunk; returns the chunks evicted to stay within `max_bytes`.
    fn insert(&mut self, id: ChunkId, data: Bytes, max_bytes: usize) -> Vec<(ChunkId, Bytes)> {
        if data.len() > max_bytes {
            return Vec::new();
        }
        self.tick += 1;
        self.bytes += data.len();
        self.lru.insert(self.tick, id.clone());
        let old = self.ready.insert(
            id,
            Ready {
                data,
                tick: self.tick,
            },
        );
        if let Some(old) = old {
            self.lru.remove(&old.tick);
            self.bytes -= old.data.len();
        }
        let mut evicted = Vec::new();
        while self.bytes > max_bytes {
            let Some((_, oldest)) = self.lru.pop_first() else {
                break;
            };
            if let Some(r) = self.ready.remove(&oldest) {
                self.bytes -= r.data.len();
                evicted.push((oldest, r.data));
            }
        }
        evicted
    }
}

impl ChunkCache {
    /// A cache of `chunk_bytes` chunks taking up to `max_bytes` of memory (0: none), with
    /// `disk` behind it.
    pub fn new(
        chunk_bytes: u64,
        max_bytes: usize,
        disk: Option<Arc<DiskTier>>,
        metrics: ReadCacheMetrics,
    ) -> Self {
        Self {
            chunk_bytes,
            max_bytes,
            inner: Mutex::default(),
            disk,
            metrics,
        }
    }

    /// Whether chunks are kept at all.
    pub fn enabled(&self) -> bool {
        self.max_bytes > 0
    }

    /// The size of the chunks.
    pub fn chunk_bytes(&self) -> u64 {
        self.chunk_bytes
    }

    /// The bytes of chunk `index` of an object of `size` bytes.
    pub fn chunk_range(&self, index: u64, size: u64) -> Range<u64> {
        let start = index * self.chunk_bytes;
        start..(start + self.chunk_bytes).min(size)
    }

    /// The chunks holding `range`.
    pub fn chunks_of(&self, range: &Range<u64>) -> Range<u64> {
        range.start / self.chunk_bytes..range.end.div_ceil(self.chunk_bytes)
    }

    /// Chunk `id`, from memory, from a load of it already running, from the disk tier, or
    /// else from `load`, which returns the chunk and where it came from (a metrics label).
    pub async fn get_or_load<F, Fut>(self: &Arc<Self>, id: ChunkId, load: F) -> LoadResult
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = (LoadResult, &'static str)> + Send + 'static,
    {
        let loading = {
            let mut inner = self.inner.lock().expect("poisoned");
            if let Some(data) = inner.touch(&id) {
                self.metrics.answered("memory", 1);
                return Ok(data);
            }
            if let Some(l) = inner.loading.get(&id) {
                self.metrics.answered("joined", 1);
                l.clone()
            } else {
                let this = self.clone();
                let load = load();
                let key = id.clone();
                let task = tokio::spawn(async move {
                    let from_disk = match &this.disk {
                        Some(d) => d.get(&key).await,
                        None => None,
                    };
                    let (result, source) = match from_disk {
                        Some(data) => (Ok(data), "disk"),
                        None => load.await,
                    };
                    this.metrics.answered(source, 1);
                    this.loaded(key, &result);
                    result
                });
                let (this, key) = (self.clone(), id.clone());
                let shared = async move {
                    task.await.unwrap_or_else(|e| {
                        // The task ended without `loaded`: end the load here, or every later
                        // reader would join this failed one.
                        let failed = Err(LoadError::from(ObjectStoreError::other(format!(
                            "a chunk load ended abnormally: {e}"
                        ))));
                        this.loaded(key, &failed);
                        failed
                    })
                }
                .boxed()
                .shared();
                inner.loading.insert(id, shared.clone());
                shared
            }
        };
        loading.await
    }

    /// Ends a load: keeps what it read.
    fn loaded(&self, id: ChunkId, result: &LoadResult) {
        let (evicted, bytes) = {
            let mut inner = self.inner.lock().expect("poisoned");
            inner.loading.remove(&id);
            let evicted = match result {
                Ok(data) if self.enabled() => inner.insert(id, data.clone(), self.max_bytes),
                _ => Vec::new(),
            };
            (evicted, inner.bytes)
        };
        self.evicted(evicted, bytes);
    }

    /// Puts a whole object (one this agent just wrote) in the cache, chunk by chunk; the
    /// chunks share its buffer.
    pub fn insert_object(&self, key: &str, object: &Bytes) {
        if !self.enabled() {
            return;
        }
        let key: Arc<str> = Arc::from(key);
        let size = object.len() as u64;
        let (evicted, bytes) = {
            let mut inner = self.inner.lock().expect("poisoned");
            let mut evicted = Vec::new();
            for index in 0..size.div_ceil(self.chunk_bytes) {
                let r = self.chunk_range(index, size);
                let id = ChunkId {
                    key: key.clone(),
                    index,
                };
                let data = object.slice(r.start as usize..r.end as usize);
                evicted.extend(inner.insert(id, data, self.max_bytes));
            }
            (evicted, inner.bytes)
        };
        self.evicted(evicted, bytes);
    }

    /// Hands chunks evicted from memory to the disk tier, and sets the memory gauge to the
    /// `bytes` now held.
    fn evicted(&self, evicted: Vec<(ChunkId, Bytes)>, bytes: usize) {
        self.metrics.evictions.inc_by(evicted.len() as u64);
        if let Some(d) = &self.disk {
            for (id, data) in evicted {
                d.put(id, data);
            }
        }
        self.metrics
            .bytes
            .get_or_create(&TierLabels { tier: "memory" })
            .set(bytes as i64);
    }

    /// Drops every chunk of object `key` held in memory (one whose batches failed their
    /// checksum, so that the next read fetches it again rather than the damaged copy).
    pub fn invalidate(&self, key: &str) {
        let mut inner = self.inner.lock().expect("poisoned");
        let ids: Vec<ChunkId> = inner
            .ready
            .keys()
            .filter(|id| &*id.key == key)
            .cloned()
            .collect();
        for id in ids {
            if let Some(r) = inner.ready.remove(&id) {
                inner.lru.remove(&r.tick);
                inner.bytes -= r.data.len();
            }
        }
        let bytes = inner.bytes;
        drop(inner);
        self.evicted(Vec::new(), bytes);
    }

    /// Bytes held in memory.
    #[cfg(test)]
    fn memory_bytes(&self) -> usize {
        self.inner.lock().expect("poisoned").bytes
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    fn cache(chunk: u64, max: usize) -> Arc<ChunkCache> {
        let metrics = ReadCacheMetrics::register(&mut Default::default());
        Arc::new(ChunkCache::new(chunk, max, None, metrics))
    }

    fn id(key: &str, index: u64) -> ChunkId {
        ChunkId {
            key: Arc::from(key),
            index,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_readers_of_a_missing_chunk_cause_one_load() {
        let c = cache(4, 100);
        let loads = Arc::new(AtomicUsize::new(0));
        let readers = (0..50).map(|_| {
            let loads = loads.clone();
            let c = c.clone();
            async move {
                c.get_or_load(id("k", 1), move || async move {
                    loads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    (Ok(Bytes::from_static(b"abcd")), "store")
                })
                .await
            }
        });
        for r in futures::future::join_all(readers).await {
            assert_eq!(&r.unwrap()[..], b"abcd");
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        // Now it is cached.
        let again = c
            .get_or_load(id("k", 1), || async {
                panic!("cached chunks are not loaded again")
            })
            .await;
        assert_eq!(&again.unwrap()[..], b"abcd");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_load_fails_its_waiters_and_is_retried_by_the_next_reader() {
        let c = cache(4, 100);
        let failed = c
            .get_or_load(id("k", 0), || async {
                (
                    Err(ObjectStoreError::unavailable("store down").into()),
                    "store",
                )
            })
            .await;
        assert!(failed.unwrap_err().to_string().contains("store down"));
        let ok = c
            .get_or_load(id("k", 0), || async {
                (Ok(Bytes::from_static(b"xy")), "store")
            })
            .await;
        assert_eq!(&ok.unwrap()[..], b"xy");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_load_that_panics_fails_its_readers_and_not_the_next_ones() {
        let c = cache(4, 100);
        let failed = c
            .get_or_load(id("k", 0), || async { panic!("a bug in a loader") })
            .await;
        assert!(failed.unwrap_err().to_string().contains("abnormally"));
        let ok = c
            .get_or_load(id("k", 0), || async {
                (Ok(Bytes::from_static(b"ok")), "store")
            })
            .await;
        assert_eq!(&ok.unwrap()[..], b"ok");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn written_objects_are_cut_into_chunks_and_the_oldest_are_evicted() {
        let c = cache(4, 12);
        c.insert_object("a", &Bytes::from_static(b"0123456789"));
        assert_eq!(c.memory_bytes(), 10);
        assert_eq!(c.chunk_range(2, 10), 8..10);
        assert_eq!(c.chunks_of(&(3..9)), 0..3);
        let second = c
            .get_or_load(id("a", 1), || async { panic!("written chunks are cached") })
            .await;
        assert_eq!(&second.unwrap()[..], b"4567");
        // Four more bytes evict the least recently used chunk: a's first one.
        c.insert_object("b", &Bytes::from_static(b"wxyz"));
        assert!(c.memory_bytes() <= 12);
        let reloaded = Arc::new(AtomicUsize::new(0));
        let r = reloaded.clone();
        c.get_or_load(id("a", 0), move || async move {
            r.fetch_add(1, Ordering::SeqCst);
            (Ok(Bytes::from_static(b"0123")), "store")
        })
        .await
        .unwrap();
        assert_eq!(reloaded.load(Ordering::SeqCst), 1, "evicted, so loaded");
        let off = cache(4, 0);
        off.insert_object("a", &Bytes::from_static(b"0123"));
        assert_eq!(off.memory_bytes(), 0);
    }
}
