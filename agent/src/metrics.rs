//! Prometheus metrics, served as text on the agent's metrics address (`/metrics`).
//!
//! Labels are bounded: operations and status codes are fixed sets, and `tenant` and `topic`
//! are bounded by the topics an operator creates; no offsets, keys or agent-generated ids.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::routing::get;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use streamhouse_core::MetadataStore;
use streamhouse_core::metered::{MetadataUsage, ObjectStoreUsage, OpUsage, Operation, Usage};
use tokio::sync::watch;

use crate::ttl_cache::TtlCache;

/// Latency buckets in seconds, dense around the deployment plan's 50 ms read and 100 ms write
/// targets so that p99 against them is resolved.
const LATENCY_BUCKETS: [f64; 14] = [
    0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Object size buckets in bytes: 4 KiB to 64 MiB.
const SIZE_BUCKETS: [f64; 9] = [
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    8_388_608.0,
    16_777_216.0,
    67_108_864.0,
];

/// A gRPC method and the status code it answered with.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    /// `produce` or `fetch`.
    pub rpc: &'static str,
    /// The gRPC status code, such as `OK` or `UNAVAILABLE`.
    pub code: &'static str,
}

/// A topic of a tenant.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabels {
    /// The tenant.
    pub tenant: String,
    /// The topic.
    pub topic: String,
}

/// A metadata-store or object-store operation.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueryLabels {
    /// One of a fixed set: a metadata operation (`MetadataOp`: `commit`, `lookup`,
    /// `partition_offset`, `lease_acquire`, `heartbeat`, ...) or an object-store one
    /// (`ObjectOp`: `put`, `get`, `get_range`, `head`, `delete`, `list`).
    pub op: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// Where a chunk read was answered from.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheResultLabels {
    /// `memory`, `disk` (the cache's tiers), `joined` (another reader's load of the same
    /// chunk), `peer` (the zone's owner of the chunk) or `store` (a GET).
    pub result: &'static str,
}

/// A tier of the read cache.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TierLabels {
    /// `memory` or `disk`.
    pub tier: &'static str,
}

/// The read cache's metrics.
#[derive(Debug, Clone)]
pub struct ReadCacheMetrics {
    /// Chunk reads by where they were answered from.
    pub requests: Family<CacheResultLabels, Counter>,
    /// Bytes held, by tier.
    pub bytes: Family<TierLabels, Gauge>,
    /// Chunks dropped from memory to stay within the budget.
    pub evictions: Counter,
    /// Asks to the zone's owner of a chunk that failed or timed out (the chunk was then read
    /// from the object store).
    pub peer_failures: Counter,
}

impl ReadCacheMetrics {
    /// Registers the read cache's metrics with `r`.
    pub(crate) fn register(r: &mut Registry) -> Self {
        let m = Self {
            requests: Family::default(),
            bytes: Family::default(),
            evictions: Counter::default(),
            peer_failures: Counter::default(),
        };
        r.register(
            "read_cache_requests",
            "Chunk reads by where they were answered from: memory, disk, joined (another \
             reader's load), peer (the zone's owner) or store (a GET)",
            m.requests.clone(),
        );
        r.register(
            "read_cache_bytes",
            "Bytes the read cache holds, by tier",
            m.bytes.clone(),
        );
        r.register(
            "read_cache_evictions",
            "Chunks evicted from the read cache's memory",
            m.evictions.clone(),
        );
        r.register(
            "read_cache_peer_failures",
            "Chunk asks to the zone's owner that failed or timed out",
            m.peer_failures.clone(),
        );
        m
    }

    /// Counts `n` chunk reads answered from `result`.
    pub fn answered(&self, result: &'static str, n: u64) {
        self.requests
            .get_or_create(&CacheResultLabels { result })
            .inc_by(n);
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The agent's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Partitions this agent leads now.
    pub lease_count: Gauge,
    /// Partitions this agent took over from another holder (a dead, frozen or departing
    /// agent, or a rebalance).
    pub failover_total: Counter,
    /// Live agents of this agent's group, as its last membership read found them.
    pub cluster_agents: Gauge,
    /// Membership heartbeats that failed (the metadata store was unreachable or slow).
    pub heartbeat_failures: Counter,
    /// Lease renewals (one statement for every lease) that failed.
    pub lease_renewal_failures: Counter,
    /// Produce requests, from arrival to acknowledgement.
    pub write_latency: Histogram,
    /// Fetches, from the moment records are available to the response (long-poll waiting
    /// excluded).
    pub read_latency: Histogram,
    /// Produce and fetch requests by status code.
    pub requests: Family<RpcLabels, Counter>,
    /// Records acknowledged, per topic.
    pub records_in: Family<TopicLabels, Counter>,
    /// Record bytes (key, value, headers) acknowledged, per topic.
    pub bytes_in: Family<TopicLabels, Counter>,
    /// Records served by fetches and subscriptions, per topic.
    pub records_out: Family<TopicLabels, Counter>,
    /// Record bytes served, per topic.
    pub bytes_out: Family<TopicLabels, Counter>,
    /// Size of each object a flush writes.
    pub flush_bytes: Histogram,
    /// Time to upload each object a flush writes.
    pub flush_seconds: Histogram,
    /// The fraction of index lookups answered from the agent's cache.
    pub segment_cache_hit_ratio: Gauge<f64, AtomicU64>,
    /// The shared read cache of object chunks.
    pub read_cache: ReadCacheMetrics,
    /// Authentication and the audit log.
    pub audit: crate::auth::AuditMetrics,
    /// The storage-lifecycle jobs.
    pub jobs: crate::jobs::JobMetrics,
    cache_hits: AtomicU64,
    cache_lookups: AtomicU64,
    /// Per topic, the lag of its furthest-behind consumer group at its last commit.
    pub consumer_lag: Family<TopicLabels, Gauge>,
    /// Each group's last lag, per topic, from which `consumer_lag` takes the largest. Groups
    /// that stop committing age out; at most `LAG_GROUPS` per topic.
    group_lags: Mutex<HashMap<TopicLabels, TtlCache<String, u64>>>,
    /// The (tenant, topic, group)s whose lag was computed in the last `LAG_INTERVAL`.
    lag_computed: Mutex<TtlCache<(String, String, String), ()>>,
}

/// How often a group's lag is recomputed on its commits: each costs a metadata query.
const LAG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a group's lag counts towards its topic's after its last commit.
const LAG_GROUP_TTL: std::time::Duration = std::time::Duration::from_secs(600);
/// Most consumer groups tracked per topic (and lag computations remembered in all).
const LAG_GROUPS: usize = 10_000;

impl Metrics {
    /// Registers every metric, with the object-store counters read from `objects`, the
    /// metadata counters from `metadata`, and the connection pool's figures from `store` at
    /// each scrape; both usages feed their latency histograms.
    pub fn new(
        objects: Arc<ObjectStoreUsage>,
        metadata: Arc<MetadataUsage>,
        store: Arc<dyn MetadataStore>,
    ) -> Self {
        let mut r = Registry::with_prefix("streamhouse");
        let lease_count = Gauge::default();
        r.register(
            "partition_lease_count",
            "Partitions this agent leads",
            lease_count.clone(),
        );
        let failover_total = Counter::default();
        r.register(
            "partition_failover",
            "Partitions this agent took over from another lease holder",
            failover_total.clone(),
        );
        let cluster_agents = Gauge::default();
        r.register(
            "cluster_agents",
            "Live agents of this agent's group, as it last saw them",
            cluster_agents.clone(),
        );
        let heartbeat_failures = Counter::default();
        r.register(
            "cluster_heartbeat_failures",
            "Membership heartbeats that failed",
            heartbeat_failures.clone(),
        );
        let lease_renewal_failures = Counter::default();
        r.register(
            "lease_renewal_failures",
            "Renewals of every held lease (one statement) that failed",
            lease_renewal_failures.clone(),
        );
        let write_latency = latency_histogram();
        r.register(
            "agent_write_latency_seconds",
            "Produce requests from arrival to acknowledgement",
            write_latency.clone(),
        );
        let read_latency = latency_histogram();
        r.register(
            "agent_read_latency_seconds",
            "Fetches from records being available to the response",
            read_latency.clone(),
        );
        let requests = Family::<RpcLabels, Counter>::default();
        r.register(
            "agent_requests",
            "Produce and fetch requests by gRPC status code",
            requests.clone(),
        );
        let records_in = Family::<TopicLabels, Counter>::default();
        r.register(
            "topic_records_in",
            "Records acknowledged",
            records_in.clone(),
        );
        let bytes_in = Family::<TopicLabels, Counter>::default();
        r.register(
            "topic_bytes_in",
            "Record bytes acknowledged",
            bytes_in.clone(),
        );
        let records_out = Family::<TopicLabels, Counter>::default();
        r.register("topic_records_out", "Records served", records_out.clone());
        let bytes_out = Family::<TopicLabels, Counter>::default();
        r.register("topic_bytes_out", "Record bytes served", bytes_out.clone());
        let flush_bytes = Histogram::new(SIZE_BUCKETS);
        r.register(
            "flush_object_bytes",
            "Size of each object written by a flush",
            flush_bytes.clone(),
        );
        let flush_seconds = latency_histogram();
        r.register(
            "flush_upload_seconds",
            "Time to upload each object written by a flush",
            flush_seconds.clone(),
        );
        let segment_cache_hit_ratio = Gauge::<f64, AtomicU64>::default();
        r.register(
            "segment_cache_hit_ratio",
            "Fraction of index lookups answered from the agent's cache",
            segment_cache_hit_ratio.clone(),
        );
        let read_cache = ReadCacheMetrics::register(&mut r);
        let audit = crate::auth::AuditMetrics::register(&mut r);
        let jobs = crate::jobs::JobMetrics::register(&mut r);
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        r.register("build_info", "The agent's version", build);
        let consumer_lag = Family::<TopicLabels, Gauge>::default();
        r.register(
            "consumer_lag_records",
            "Records the topic's furthest-behind consumer group had left to read at its last \
             offset commit",
            consumer_lag.clone(),
        );
        observe_latency(
            &mut r,
            &metadata,
            "metadata_query_duration_seconds",
            "Metadata-store and lease calls by operation",
        );
        observe_latency(
            &mut r,
            &objects,
            "object_store_request_duration_seconds",
            "Object-store calls by operation, retries included",
        );
        r.register_collector(Box::new(UsageCollector {
            usage: objects,
            families: &OBJECT_STORE_FAMILIES,
        }));
        r.register_collector(Box::new(UsageCollector {
            usage: metadata,
            families: &METADATA_FAMILIES,
        }));
        r.register_collector(Box::new(PoolCollector(store)));
        Self {
            registry: r,
            lease_count,
            failover_total,
            cluster_agents,
            heartbeat_failures,
            lease_renewal_failures,
            write_latency,
            read_latency,
            requests,
            records_in,
            bytes_in,
            records_out,
            bytes_out,
            flush_bytes,
            flush_seconds,
            segment_cache_hit_ratio,
            read_cache,
            audit,
            jobs,
            cache_hits: AtomicU64::new(0),
            cache_lookups: AtomicU64::new(0),
            consumer_lag,
            group_lags: Mutex::new(HashMap::new()),
            lag_computed: Mutex::new(TtlCache::new(LAG_INTERVAL, LAG_GROUPS)),
        }
    }

    /// Whether a commit of `group` should recompute its lag (at most every 10 s per group
    /// and topic); marks it computed when it should.
    pub fn lag_due(&self, tenant: &str, topic: &str, group: &str) -> bool {
        let mut computed = self.lag_computed.lock().expect("poisoned");
        let key = (tenant.to_owned(), topic.to_owned(), group.to_owned());
        if computed.get(&key).is_some() {
            return false;
        }
        computed.insert(key, ());
        true
    }

    /// Records a consumer group's lag on a topic as of its latest commit. The exported value
    /// is the largest over the topic's groups, so group names never become labels.
    pub fn consumer_lag(&self, tenant: &str, topic: &str, group: &str, lag: u64) {
        let labels = TopicLabels {
            tenant: tenant.to_owned(),
            topic: topic.to_owned(),
        };
        let mut all = self.group_lags.lock().expect("poisoned");
        let groups = all
            .entry(labels.clone())
            .or_insert_with(|| TtlCache::new(LAG_GROUP_TTL, LAG_GROUPS));
        groups.insert(group.to_owned(), lag);
        let worst = groups.values().copied().max().unwrap_or(0);
        self.consumer_lag
            .get_or_create(&labels)
            .set(i64::try_from(worst).unwrap_or(i64::MAX));
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }

    /// Records whether an index lookup was answered from the cache.
    pub fn index_lookup(&self, hit: bool) {
        let lookups = self.cache_lookups.fetch_add(1, Ordering::Relaxed) + 1;
        let hits = self.cache_hits.fetch_add(u64::from(hit), Ordering::Relaxed) + u64::from(hit);
        self.segment_cache_hit_ratio
            .set(hits as f64 / lookups as f64);
    }

    /// Records a topic's traffic in one direction.
    pub fn traffic(&self, inbound: bool, tenant: &str, topic: &str, records: u64, bytes: u64) {
        let labels = TopicLabels {
            tenant: tenant.to_owned(),
            topic: topic.to_owned(),
        };
        let (r, b) = if inbound {
            (&self.records_in, &self.bytes_in)
        } else {
            (&self.records_out, &self.bytes_out)
        };
        r.get_or_create(&labels).inc_by(records);
        b.get_or_create(&labels).inc_by(bytes);
    }

    /// Records a produce or fetch outcome.
    pub fn request(&self, rpc: &'static str, code: tonic::Code) {
        self.requests
            .get_or_create(&RpcLabels {
                rpc,
                code: code_name(code),
            })
            .inc();
    }
}

/// gRPC status code names as the gRPC spec writes them.
fn code_name(c: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match c {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Registers a latency histogram by operation named `name`, fed by every call `usage` sees.
fn observe_latency<Op: Operation>(r: &mut Registry, usage: &Usage<Op>, name: &str, help: &str) {
    let family = Family::<QueryLabels, Histogram, fn() -> Histogram>::new_with_constructor(
        latency_histogram,
    );
    r.register(name, help, family.clone());
    usage.observe_latency(Box::new(move |op, took| {
        family
            .get_or_create(&QueryLabels { op: op.name() })
            .observe(took.as_secs_f64());
    }));
}

/// One counter family read from a usage: name, help, and the figure it counts.
type UsageFamily = (&'static str, &'static str, fn(&OpUsage) -> f64);

/// Object-store requests, errors, bytes and time, by operation.
const OBJECT_STORE_FAMILIES: [UsageFamily; 4] = [
    ("object_store_requests", "Object-store calls", |u| {
        u.requests as f64
    }),
    (
        "object_store_errors",
        "Object-store calls that failed",
        |u| u.errors as f64,
    ),
    (
        "object_store_bytes",
        "Payload bytes uploaded (put) and downloaded (get, get_range)",
        |u| u.bytes as f64,
    ),
    (
        "object_store_request_seconds",
        "Time spent in object-store calls, retries included",
        |u| u.micros as f64 / 1e6,
    ),
];

/// Metadata calls that failed, by operation (the latency histogram counts them all).
const METADATA_FAMILIES: [UsageFamily; 1] = [(
    "metadata_errors",
    "Metadata-store and lease calls that failed",
    |u| u.errors as f64,
)];

/// Counters of every operation of a usage, read at each scrape.
struct UsageCollector<Op: Operation> {
    usage: Arc<Usage<Op>>,
    families: &'static [UsageFamily],
}

impl<Op: Operation> std::fmt::Debug for UsageCollector<Op> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageCollector")
            .field("usage", &self.usage)
            .finish()
    }
}

impl<Op: Operation> Collector for UsageCollector<Op> {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.usage.snapshot();
        for (name, help, value) in self.families {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (op, u) in &snapshot.0 {
                let labels = [("op", op.name())];
                ConstCounter::new(value(u)).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// The metadata store's connection pool, read at each scrape.
#[derive(Debug)]
struct PoolCollector(Arc<dyn MetadataStore>);

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let usage = self.0.pool_usage();
        for (name, help, value) in [
            (
                "metadata_connections_in_use",
                "Connections of the metadata store's write pool lent out now",
                usage.in_use,
            ),
            (
                "metadata_connections_max",
                "Most connections the metadata store's write pool opens",
                usage.max,
            ),
        ] {
            let gauge = ConstGauge::new(i64::from(value));
            gauge.encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)?;
        }
        Ok(())
    }
}

/// Binds `addr` and serves `GET /metrics` until `stop` flips; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for metrics (agent.metrics_addr)"))?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics.render(),
                )
            }
        }),
    );
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!("metrics server: {e}");
        }
    });
    Ok((bound, task))
}
