//! Reads byte ranges of objects with as few GETs as possible.
//!
//! With the read cache on, a read takes the aligned chunks holding its ranges from the cache;
//! a chunk not cached is read with one GET (the chunks of a large range in parallel), or,
//! when agents of the zone share their caches, asked of the zone's owner of the chunk (chosen
//! by rendezvous hashing on the object key), falling back to a GET if the owner does not
//! answer in time. With the cache off, the ranges of one object that are close together are
//! read with one GET each, split into chunk-sized GETs in parallel.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use streamhouse_core::cluster::chunk_owner;
use streamhouse_core::{ObjectKey, ObjectStore};
use streamhouse_proto::internal::v1::ReadChunkRequest;

use crate::cache::{ChunkCache, ChunkId, LoadError, LoadResult};
use crate::cluster::Cluster;
use crate::metrics::Metrics;

/// Bytes of one object read for a fetch: pieces at their offsets.
#[derive(Debug, Default)]
pub struct ObjectView {
    /// Sorted by offset; they do not overlap.
    pieces: Vec<(u64, Bytes)>,
}

impl ObjectView {
    /// The bytes `range`, if the pieces hold all of them (a slice when one piece does).
    pub fn range(&self, range: Range<u64>) -> Option<Bytes> {
        let i = self.pieces.partition_point(|(at, _)| *at <= range.start);
        let (at, first) = self.pieces.get(i.checked_sub(1)?)?;
        let start = (range.start - at) as usize;
        let len = (range.end - range.start) as usize;
        if start + len <= first.len() {
            return Some(first.slice(start..start + len));
        }
        // The range spans pieces: copy them together.
        let mut out = BytesMut::with_capacity(len);
        let mut next = range.start;
        for (at, piece) in &self.pieces[i - 1..] {
            if *at > next || next >= range.end {
                break;
            }
            let from = (next - at) as usize;
            let take = piece
                .len()
                .saturating_sub(from)
                .min((range.end - next) as usize);
            out.extend_from_slice(&piece[from..from + take]);
            next += take as u64;
        }
        (next == range.end).then(|| out.freeze())
    }
}

/// Reads object ranges through the cache, the zone's owners, or the object store.
#[derive(Debug)]
pub struct ObjectReader {
    objects: Arc<dyn ObjectStore>,
    cache: Arc<ChunkCache>,
    /// Set when the agents of a zone share their caches.
    zone: Option<Arc<Cluster>>,
    peer_timeout: Duration,
    coalesce_gap: u64,
    metrics: Arc<Metrics>,
}

impl ObjectReader {
    /// A reader of `objects` through `cache`, sharing it with the agents of this agent's zone
    /// when `zone` is set.
    pub fn new(
        objects: Arc<dyn ObjectStore>,
        cache: Arc<ChunkCache>,
        zone: Option<Arc<Cluster>>,
        peer_timeout: Duration,
        coalesce_gap: u64,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            objects,
            cache,
            zone,
            peer_timeout,
            coalesce_gap,
            metrics,
        }
    }

    /// The cache, from which the reader drops the chunks of an object that failed its checksum.
    pub fn cache(&self) -> &Arc<ChunkCache> {
        &self.cache
    }

    /// Reads `ranges` (in any order) of object `key`, which is `size` bytes long.
    pub async fn read(
        self: &Arc<Self>,
        key: &str,
        size: u64,
        ranges: &[Range<u64>],
    ) -> Result<ObjectView, LoadError> {
        if !self.cache.enabled() {
            return self.read_ranges(key, ranges).await;
        }
        let key: Arc<str> = Arc::from(key);
        let mut chunks: Vec<u64> = ranges
            .iter()
            .flat_map(|r| self.cache.chunks_of(r))
            .collect();
        chunks.sort_unstable();
        chunks.dedup();
        let loads = chunks.iter().map(|&index| {
            let key = key.clone();
            let id = ChunkId {
                key: key.clone(),
                index,
            };
            let this = self.clone();
            self.cache
                .get_or_load(id, move || this.load_chunk(key, size, index))
        });
        let data = futures::future::try_join_all(loads).await?;
        Ok(ObjectView {
            pieces: chunks
                .iter()
                .map(|&i| self.cache.chunk_range(i, size).start)
                .zip(data)
                .collect(),
        })
    }

    /// Reads a chunk that is not cached: from the zone's owner of it, or the object store.
    async fn load_chunk(
        self: Arc<Self>,
        key: Arc<str>,
        size: u64,
        index: u64,
    ) -> (LoadResult, &'static str) {
        let range = self.cache.chunk_range(index, size);
        if let Some(owner) = self.owner_elsewhere(&key, index) {
            let req = ReadChunkRequest {
                object_key: key.to_string(),
                object_size: size,
                chunk_bytes: self.cache.chunk_bytes(),
                index,
            };
            match self.ask_owner(&owner, req).await {
                Ok(data) if data.len() as u64 == range.end - range.start => {
                    return (Ok(data), "peer");
                }
                Ok(data) => {
                    self.metrics.read_cache.peer_failures.inc();
                    tracing::warn!(%owner, %key, index, len = data.len(), "the zone's owner of a chunk sent the wrong length");
                }
                Err(e) => {
                    self.metrics.read_cache.peer_failures.inc();
                    tracing::debug!(%owner, %key, index, "the zone's owner of a chunk did not serve it: {e}");
                }
            }
        }
        (self.get_range(&key, range).await, "store")
    }

    /// Asks the agent at `addr` for a chunk, waiting at most the peer timeout.
    async fn ask_owner(&self, addr: &str, req: ReadChunkRequest) -> Result<Bytes, String> {
        let cluster = self.zone.as_ref().ok_or("zone sharing is off")?;
        let mut client = cluster.internal_client(addr).map_err(|e| e.to_string())?;
        match tokio::time::timeout(self.peer_timeout, client.read_chunk(req)).await {
            Ok(Ok(resp)) => Ok(resp.into_inner().data),
            Ok(Err(status)) => Err(format!("{}: {}", status.code(), status.message())),
            Err(_) => Err(format!("no answer within {:?}", self.peer_timeout)),
        }
    }

    /// The address of the agent of this agent's zone that reads chunk `index` of `key`, when
    /// it is not this agent and zone sharing is on.
    fn owner_elsewhere(&self, key: &str, index: u64) -> Option<String> {
        let cluster = self.zone.as_ref()?;
        let peers = cluster.peers();
        let owner = chunk_owner(&peers, &cluster.me.zone, key, index)?;
        (owner.holder != cluster.me.holder).then(|| owner.addr.clone())
    }

    /// Serves chunk `index` of `key` to another agent of the zone (the internal service has
    /// checked the request): from the cache, or read from the object store (never from a
    /// third agent). A different chunk size than this agent's (a rolling configuration
    /// change) is served uncached.
    pub async fn serve_chunk(
        self: &Arc<Self>,
        key: &str,
        size: u64,
        chunk_bytes: u64,
        index: u64,
    ) -> Result<Bytes, LoadError> {
        if chunk_bytes != self.cache.chunk_bytes() || !self.cache.enabled() {
            self.metrics.read_cache.answered("store", 1);
            let start = index * chunk_bytes;
            return self
                .get_range(key, start..(start + chunk_bytes).min(size))
                .await;
        }
        let id = ChunkId {
            key: Arc::from(key),
            index,
        };
        let this = self.clone();
        let key = id.key.clone();
        let range = self.cache.chunk_range(index, size);
        self.cache
            .get_or_load(id, move || async move {
                (this.get_range(&key, range).await, "store")
            })
            .await
    }

    /// One ranged GET.
    async fn get_range(&self, key: &str, range: Range<u64>) -> LoadResult {
        let key = ObjectKey::new(key)?;
        Ok(self.objects.get_range(&key, range).await?)
    }

    /// Without the cache: the ranges, merged where they are at most the coalescing gap apart,
    /// split into chunk-sized GETs that run in parallel.
    async fn read_ranges(&self, key: &str, ranges: &[Range<u64>]) -> Result<ObjectView, LoadError> {
        let mut sorted = ranges.to_vec();
        sorted.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<u64>> = Vec::new();
        for r in sorted {
            match merged.last_mut() {
                Some(m) if r.start <= m.end.saturating_add(self.coalesce_gap) => {
                    m.end = m.end.max(r.end);
                }
                _ => merged.push(r),
            }
        }
        let step = self.cache.chunk_bytes();
        let pieces: Vec<Range<u64>> = merged
            .into_iter()
            .flat_map(|m| {
                (m.start..m.end)
                    .step_by(step as usize)
                    .map(move |s| s..(s + step).min(m.end))
            })
            .collect();
        let reads = pieces.iter().map(|r| self.get_range(key, r.clone()));
        let data = futures::future::try_join_all(reads).await?;
        self.metrics
            .read_cache
            .answered("store", pieces.len() as u64);
        Ok(ObjectView {
            pieces: pieces.iter().map(|r| r.start).zip(data).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_slices_one_piece_and_joins_adjacent_ones() {
        let v = ObjectView {
            pieces: vec![
                (0, Bytes::from_static(b"0123")),
                (4, Bytes::from_static(b"4567")),
                (10, Bytes::from_static(b"ab")),
            ],
        };
        assert_eq!(v.range(1..3).as_deref(), Some(&b"12"[..]));
        assert_eq!(v.range(2..6).as_deref(), Some(&b"2345"[..]));
        assert_eq!(v.range(4..8).as_deref(), Some(&b"4567"[..]));
        assert_eq!(v.range(10..12).as_deref(), Some(&b"ab"[..]));
        assert_eq!(v.range(6..11), None, "bytes 8..10 are missing");
        assert_eq!(v.range(11..13), None, "past the last piece");
    }
}
