//! Wrappers that count and time every call to a store, by operation: object-store requests
//! are what a deployment pays its cloud for, and metadata queries are what bounds its
//! latency. [`MeteredObjectStore`] and [`MeteredMetadataStore`] wrap any backend; their
//! lock-free counters ([`Usage`]) are read at scrape time, and an observer hook feeds a
//! latency histogram. A call made inside a tracing span (a request, a flush) gets a child
//! span named after its operation, such as `object.put` or `metadata.commit`.

mod metadata;
mod object;

pub use metadata::{MetadataOp, MetadataUsage, MeteredMetadataStore};
pub use object::{MeteredObjectStore, ObjectOp, ObjectStoreUsage};

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tracing::Instrument;

/// An operation a metered wrapper counts, one of a fixed set.
pub trait Operation: Copy + Eq + fmt::Debug + Send + Sync + 'static {
    /// Every operation, in a fixed order.
    const ALL: &'static [Self];
    /// The operation's position in [`Operation::ALL`].
    fn index(self) -> usize;
    /// The operation's name in logs and metrics, such as `put` or `commit`.
    fn name(self) -> &'static str;
    /// The name of the span a call gets, such as `object.put` or `metadata.commit`.
    fn span_name(self) -> &'static str;
}

/// Defines an operation enum from one list of `Variant => "name"`, with its
/// [`Operation`] implementation (span names are `<prefix>.<name>`).
macro_rules! operations {
    (
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident ($prefix:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => $name:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $ty {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $crate::metered::Operation for $ty {
            const ALL: &'static [Self] = &[$( Self::$variant, )*];

            fn index(self) -> usize {
                self as usize
            }

            fn name(self) -> &'static str {
                match self {
                    $( Self::$variant => $name, )*
                }
            }

            fn span_name(self) -> &'static str {
                match self {
                    $( Self::$variant => concat!($prefix, ".", $name), )*
                }
            }
        }
    };
}
pub(crate) use operations;

/// Counts of one operation since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpUsage {
    /// Calls made, failed ones included.
    pub requests: u64,
    /// Calls that returned an error.
    pub errors: u64,
    /// Payload bytes moved (object stores: uploaded by puts, downloaded by gets).
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
pub type LatencyObserver<Op> = Box<dyn Fn(Op, Duration) + Send + Sync>;

/// Shared, lock-free counters of every operation of one kind.
pub struct Usage<Op: Operation> {
    ops: Vec<OpCounters>,
    latency: OnceLock<LatencyObserver<Op>>,
    _op: PhantomData<Op>,
}

impl<Op: Operation> Default for Usage<Op> {
    fn default() -> Self {
        Self {
            ops: Op::ALL.iter().map(|_| OpCounters::default()).collect(),
            latency: OnceLock::new(),
            _op: PhantomData,
        }
    }
}

impl<Op: Operation> fmt::Debug for Usage<Op> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Usage")
            .field("ops", &self.snapshot())
            .field("latency_observer", &self.latency.get().is_some())
            .finish()
    }
}

impl<Op: Operation> Usage<Op> {
    /// Passes every call's duration to `observer` from now on; only the first observer set
    /// is kept.
    pub fn observe_latency(&self, observer: LatencyObserver<Op>) {
        let _ = self.latency.set(observer);
    }

    fn record(&self, op: Op, ok: bool, bytes: u64, took: Duration) {
        let c = &self.ops[op.index()];
        c.requests.fetch_add(1, Ordering::Relaxed);
        c.micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if !ok {
            c.errors.fetch_add(1, Ordering::Relaxed);
        }
        c.bytes.fetch_add(bytes, Ordering::Relaxed);
        if let Some(observe) = self.latency.get() {
            observe(op, took);
        }
    }

    /// Runs one call of `op` (on object `key`, if any): inside a span named after it when
    /// the caller is in a span (a request or a flush; background loops make no spans), timed
    /// and counted, with the payload bytes `bytes` says a successful result moved.
    pub(crate) async fn call<T, E>(
        &self,
        op: Op,
        key: Option<&str>,
        bytes: impl FnOnce(&T) -> u64,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let span = if tracing::Span::current().is_none() {
            tracing::Span::none()
        } else {
            tracing::info_span!("store", otel.name = op.span_name(), key)
        };
        let started = Instant::now();
        let result = call.instrument(span).await;
        let moved = result.as_ref().map_or(0, bytes);
        self.record(op, result.is_ok(), moved, started.elapsed());
        result
    }

    /// The counts of one operation.
    pub fn get(&self, op: Op) -> OpUsage {
        let c = &self.ops[op.index()];
        OpUsage {
            requests: c.requests.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            micros: c.micros.load(Ordering::Relaxed),
        }
    }

    /// All counts at one moment.
    pub fn snapshot(&self) -> UsageSnapshot<Op> {
        UsageSnapshot(Op::ALL.iter().map(|op| (*op, self.get(*op))).collect())
    }
}

/// The counts of every operation of one kind, printable as one log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageSnapshot<Op>(pub Vec<(Op, OpUsage)>);

impl<Op: Operation> fmt::Display for UsageSnapshot<Op> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (op, u)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
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
