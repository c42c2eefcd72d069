//! Configuration: built-in defaults, then a TOML file, then environment variables.
//!
//! Environment variables are `STREAMHOUSE_<SECTION>__<KEY>` (for example
//! `STREAMHOUSE_AGENT__GRPC_ADDR`), plus the names the deployment plan uses: `AGENT_ID`,
//! `AVAILABILITY_ZONE`, `AGENT_GROUP`, `POSTGRES_URL` (when the metadata backend is
//! `postgres` or `aurora`) and `S3_BUCKET` (when the object store is `s3`). Unknown keys are
//! errors that name the key.

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Value};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};

use crate::format::{MAX_PAYLOAD_BYTES, RECORD_OVERHEAD_BYTES};

/// A configuration that could not be loaded, with the key and source at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        // figment reports each error with the key path and the file or variable it came from.
        ConfigError(e.to_string())
    }
}

/// The whole agent configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// This agent.
    pub agent: AgentConfig,
    /// The metadata backend.
    pub metadata: BackendSection,
    /// The object-store backend.
    pub object_store: BackendSection,
    /// Partition leases.
    pub lease: LeaseConfig,
    /// The write path.
    pub write: WriteConfig,
    /// The read path and its cache.
    pub read: ReadConfig,
    /// Retention and object garbage collection.
    pub retention: RetentionConfig,
    /// Logging.
    pub log: LogConfig,
    /// Distributed tracing.
    pub trace: TraceConfig,
    /// Authentication.
    pub auth: AuthConfig,
    /// TLS.
    pub tls: TlsConfig,
    /// Usage metering.
    pub metering: MeteringConfig,
    /// The compaction job.
    pub compaction: CompactionConfig,
    /// Garbage collection of unreferenced and orphaned objects.
    pub gc: GcConfig,
}

/// `[metering]`: usage counted for billing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeteringConfig {
    /// Whether usage is metered. Ingress is then counted in each commit's transaction;
    /// egress and requests in memory. Default true.
    pub enabled: bool,
    /// How often egress and requests counted in memory are written, in ms: at most this
    /// much of them is lost if the agent is killed (a graceful shutdown writes them).
    /// Default 5000.
    pub flush_interval_ms: u64,
    /// How often the agent offers to sample stored bytes for the current hour, in ms; the
    /// first agent to offer in an hour samples for the whole cluster. Default 60000.
    pub storage_check_interval_ms: u64,
}

/// `[trace]`: OpenTelemetry traces, exported over OTLP/gRPC.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceConfig {
    /// OTLP/gRPC endpoint of a collector, such as `http://otel-collector:4317`. Default empty:
    /// no traces are recorded or sent.
    pub otlp_endpoint: String,
    /// Fraction of traces kept, from 0 to 1 (a request's spans are kept or dropped together).
    /// Default 1.
    pub sample_ratio: f64,
}

/// `[agent]`: identity, addresses and limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Agent id, unique in the cluster. Default: the host name.
    pub id: String,
    /// Agent group: the pool that serves a set of tenants. Default `default`.
    pub group: String,
    /// Availability zone, for zone-aware routing. Default empty.
    pub zone: String,
    /// A file holding the availability zone, read when the agent starts if `zone` is empty:
    /// on Kubernetes an init container writes it from the node's
    /// `topology.kubernetes.io/zone` label, which the downward API does not expose. Default
    /// empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub zone_file: String,
    /// gRPC listen address. Default `127.0.0.1:9090`.
    pub grpc_addr: SocketAddr,
    /// URL other agents reach this one at, to forward produces to it, such as
    /// `http://10.0.3.7:9090` (on Kubernetes, from the pod IP). Default: `http://<grpc_addr>`,
    /// or `http://<host name>:<port>` when `grpc_addr` listens on every interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertise_addr: Option<String>,
    /// Address of the Prometheus endpoint (`GET /metrics`). Default `127.0.0.1:9091`.
    pub metrics_addr: SocketAddr,
    /// Largest record (key + value + headers) a produce may carry. Default 1 MiB.
    pub max_record_bytes: usize,
    /// Largest gRPC message the agent accepts or sends. Default 64 MiB.
    pub max_message_bytes: usize,
    /// Most partitions a topic may have. Default 4096.
    pub max_partitions_per_topic: u32,
    /// Most records one produce request may carry. Default 100000: each costs about 200
    /// bytes of memory while it is decoded, whatever its size on the wire.
    pub max_records_per_request: usize,
    /// Most record headers one produce request may carry, over all its records.
    /// Default 400000.
    pub max_headers_per_request: usize,
    /// Most requests the agent serves at once (unary calls and subscriptions opening); more
    /// wait for a slot. Fetches have as many slots of their own, so long-polls never keep
    /// produces out. Default 1000.
    pub max_concurrent_requests: usize,
    /// Most bytes of request messages the agent receives and decodes at once; a request
    /// waits (and HTTP/2 flow control holds its sender back) until its whole message fits.
    /// Default 256 MiB.
    pub max_request_bytes_in_flight: usize,
    /// Most subscriptions the agent streams at once; more are refused with
    /// `RESOURCE_EXHAUSTED`. Default 1000.
    pub max_subscriptions: usize,
    /// Largest message a subscription streams; each holds at most three of them in memory,
    /// so subscriptions cost at most `3 × max_subscriptions × subscribe_buffer_bytes`.
    /// Default 1 MiB.
    pub subscribe_buffer_bytes: usize,
    /// Longest a graceful shutdown (SIGTERM) takes, whatever is down; what is not flushed by
    /// then is not acknowledged. Default 20000, below Kubernetes' 30 s grace period.
    pub shutdown_timeout_ms: u64,
    /// How far in the future a record's timestamp may be, in ms; later ones are refused
    /// (they would keep their object from retention). Default 3600000 (one hour).
    pub max_timestamp_skew_ms: i64,
}

/// `[lease]`: partition leadership.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseConfig {
    /// Lease time-to-live in ms; renewed every third of it. Default 10000: long enough to ride
    /// out a metadata-store hiccup, short enough that a dead agent's partitions move quickly.
    pub ttl_ms: u64,
}

/// `[write]`: batching and flushing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteConfig {
    /// Longest a record waits before its object is written. Default: chosen by the object
    /// store backend (5 ms for `local` and `memory`, where requests cost nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_interval_ms: Option<u64>,
    /// A flush starts early when this many bytes are buffered. Default 8 MiB.
    pub flush_max_bytes: usize,
    /// Produces wait (backpressure) while this many bytes are buffered or in flight.
    /// Default 64 MiB.
    pub max_buffered_bytes: usize,
    /// The latest a flush may commit its object, after naming it: the metadata store refuses
    /// later commits (the producers retry), so that orphan collection can delete objects
    /// older than twice this without racing a slow commit. Must exceed the object store's
    /// put timeout plus the metadata store's statement timeout. Default 60000.
    pub commit_deadline_ms: u64,
}

/// `[read]`: how fetches read objects, and the read cache all consumers of an agent share.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadConfig {
    /// Objects are read in aligned chunks of this size: one GET reads every batch in a chunk,
    /// and the chunks of a large range are read in parallel. Default 8 MiB.
    pub chunk_bytes: usize,
    /// Memory the read cache of object chunks may take. 0 turns the cache off: each fetch
    /// then reads only the byte ranges it needs. Default 256 MiB.
    pub cache_bytes: usize,
    /// Without the cache, ranges of one object at most this far apart are read with one GET
    /// (reading the bytes between costs less than another request). Default 1 MiB.
    pub coalesce_gap_bytes: usize,
    /// Objects this agent writes go into the cache, so tail reads on it cost no GET.
    /// Default true.
    pub cache_written_objects: bool,
    /// A directory for the cache's disk tier, which takes chunks evicted from memory; empty
    /// for none. It only ever holds copies: it is emptied when the agent starts.
    pub disk_cache_dir: String,
    /// Bytes the disk tier may take. Default 0 (no disk tier).
    pub disk_cache_bytes: u64,
    /// The agents of a zone share their caches: each chunk is read from the object store by
    /// one agent of the zone (chosen by rendezvous hashing on the object key), which the
    /// others ask for it. Default true.
    pub zone_cache: bool,
    /// How long an agent waits for the zone's owner of a chunk before reading it from the
    /// object store itself. Default 1000.
    pub peer_timeout_ms: u64,
}

/// `[retention]`: deleting expired records and the objects nothing references.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// How often the agent applies topics' `retention_ms` and `retention_bytes` to the
    /// partitions it leads. Default 60000.
    pub check_interval_ms: u64,
}

/// `[log]`: logging to stdout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `tracing` filter, such as `info` or `streamhouse_agent=debug,info`. Default `info`;
    /// `RUST_LOG` overrides it.
    pub level: String,
    /// `text` (human-readable) or `json` (one object per line). Default `text`.
    pub format: LogFormat,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// A backend section (`[metadata]`, `[object_store]`): `backend` picks the kind, the other
/// keys belong to that backend, which checks them when it is built.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendSection {
    /// Section name, for error messages.
    pub section: String,
    /// The kind, such as `sqlite` or `local`.
    pub backend: String,
    /// The backend's own keys.
    pub options: Dict,
}

impl BackendSection {
    /// A section with no options.
    pub fn new(section: &str, backend: &str) -> Self {
        Self {
            section: section.to_owned(),
            backend: backend.to_owned(),
            options: Dict::new(),
        }
    }

    /// Sets one option (tests and tools build sections in code).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.options.insert(key.to_owned(), value.into());
        self
    }

    /// Parses the options into a backend's config struct; unknown keys are errors naming the
    /// key and the section.
    pub fn options<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        Figment::from(Serialized::defaults(&self.options))
            .extract_lossy()
            .map_err(|e: figment::Error| {
                ConfigError(format!(
                    "[{}] with backend = {:?}: {e}",
                    self.section, self.backend
                ))
            })
    }
}

impl Serialize for BackendSection {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut d = self.options.clone();
        d.insert("backend".into(), Value::from(self.backend.clone()));
        d.serialize(s)
    }
}

impl<'de> Deserialize<'de> for BackendSection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut options = Dict::deserialize(d)?;
        let backend = match options.remove("backend") {
            Some(Value::String(_, s)) => s,
            Some(_) => return Err(D::Error::custom("`backend` must be a string")),
            None => return Err(D::Error::missing_field("backend")),
        };
        Ok(Self {
            section: String::new(),
            backend,
            options,
        })
    }
}

impl AgentConfig {
    /// The availability zone: `zone`, else the contents of `zone_file`, else empty.
    pub fn resolved_zone(&self) -> Result<String, ConfigError> {
        if !self.zone.is_empty() || self.zone_file.is_empty() {
            return Ok(self.zone.clone());
        }
        std::fs::read_to_string(&self.zone_file)
            .map(|z| z.trim().to_owned())
            .map_err(|e| {
                ConfigError(format!(
                    "cannot read agent.zone_file {:?}: {e}",
                    self.zone_file
                ))
            })
    }
    /// The URL to advertise for an agent listening on `bound` (the actual address, which
    /// differs from `grpc_addr` when its port is 0): `https://` when it serves `tls`.
    pub fn advertised_url(&self, bound: SocketAddr, tls: bool) -> String {
        let scheme = if tls { "https" } else { "http" };
        match &self.advertise_addr {
            Some(a) if a.contains("://") => a.clone(),
            Some(a) => format!("{scheme}://{a}"),
            None if bound.ip().is_unspecified() => {
                format!("{scheme}://{}:{}", hostname(), bound.port())
            }
            None => format!("{scheme}://{bound}"),
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "agent".to_owned())
}

impl Default for Config {
    /// The embedded default: SQLite and local disk under `./data`, gRPC on 127.0.0.1:9090.
    fn default() -> Self {
        Self {
            agent: AgentConfig {
                id: hostname(),
                group: "default".into(),
                zone: String::new(),
                zone_file: String::new(),
                grpc_addr: ([127, 0, 0, 1], 9090).into(),
                advertise_addr: None,
                metrics_addr: ([127, 0, 0, 1], 9091).into(),
                max_record_bytes: 1 << 20,
                max_message_bytes: 64 << 20,
                max_partitions_per_topic: 4096,
                max_records_per_request: 100_000,
                max_headers_per_request: 400_000,
                max_concurrent_requests: 1000,
                max_request_bytes_in_flight: 256 << 20,
                max_subscriptions: 1000,
                subscribe_buffer_bytes: 1 << 20,
                max_timestamp_skew_ms: 3_600_000,
                shutdown_timeout_ms: 20_000,
            },
            metadata: BackendSection::new("metadata", "sqlite"),
            object_store: BackendSection::new("object_store", "local"),
            lease: LeaseConfig { ttl_ms: 10_000 },
            write: WriteConfig {
                flush_interval_ms: None,
                flush_max_bytes: 8 << 20,
                max_buffered_bytes: 64 << 20,
                commit_deadline_ms: 60_000,
            },
            read: ReadConfig {
                chunk_bytes: 8 << 20,
                cache_bytes: 256 << 20,
                coalesce_gap_bytes: 1 << 20,
                cache_written_objects: true,
                disk_cache_dir: String::new(),
                disk_cache_bytes: 0,
                zone_cache: true,
                peer_timeout_ms: 1000,
            },
            retention: RetentionConfig {
                check_interval_ms: 60_000,
            },
            log: LogConfig {
                level: "info".into(),
                format: LogFormat::Text,
            },
            trace: TraceConfig {
                otlp_endpoint: String::new(),
                sample_ratio: 1.0,
            },
            auth: AuthConfig::default(),
            tls: TlsConfig {
                reload_interval_ms: 10_000,
                ..TlsConfig::default()
            },
            metering: MeteringConfig {
                enabled: true,
                flush_interval_ms: 5_000,
                storage_check_interval_ms: 60_000,
            },
            compaction: CompactionConfig::default(),
            gc: GcConfig::default(),
        }
    }
}

/// A deployment-plan variable: its name, the dotted key it sets, and the backend selector
/// and kinds it applies to (`None`: always), so that it never breaks another backend's
/// config.
pub type PlanVar = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static [&'static str])>,
);

/// `POSTGRES_URL`, as the deployment plan's manifests pass it to agents and the control
/// plane alike.
pub const POSTGRES_URL_VAR: PlanVar = (
    "POSTGRES_URL",
    "metadata.url",
    Some(("metadata.backend", &["postgres", "aurora"])),
);

const PLAN_VARS: &[PlanVar] = &[
    ("AGENT_ID", "agent.id", None),
    ("AVAILABILITY_ZONE", "agent.zone", None),
    ("AGENT_GROUP", "agent.group", None),
    POSTGRES_URL_VAR,
    (
        "S3_BUCKET",
        "object_store.bucket",
        Some(("object_store.backend", &["s3"])),
    ),
];

/// The sections of the control plane's config: agents leave their environment variables
/// alone (the two binaries may share one environment, as `streamhouse-control-plane dev`
/// does).
pub const CONTROL_PLANE_SECTIONS: &[&str] = &["control_plane", "agents"];

/// The sections only the agent's config has, which the control plane leaves alone.
pub const AGENT_ONLY_SECTIONS: &[&str] = &[
    "agent",
    "object_store",
    "lease",
    "write",
    "read",
    "retention",
    "trace",
    "auth",
    "tls",
    "metering",
    "compaction",
    "gc",
];

/// Loads `defaults`, then `file` (if given), then `STREAMHOUSE_<SECTION>__<KEY>` variables of
/// `env` (but those of the `foreign` sections, another binary's), then the deployment-plan
/// variables `plan_vars` of `env`: the one mechanism of every StreamHouse binary's config.
/// Unknown keys are errors naming the key and its source.
pub fn load_layers<T: Serialize + DeserializeOwned>(
    defaults: &T,
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    plan_vars: &[PlanVar],
    foreign: &[&str],
) -> Result<T, ConfigError> {
    let mut fig = Figment::from(Serialized::defaults(defaults));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError(format!(
                "config file {} does not exist",
                path.display()
            )));
        }
        fig = fig.merge(Toml::file_exact(path));
    }
    let env: Vec<(String, String)> = env.into_iter().collect();
    // figment's Env reads the process environment; feeding it ours keeps tests hermetic.
    fig = fig.merge(EnvVars::new(&env, foreign));
    for (var, key, only_if) in plan_vars {
        let Some((_, v)) = env.iter().find(|(k, _)| k == var) else {
            continue;
        };
        if let Some((sel, kinds)) = only_if {
            let current: String = fig.extract_inner(sel).unwrap_or_default();
            if !kinds.contains(&current.as_str()) {
                continue;
            }
        }
        fig = fig.merge(EnvVars::one(var, key, v));
    }
    // Lossy: environment values are strings, read as numbers or booleans where a key wants
    // one ("7000", "true").
    Ok(fig.extract_lossy()?)
}

impl Config {
    /// Loads defaults, then `file` (if given), then the environment `env` (pass
    /// `std::env::vars()`; tests pass their own).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut cfg: Config = load_layers(
            &Config::default(),
            file,
            env,
            PLAN_VARS,
            CONTROL_PLANE_SECTIONS,
        )?;
        cfg.metadata.section = "metadata".into();
        cfg.object_store.section = "object_store".into();
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError(m));
        if self.agent.id.is_empty() {
            return bad("agent.id must not be empty".into());
        }
        if self.lease.ttl_ms < 1000 {
            return bad(format!(
                "lease.ttl_ms = {} is too short; use at least 1000",
                self.lease.ttl_ms
            ));
        }
        if let Some(ms) = self.write.flush_interval_ms
            && (ms == 0 || ms * 2 > self.lease.ttl_ms)
        {
            return bad(format!(
                "write.flush_interval_ms = {ms} must be above 0 and at most half of lease.ttl_ms"
            ));
        }
        let a = &self.agent;
        // A fetch fills at most half a message and returns at least one record, which can be
        // up to three times its stored size on the wire (protobuf tags of tiny headers).
        if a.max_record_bytes.saturating_mul(6) > a.max_message_bytes {
            return bad(format!(
                "agent.max_record_bytes = {} must be at most a sixth of agent.max_message_bytes \
                 = {}, so that any record fits in a fetch",
                a.max_record_bytes, a.max_message_bytes
            ));
        }
        // What is acknowledged must be readable: one request's records of one partition form
        // one batch, whose payload the object decoder refuses above MAX_PAYLOAD_BYTES. A
        // record takes at most its wire size plus RECORD_OVERHEAD_BYTES in a batch.
        let payload = a.max_message_bytes.saturating_add(
            a.max_records_per_request
                .saturating_mul(RECORD_OVERHEAD_BYTES),
        );
        if payload > MAX_PAYLOAD_BYTES {
            return bad(format!(
                "agent.max_message_bytes = {} with agent.max_records_per_request = {} allows \
                 batches of {payload} bytes, above the {MAX_PAYLOAD_BYTES} bytes the object \
                 format reads back; lower one of them",
                a.max_message_bytes, a.max_records_per_request
            ));
        }
        for (key, v) in [
            ("max_records_per_request", a.max_records_per_request),
            ("max_headers_per_request", a.max_headers_per_request),
            ("max_concurrent_requests", a.max_concurrent_requests),
            ("max_request_bytes_in_flight", a.max_request_bytes_in_flight),
            ("max_subscriptions", a.max_subscriptions),
        ] {
            if v == 0 {
                return bad(format!("agent.{key} must be at least 1"));
            }
        }
        if a.subscribe_buffer_bytes < 1024 || a.subscribe_buffer_bytes > a.max_message_bytes / 2 {
            return bad(format!(
                "agent.subscribe_buffer_bytes = {} must be between 1024 and half of \
                 agent.max_message_bytes",
                a.subscribe_buffer_bytes
            ));
        }
        if a.shutdown_timeout_ms < 1000 {
            return bad("agent.shutdown_timeout_ms must be at least 1000".into());
        }
        if a.max_timestamp_skew_ms < 0 {
            return bad("agent.max_timestamp_skew_ms must not be negative".into());
        }
        let r = &self.read;
        if !(64 << 10..=64 << 20).contains(&r.chunk_bytes) {
            return bad(format!(
                "read.chunk_bytes = {} must be between 64 KiB and 64 MiB",
                r.chunk_bytes
            ));
        }
        if r.disk_cache_bytes > 0 && r.disk_cache_dir.is_empty() {
            return bad("read.disk_cache_bytes needs read.disk_cache_dir".into());
        }
        if r.peer_timeout_ms == 0 {
            return bad("read.peer_timeout_ms must be at least 1".into());
        }
        if self.retention.check_interval_ms < 100 {
            return bad("retention.check_interval_ms must be at least 100".into());
        }
        if self.agent.max_partitions_per_topic == 0 {
            return bad("agent.max_partitions_per_topic must be at least 1".into());
        }
        let m = &self.metering;
        if !(100..=60_000).contains(&m.flush_interval_ms) {
            return bad(format!(
                "metering.flush_interval_ms = {} must be between 100 and 60000",
                m.flush_interval_ms
            ));
        }
        if !(1_000..=3_600_000).contains(&m.storage_check_interval_ms) {
            return bad(format!(
                "metering.storage_check_interval_ms = {} must be between 1000 and 3600000",
                m.storage_check_interval_ms
            ));
        }
        if self.write.commit_deadline_ms < 1000 {
            return bad("write.commit_deadline_ms must be at least 1000".into());
        }
        self.compaction.validate()?;
        self.gc.validate()?;
        self.auth.validate()?;
        self.tls.validate()
    }
}

mod auth;
mod env;
mod lifecycle;
#[cfg(test)]
mod tests;

pub use auth::{AuthConfig, AuthMode, MIN_CLUSTER_SECRET, TlsConfig};
use env::EnvVars;
pub use lifecycle::{CompactionConfig, GcConfig, orphan_grace_ms};
