//! The StreamHouse agent: a stateless gRPC broker. Records are batched into objects in object
//! storage; topics, the offset index, consumer offsets and partition leases live in the
//! metadata store.
//!
//! [`Agent::start`] builds the backends named in the [`Config`] from the plugin registry and
//! serves `streamhouse.v1` until [`Agent::shutdown`].

pub mod admin;
pub mod admission;
pub mod auth;
pub mod backup;
pub mod broker;
pub mod cache;
pub mod cluster;
pub mod error;
pub mod failpoint;
pub mod grpc;
pub mod internal;
pub mod jobs;
pub mod metering;
pub mod metrics;
pub mod object_reader;
pub mod partitions;
pub mod quota;
pub mod reader;
pub mod redact;
pub mod retention;
pub mod tls;
pub mod topics;
pub mod ttl_cache;
pub mod writer;

pub mod backends;
mod logging;
#[cfg(test)]
mod testing;

pub use logging::init_logging;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use streamhouse_core::ObjectStore;
use streamhouse_core::cluster::AgentInfo;
use streamhouse_core::config::{AuthMode, Config, orphan_grace_ms};
use streamhouse_core::metered::{
    MetadataUsage, MeteredMetadataStore, MeteredObjectStore, ObjectStoreUsage,
};
use streamhouse_core::registry;
use streamhouse_proto::internal::v1::agent_internal_server::AgentInternalServer;
use streamhouse_proto::v1::stream_house_server::StreamHouseServer;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

use crate::admission::{AdmissionLayer, AdmissionLimits, RequestLimits};
use crate::auth::{Audit, Authenticator, ClusterAuth, KeyPolicy};
use crate::backup::{Manifests, Snapshots};
use crate::broker::{Broker, BrokerParts, Limits};
use crate::cache::ChunkCache;
use crate::cache::disk::DiskTier;
use crate::cluster::Cluster;
use crate::grpc::GrpcService;
use crate::internal::InternalService;
use crate::jobs::{Compaction, Gc, Job, Jobs, OrphanScan};
use crate::metering::Meter;
use crate::metrics::Metrics;
use crate::object_reader::ObjectReader;
use crate::partitions::Partitions;
use crate::quota::Quotas;
use crate::reader::Reader;
use crate::retention::Retention;
use crate::tls::ReloadingTls;
use crate::writer::{Writer, WriterConfig};

/// A running agent.
#[derive(Debug)]
pub struct Agent {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    flusher: JoinHandle<()>,
    lease_loop: JoinHandle<()>,
    renewals: JoinHandle<()>,
    retention: JoinHandle<()>,
    usage_log: JoinHandle<()>,
    metrics_server: JoinHandle<()>,
    /// Writes the audit log and the last-used times of keys; reloads TLS files.
    side_tasks: Vec<JoinHandle<()>>,
    writer: Arc<Writer>,
    partitions: Arc<Partitions>,
    cluster: Arc<Cluster>,
    usage: Arc<ObjectStoreUsage>,
    shutdown_timeout: Duration,
}

/// How often the agent logs its object-store usage, when it changed.
const USAGE_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Logs the object-store request counts every [`USAGE_LOG_INTERVAL`] while they change.
async fn log_usage(usage: Arc<ObjectStoreUsage>, mut stop: watch::Receiver<bool>) {
    let mut last = usage.snapshot();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(USAGE_LOG_INTERVAL) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now = usage.snapshot();
        if now != last {
            info!(usage = %now, "object store usage");
            last = now;
        }
    }
}

impl Agent {
    /// Builds the backends and starts serving on `config.agent.grpc_addr`.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        backends::link();
        let metadata_usage = Arc::new(MetadataUsage::default());
        let meta = MeteredMetadataStore::parts(
            registry::build_metadata(config.metadata.clone())
                .await
                .context("metadata store")?,
            metadata_usage.clone(),
        );
        let usage = Arc::new(ObjectStoreUsage::default());
        let objects: Arc<dyn ObjectStore> = Arc::new(MeteredObjectStore::new(
            registry::build_object_store(config.object_store.clone())
                .await
                .context("object store")?,
            usage.clone(),
        ));
        // Time-ordered (UUIDv7: milliseconds, then random bits), so a restarted agent's
        // holder sorts after its previous process's and supersedes it in the membership.
        let instance = uuid::Uuid::now_v7().simple().to_string();
        let holder = format!("{}/{}", config.agent.id, &instance[..20]);
        let ttl = Duration::from_millis(config.lease.ttl_ms);
        let flush_interval_ms = config
            .write
            .flush_interval_ms
            .or_else(|| registry::default_flush_interval_ms(&config.object_store.backend))
            .context("no flush interval: set write.flush_interval_ms")?;
        // Bound first: the address other agents forward to is part of the membership.
        let listener = tokio::net::TcpListener::bind(config.agent.grpc_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.agent.grpc_addr))?;
        let addr = listener.local_addr()?;
        let cluster_secret = config.auth.cluster_secret()?;
        let policy = key_policy(config.auth.mode, addr, cluster_secret.is_some())?;
        let tls = match config.tls.enabled() {
            true => Some(ReloadingTls::load(&config.tls)?),
            false => None,
        };
        let advertised = config.agent.advertised_url(addr, tls.is_some());
        tonic::transport::Endpoint::from_shared(advertised.clone()).map_err(|e| {
            anyhow::anyhow!(
                "agent.advertise_addr {advertised:?} is not a URL other agents can reach ({e}); \
                 use http://host:port"
            )
        })?;
        let cluster = Arc::new(Cluster::new(
            meta.store.clone(),
            AgentInfo {
                holder: holder.clone(),
                agent_id: config.agent.id.clone(),
                group: config.agent.group.clone(),
                zone: config.agent.resolved_zone()?,
                addr: advertised,
            },
            ttl,
            ClusterAuth::new(cluster_secret.as_deref())?,
            tls.clone(),
        ));
        let metrics = Arc::new(Metrics::new(
            usage.clone(),
            metadata_usage,
            meta.store.clone(),
        ));
        let partitions = Arc::new(Partitions::new(
            meta.store.clone(),
            meta.leases.clone(),
            cluster.clone(),
            metrics.clone(),
            ttl,
        ));
        let read = &config.read;
        let disk = match read.disk_cache_bytes {
            0 => None,
            bytes => Some(Arc::new(
                DiskTier::open(
                    std::path::Path::new(&read.disk_cache_dir),
                    bytes,
                    metrics.read_cache.clone(),
                )
                .with_context(|| format!("read.disk_cache_dir {:?}", read.disk_cache_dir))?,
            )),
        };
        let cache = Arc::new(ChunkCache::new(
            read.chunk_bytes as u64,
            read.cache_bytes,
            disk,
            metrics.read_cache.clone(),
        ));
        let object_reader = Arc::new(ObjectReader::new(
            objects.clone(),
            cache.clone(),
            read.zone_cache.then(|| cluster.clone()),
            Duration::from_millis(read.peer_timeout_ms),
            read.coalesce_gap_bytes as u64,
            metrics.clone(),
        ));
        let writer = Arc::new(Writer::new(
            WriterConfig {
                flush_interval: Duration::from_millis(flush_interval_ms),
                flush_max_bytes: config.write.flush_max_bytes,
                max_buffered_bytes: config.write.max_buffered_bytes,
                meter: config.metering.enabled,
                commit_deadline_ms: i64::try_from(config.write.commit_deadline_ms)
                    .unwrap_or(i64::MAX),
            },
            meta.store.clone(),
            objects.clone(),
            partitions.clone(),
            metrics.clone(),
            read.cache_written_objects.then_some(cache),
        ));
        let reader = Arc::new(Reader::new(
            meta.store.clone(),
            object_reader.clone(),
            partitions.clone(),
            metrics.clone(),
            // Compaction replaces only batches older than its `min_age_ms`, by their object's
            // time; half of it is margin for the agents' clocks.
            match config.compaction.enabled {
                true => config.compaction.min_age_ms / 2,
                false => i64::MAX,
            },
        ));
        let retention = Retention::new(
            meta.store.clone(),
            partitions.clone(),
            Duration::from_millis(config.retention.check_interval_ms),
        );
        let commit_deadline_ms = i64::try_from(config.write.commit_deadline_ms).unwrap_or(i64::MAX);
        let mut jobs: Vec<Arc<dyn Job>> = vec![Arc::new(Gc::new(
            meta.store.clone(),
            objects.clone(),
            Duration::from_millis(config.gc.interval_ms),
            config.gc.grace_ms,
            config.gc.collect_orphans.then(|| OrphanScan {
                grace_ms: orphan_grace_ms(config.write.commit_deadline_ms),
                interval: Duration::from_millis(config.gc.orphan_scan_interval_ms),
            }),
            metrics.jobs.clone(),
        ))];
        let manifests = Arc::new(Manifests::default());
        jobs.push(Arc::new(Snapshots::new(
            meta.store.clone(),
            objects.clone(),
            manifests.clone(),
            Duration::from_millis(config.gc.snapshot_interval_ms),
        )));
        if config.compaction.enabled {
            jobs.push(Arc::new(Compaction::new(
                meta.store.clone(),
                objects.clone(),
                config.compaction.clone(),
                commit_deadline_ms,
                metrics.jobs.clone(),
            )));
        }
        let jobs = Arc::new(Jobs::new(
            meta.leases.clone(),
            cluster.clone(),
            holder.clone(),
            ttl,
            jobs,
            metrics.jobs.clone(),
        ));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (metrics_addr, metrics_server) = metrics::serve(
            config.agent.metrics_addr,
            metrics.clone(),
            shutdown_rx.clone(),
        )
        .await?;
        let request_limits = RequestLimits {
            max_records_per_request: config.agent.max_records_per_request,
            max_headers_per_request: config.agent.max_headers_per_request,
        };
        let broker = Broker::new(
            BrokerParts {
                store: meta.store.clone(),
                partitions: partitions.clone(),
                cluster: cluster.clone(),
                writer: writer.clone(),
                reader,
                metrics: metrics.clone(),
                objects: objects.clone(),
                manifests,
            },
            Limits {
                request: request_limits,
                max_record_bytes: config.agent.max_record_bytes,
                max_partitions_per_topic: config.agent.max_partitions_per_topic,
                max_message_bytes: config.agent.max_message_bytes,
                max_timestamp_skew_ms: config.agent.max_timestamp_skew_ms,
                max_subscriptions: config.agent.max_subscriptions,
                subscribe_buffer_bytes: config.agent.subscribe_buffer_bytes,
            },
            shutdown_rx.clone(),
        );
        let audit = Arc::new(Audit::new(&config.agent.id, metrics.audit.clone()));
        let auth = Arc::new(Authenticator::new(
            policy,
            meta.store.clone(),
            Duration::from_millis(config.auth.key_cache_ttl_ms),
            cluster_secret,
            audit.clone(),
        ));
        let mut side_tasks = vec![
            tokio::spawn(audit.run(meta.store.clone(), shutdown_rx.clone())),
            tokio::spawn(auth.clone().run(shutdown_rx.clone())),
        ];
        let quotas = Arc::new(Quotas::new(meta.store.clone(), cluster.clone()));
        side_tasks.push(tokio::spawn(quotas.clone().run(shutdown_rx.clone())));
        let meter = Arc::new(Meter::new(meta.store.clone(), &config.metering));
        side_tasks.push(tokio::spawn(meter.clone().run(shutdown_rx.clone())));
        let service = GrpcService::new(Arc::new(broker), auth.clone(), quotas, meter, metrics);

        let (health_reporter, health) = tonic_health::server::health_reporter();
        health_reporter
            .set_serving::<StreamHouseServer<GrpcService>>()
            .await;
        // Both reflection versions: grpcurl and many tools still ask v1alpha first.
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(streamhouse_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection().build_v1().context("gRPC reflection")?;
        let reflection_v1alpha = reflection().build_v1alpha().context("gRPC reflection")?;
        let max = config.agent.max_message_bytes;
        let api = StreamHouseServer::new(service)
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        // Its answers are chunks, up to `read.chunk_bytes` each.
        let internal = AgentInternalServer::new(InternalService::new(object_reader, auth))
            .max_encoding_message_size(config.read.chunk_bytes + 1024);

        let mut stop = shutdown_rx.clone();
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        let router = tonic::transport::Server::builder()
            // Metadata carries a key, a tenant and trace context: 16 KiB is plenty, and a
            // larger header list is refused before any handler runs.
            .http2_max_header_list_size(Some(16 << 10))
            .layer(AdmissionLayer::new(
                AdmissionLimits {
                    max_concurrent_requests: config.agent.max_concurrent_requests,
                    max_request_bytes_in_flight: config.agent.max_request_bytes_in_flight,
                    max_message_bytes: max,
                    request: request_limits,
                },
                writer.budget(),
                config.write.max_buffered_bytes,
            ))
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(api)
            .add_service(internal);
        // Join the membership and start taking leases before answering anything (the listener
        // is bound, so early connections wait in its backlog): once the health service answers,
        // other agents and clients see this agent, and the first produce rarely waits.
        match partitions.tick().await {
            Ok(work) => partitions.spawn_work(work),
            Err(e) => tracing::warn!("initial lease pass: {e}"),
        }
        let server = match tls {
            Some(tls) => {
                side_tasks.push(tokio::spawn(tls.clone().watch(shutdown_rx.clone())));
                tokio::spawn(
                    router
                        .serve_with_incoming_shutdown(crate::tls::incoming(listener, tls), stopped),
                )
            }
            // Without TCP_NODELAY, Nagle's algorithm and delayed ACKs add ~40 ms to small
            // responses.
            None => tokio::spawn(
                router.serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener)
                        .with_nodelay(Some(true))
                        .with_keepalive(Some(Duration::from_secs(60))),
                    stopped,
                ),
            ),
        };
        let flusher = tokio::spawn(writer.clone().run());
        let retention = tokio::spawn(retention.run(shutdown_rx.clone()));
        side_tasks.push(tokio::spawn(jobs.run(shutdown_rx.clone())));
        let usage_log = tokio::spawn(log_usage(usage.clone(), shutdown_rx.clone()));
        let renewals = tokio::spawn(partitions.clone().run_renewals(shutdown_rx.clone()));
        let lease_loop = tokio::spawn(partitions.clone().run(shutdown_rx));
        info!(%addr, advertised = %cluster.me.addr, %metrics_addr, agent = %holder, flush_interval_ms, group = %config.agent.group, zone = %cluster.me.zone, metadata = %config.metadata.backend, object_store = %config.object_store.backend, "agent serving");
        Ok(Self {
            addr,
            shutdown,
            server,
            flusher,
            lease_loop,
            renewals,
            retention,
            usage_log,
            metrics_server,
            side_tasks,
            writer,
            partitions,
            cluster,
            usage,
            shutdown_timeout: Duration::from_millis(config.agent.shutdown_timeout_ms),
        })
    }

    /// The address the gRPC server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Graceful shutdown: stop taking requests, flush what is buffered, release leases,
    /// all within `agent.shutdown_timeout_ms` whatever is down. What could not be flushed
    /// by then is not acknowledged (its producers get an error and retry elsewhere).
    pub async fn shutdown(self) -> anyhow::Result<()> {
        info!("shutting down: flushing and handing partitions over");
        let deadline = tokio::time::Instant::now() + self.shutdown_timeout;
        // Leave first: the other agents start taking this one's partitions while it flushes,
        // and get each lease the moment it is released below.
        if tokio::time::timeout_at(deadline, self.cluster.leave())
            .await
            .is_err()
        {
            tracing::warn!("leaving the cluster timed out");
        }
        self.writer.close();
        let _ = self.shutdown.send(true);
        if !finish(self.flusher, deadline).await {
            tracing::warn!(
                "shutdown: the buffered records could not be flushed in time; they were not \
                 acknowledged"
            );
        }
        for task in [self.lease_loop, self.renewals, self.retention]
            .into_iter()
            .chain(self.side_tasks)
        {
            finish(task, deadline).await;
        }
        match tokio::time::timeout_at(deadline, self.partitions.release_all()).await {
            Ok(Ok(n)) => info!(leases = n, "released leases"),
            Ok(Err(e)) => tracing::warn!("cannot release leases: {e}; they lapse after their TTL"),
            Err(_) => tracing::warn!("releasing leases timed out; they lapse after their TTL"),
        }
        finish(self.usage_log, deadline).await;
        finish(self.metrics_server, deadline).await;
        let server = tokio::time::timeout_at(deadline, self.server).await;
        info!(usage = %self.usage.snapshot(), "object store usage");
        match server {
            Ok(r) => r.context("gRPC server")??,
            Err(_) => tracing::warn!("requests still running at the shutdown deadline were cut"),
        }
        info!("shut down");
        Ok(())
    }
}

/// How requests without a key are treated on a listener bound to `addr`: development mode is
/// allowed on loopback only, unless `auth.mode = "none"` asks for it on purpose.
fn key_policy(mode: AuthMode, addr: SocketAddr, has_secret: bool) -> anyhow::Result<KeyPolicy> {
    let loopback = addr.ip().is_loopback();
    match mode {
        AuthMode::ApiKey if !has_secret => anyhow::bail!(
            "auth.mode = \"api_key\" needs auth.cluster_secret (or auth.cluster_secret_file), \
             the same on every agent, so that agents can forward to one another: generate one \
             with `openssl rand -hex 32`"
        ),
        AuthMode::ApiKey => Ok(KeyPolicy::Required),
        AuthMode::Auto if loopback => {
            info!(%addr, "development mode: requests without an API key are accepted on this loopback listener");
            Ok(KeyPolicy::Optional)
        }
        AuthMode::Auto => anyhow::bail!(
            "agent.grpc_addr {addr} is reachable from other hosts, and no authentication is \
             configured: set auth.mode = \"api_key\" with auth.cluster_secret (then create \
             keys with `streamhouse-agent tenant create` and `streamhouse-agent key create`), \
             or auth.mode = \"none\" to accept any client on purpose"
        ),
        AuthMode::None => {
            if !loopback {
                tracing::warn!(%addr, "auth.mode = \"none\": any client that reaches this address acts as any tenant");
            }
            Ok(KeyPolicy::Optional)
        }
    }
}

/// Waits for `task` until `deadline`, then aborts it; whether it finished in time.
async fn finish(mut task: JoinHandle<()>, deadline: tokio::time::Instant) -> bool {
    match tokio::time::timeout_at(deadline, &mut task).await {
        Ok(_) => true,
        Err(_) => {
            task.abort();
            false
        }
    }
}
