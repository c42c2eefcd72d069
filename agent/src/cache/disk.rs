//! The read cache's disk tier: chunks evicted from memory, one file each, up to a byte
//! budget, least recently used dropped first.
//!
//! It only ever holds copies of chunks that are in the object store, so it is emptied when
//! the agent starts (its index lives in memory), and a file that cannot be read or does not
//! match the checksum taken when it was written is dropped and the chunk read again: a bad
//! disk costs GETs, never wrong data.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::ChunkId;
use crate::metrics::{ReadCacheMetrics, TierLabels};

/// Files of the disk tier end with this; only such files are removed at start.
const SUFFIX: &str = ".chunk";

/// Chunks on local disk.
#[derive(Debug)]
pub struct DiskTier {
    dir: PathBuf,
    max_bytes: u64,
    inner: Mutex<Inner>,
    metrics: ReadCacheMetrics,
}

#[derive(Debug, Default)]
struct Inner {
    files: HashMap<ChunkId, File>,
    lru: BTreeMap<u64, ChunkId>,
    bytes: u64,
    tick: u64,
    next_name: u64,
}

#[derive(Debug, Clone, Copy)]
struct File {
    name: u64,
    len: u64,
    crc: u32,
    tick: u64,
}

impl DiskTier {
    /// A tier in `dir` (created if missing, emptied of earlier chunk files) of up to
    /// `max_bytes`.
    pub fn open(dir: &Path, max_bytes: u64, metrics: ReadCacheMetrics) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.to_string_lossy().ends_with(SUFFIX) {
                std::fs::remove_file(&path)?;
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            max_bytes,
            inner: Mutex::default(),
            metrics,
        })
    }

    fn path(&self, name: u64) -> PathBuf {
        self.dir.join(format!("{name}{SUFFIX}"))
    }

    /// Chunk `id`, if the tier holds it intact.
    pub async fn get(self: &Arc<Self>, id: &ChunkId) -> Option<Bytes> {
        let file = {
            let mut inner = self.inner.lock().expect("poisoned");
            inner.tick += 1;
            let tick = inner.tick;
            let f = inner.files.get_mut(id)?;
            let old = std::mem::replace(&mut f.tick, tick);
            let f = *f;
            inner.lru.remove(&old);
            inner.lru.insert(tick, id.clone());
            f
        };
        let path = self.path(file.name);
        let read = tokio::task::spawn_blocking(move || std::fs::read(path)).await;
        match read {
            Ok(Ok(data)) if data.len() as u64 == file.len && crc32c::crc32c(&data) == file.crc => {
                Some(Bytes::from(data))
            }
            other => {
                tracing::warn!(
                    key = %id.key,
                    chunk = id.index,
                    "dropping an unreadable or damaged chunk from the disk cache: {other:?}",
                );
                self.remove(id, file.name);
                None
            }
        }
    }

    /// Writes chunk `id` in the background, then drops the least recently used chunks past
    /// the budget.
    pub fn put(self: &Arc<Self>, id: ChunkId, data: Bytes) {
        let len = data.len() as u64;
        if len > self.max_bytes {
            return;
        }
        let name = {
            let mut inner = self.inner.lock().expect("poisoned");
            if inner.files.contains_key(&id) {
                return;
            }
            inner.next_name += 1;
            inner.next_name
        };
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let crc = crc32c::crc32c(&data);
            if let Err(e) = std::fs::write(this.path(name), &data) {
                tracing::warn!(
                    "cannot write to the disk cache in {}: {e}",
                    this.dir.display()
                );
                let _ = std::fs::remove_file(this.path(name));
                return;
            }
            let dropped = {
                let mut inner = this.inner.lock().expect("poisoned");
                inner.tick += 1;
                let tick = inner.tick;
                inner.bytes += len;
                inner.lru.insert(tick, id.clone());
                let replaced = inner.files.insert(
                    id,
                    File {
                        name,
                        len,
                        crc,
                        tick,
                    },
                );
                let mut dropped = Vec::new();
                if let Some(old) = replaced {
                    inner.lru.remove(&old.tick);
                    inner.bytes -= old.len;
                    dropped.push(old.name);
                }
                while inner.bytes > this.max_bytes {
                    let Some((_, oldest)) = inner.lru.pop_first() else {
                        break;
                    };
                    if let Some(f) = inner.files.remove(&oldest) {
                        inner.bytes -= f.len;
                        dropped.push(f.name);
                    }
                }
                this.gauge(inner.bytes);
                dropped
            };
            for name in dropped {
                let _ = std::fs::remove_file(this.path(name));
            }
        });
    }

    /// Forgets a chunk whose file is bad.
    fn remove(&self, id: &ChunkId, name: u64) {
        let mut inner = self.inner.lock().expect("poisoned");
        if inner.files.get(id).is_some_and(|f| f.name == name)
            && let Some(f) = inner.files.remove(id)
        {
            inner.lru.remove(&f.tick);
            inner.bytes -= f.len;
            self.gauge(inner.bytes);
        }
        drop(inner);
        let _ = std::fs::remove_file(self.path(name));
    }

    fn gauge(&self, bytes: u64) {
        self.metrics
            .bytes
            .get_or_create(&TierLabels { tier: "disk" })
            .set(bytes as i64);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn id(index: u64) -> ChunkId {
        ChunkId {
            key: Arc::from("k"),
            index,
        }
    }

    async fn settle(t: &DiskTier, files: usize) {
        for _ in 0..200 {
            if t.inner.lock().unwrap().files.len() == files {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the disk tier never held {files} files");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keeps_chunks_within_the_budget_and_drops_damaged_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("7.chunk"), b"left by an earlier run").unwrap();
        std::fs::write(dir.path().join("keep.txt"), b"not ours").unwrap();
        let metrics = ReadCacheMetrics::register(&mut Default::default());
        let t = Arc::new(DiskTier::open(dir.path(), 10, metrics).unwrap());
        assert!(!dir.path().join("7.chunk").exists(), "emptied at start");
        assert!(dir.path().join("keep.txt").exists(), "only chunk files");

        t.put(id(0), Bytes::from_static(b"01234"));
        settle(&t, 1).await;
        assert_eq!(t.get(&id(0)).await.as_deref(), Some(&b"01234"[..]));
        t.put(id(1), Bytes::from_static(b"abcde"));
        settle(&t, 2).await;
        assert!(t.get(&id(0)).await.is_some());
        t.put(id(2), Bytes::from_static(b"vwxyz"));
        // Chunk 1 is the least recently used: chunk 0 was read after it was written.
        for _ in 0..200 {
            if t.inner.lock().unwrap().files.contains_key(&id(2)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(t.get(&id(1)).await.is_none());
        assert!(t.get(&id(0)).await.is_some());

        // A file damaged on disk is dropped, not served.
        let name = t.inner.lock().unwrap().files[&id(2)].name;
        std::fs::write(t.path(name), b"vwxyZ").unwrap();
        assert!(t.get(&id(2)).await.is_none());
        assert!(!t.path(name).exists());
        assert!(t.get(&id(0)).await.is_some());
    }
}
