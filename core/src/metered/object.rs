//! Request counts and bytes by object-store operation: object-store requests are what a
//! StreamHouse deployment pays its cloud for, so the agent counts every one it makes.

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;

use crate::object::{ObjectKey, ObjectMeta, ObjectResult, ObjectStore, PutMode};

/// An object-store operation, as [`MeteredObjectStore`] counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectOp {
    /// [`ObjectStore::put`]: a PUT (a class A operation on most clouds).
    Put,
    /// [`ObjectStore::get`].
    Get,
    /// [`ObjectStore::get_range`].
    GetRange,
    /// [`ObjectStore::head`].
    Head,
    /// [`ObjectStore::delete`].
    Delete,
    /// [`ObjectStore::list`]: one call, which may be several pages.
    List,
}

impl ObjectOp {
    /// Every operation, in a fixed order.
    pub const ALL: [ObjectOp; 6] = [
        ObjectOp::Put,
        ObjectOp::Get,
        ObjectOp::GetRange,
        ObjectOp::Head,
        ObjectOp::Delete,
        ObjectOp::List,
    ];

    /// The operation's name in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            ObjectOp::Put => "put",
            ObjectOp::Get => "get",
            ObjectOp::GetRange => "get_range",
            ObjectOp::Head => "head",
            ObjectOp::Delete => "delete",
            ObjectOp::List => "list",
        }
    }
}

/// Counts of one operation since the agent started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpUsage {
    /// Calls made, failed ones included.
    pub requests: u64,
    /// Calls that returned an error.
    pub errors: u64,
    /// Payload bytes moved: uploaded by puts, downloaded by gets.
    pub bytes: u64,
    /// Time spent in these calls, in microseconds, retries included.
    pub micros: u64,
}

#[derive(Debug, Default)]
struct OpCounters {
    requests: AtomicU64,
    errors: AtomicU64,
    bytes: AtomicU64,
    micros: AtomicU64,
}

/// Receives every call's operation and duration, for a latency histogram.
pub type LatencyObserver = Box<dyn Fn(ObjectOp, Duration) + Send + Sync>;

/// Shared, lock-free counters of every operation.
#[derive(Default)]
pub struct ObjectStoreUsage {
    ops: [OpCounters; 6],
    latency: OnceLock<LatencyObserver>,
}

impl fmt::Debug for ObjectStoreUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreUsage")
            .field("ops", &self.ops)
            .field("latency_observer", &self.latency.get().is_some())
            .finish()
    }
}

impl ObjectStoreUsage {
    /// Passes every call's duration to `observer` from now on; only the first observer set
    /// is kept.
    pub fn observe_latency(&self, observer: LatencyObserver) {
        let _ = self.latency.set(observer);
    }

    fn record(&self, op: ObjectOp, ok: bool, bytes: u64, took: Duration) {
        let c = &self.ops[op as usize];
        c.requests.fetch_add(1, Ordering::Relaxed);
        c.micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if let Some(observe) = self.latency.get() {
            observe(op, took);
        }
        if !ok {
            c.errors.fetch_add(1, Ordering::Relaxed);
        }
        c.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The counts of one operation.
    pub fn get(&self, op: ObjectOp) -> OpUsage {
        let c = &self.ops[op as usize];
        OpUsage {
            requests: c.requests.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            micros: c.micros.load(Ordering::Relaxed),
        }
    }

    /// All counts at one moment.
    pub fn snapshot(&self) -> UsageSnapshot {
        UsageSnapshot(ObjectOp::ALL.map(|op| (op, self.get(op))))
    }
}

/// The counts of every operation, printable as one log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageSnapshot(pub [(ObjectOp, OpUsage); 6]);

impl fmt::Display for UsageSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (op, u) in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(
                f,
                "{}={} errors={} bytes={}",
                op.name(),
                u.requests,
                u.errors,
                u.bytes
            )?;
        }
        Ok(())
    }
}

/// An [`ObjectStore`] that counts the requests and bytes passing through to another.
#[derive(Debug)]
pub struct MeteredObjectStore {
    inner: Arc<dyn ObjectStore>,
    usage: Arc<ObjectStoreUsage>,
}

impl MeteredObjectStore {
    /// Counts `inner`'s traffic into `usage`.
    pub fn new(inner: Arc<dyn ObjectStore>, usage: Arc<ObjectStoreUsage>) -> Self {
        Self { inner, usage }
    }
}

/// Records one call started at `started`: its outcome, its duration and, when it succeeded,
/// the bytes it moved.
fn counted<T>(
    usage: &ObjectStoreUsage,
    op: ObjectOp,
    started: Instant,
    result: ObjectResult<T>,
    bytes: impl FnOnce(&T) -> u64,
) -> ObjectResult<T> {
    let took = started.elapsed();
    match &result {
        Ok(v) => usage.record(op, true, bytes(v), took),
        Err(_) => usage.record(op, false, 0, took),
    }
    result
}

#[async_trait]
impl ObjectStore for MeteredObjectStore {
    async fn put(&self, key: &ObjectKey, data: Bytes, mode: PutMode) -> ObjectResult<()> {
        let len = data.len() as u64;
        let t = Instant::now();
        let r = self.inner.put(key, data, mode).await;
        counted(&self.usage, ObjectOp::Put, t, r, |_| len)
    }

    async fn get(&self, key: &ObjectKey) -> ObjectResult<Bytes> {
        let t = Instant::now();
        let r = self.inner.get(key).await;
        counted(&self.usage, ObjectOp::Get, t, r, |b| b.len() as u64)
    }

    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> ObjectResult<Bytes> {
        let t = Instant::now();
        let r = self.inner.get_range(key, range).await;
        counted(&self.usage, ObjectOp::GetRange, t, r, |b| b.len() as u64)
    }

    async fn head(&self, key: &ObjectKey) -> ObjectResult<ObjectMeta> {
        let t = Instant::now();
        let r = self.inner.head(key).await;
        counted(&self.usage, ObjectOp::Head, t, r, |_| 0)
    }

    async fn delete(&self, key: &ObjectKey) -> ObjectResult<()> {
        let t = Instant::now();
        let r = self.inner.delete(key).await;
        counted(&self.usage, ObjectOp::Delete, t, r, |_| 0)
    }

    async fn list(&self, prefix: Option<&str>) -> ObjectResult<Vec<ObjectMeta>> {
        let t = Instant::now();
        let r = self.inner.list(prefix).await;
        counted(&self.usage, ObjectOp::List, t, r, |_| 0)
    }
}
