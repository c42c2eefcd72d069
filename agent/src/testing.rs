//! The agent's write side on real parts, for unit tests: the embedded SQLite store in a
//! temporary directory and the in-memory object store, with a running writer.

use std::sync::Arc;
use std::time::Duration;

use streamhouse_core::cluster::AgentInfo;
use streamhouse_core::config::Config;
use streamhouse_core::metered::{
    MetadataUsage, MeteredMetadataStore, MeteredObjectStore, ObjectStoreUsage,
};
use streamhouse_core::registry::{self, MetadataParts};
use streamhouse_core::{ObjectStore, Record, TenantId, TopicInfo, TopicName, TopicSpec};

use crate::cache::ChunkCache;
use crate::cluster::Cluster;
use crate::metrics::Metrics;
use crate::object_reader::ObjectReader;
use crate::partitions::Partitions;
use crate::reader::Reader;
use crate::writer::{Writer, WriterConfig};

/// The harness's read chunks: small, so that reads span several.
pub const CHUNK_BYTES: u64 = 1024;

/// One agent's write side, alone in its cluster.
pub struct Harness {
    pub meta: MetadataParts,
    pub partitions: Arc<Partitions>,
    pub writer: Arc<Writer>,
    pub metrics: Arc<Metrics>,
    pub reader: Reader,
    pub topic: Arc<TopicInfo>,
    /// The object store, counting its calls in `usage`.
    pub objects: Arc<dyn ObjectStore>,
    pub usage: Arc<ObjectStoreUsage>,
    /// The metadata store's calls.
    pub meta_usage: Arc<MetadataUsage>,
    /// The SQLite database the metadata is in.
    pub db_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// A topic of `partitions` partitions; flushes wait up to `flush_interval`.
    pub async fn new(partitions: u32, flush_interval: Duration) -> Self {
        crate::backends::link();
        let dir = tempfile::tempdir().unwrap();
        let env = vec![
            (
                "STREAMHOUSE_METADATA__PATH".to_owned(),
                dir.path().join("meta.db").display().to_string(),
            ),
            (
                "STREAMHOUSE_OBJECT_STORE__BACKEND".to_owned(),
                "memory".to_owned(),
            ),
        ];
        let config = Config::load(None, env).unwrap();
        // Metered as in the agent, so tests can count the store's calls.
        let meta_usage = Arc::new(MetadataUsage::default());
        let meta = MeteredMetadataStore::parts(
            registry::build_metadata(config.metadata).await.unwrap(),
            meta_usage.clone(),
        );
        let usage = Arc::new(ObjectStoreUsage::default());
        let objects: Arc<dyn ObjectStore> = Arc::new(MeteredObjectStore::new(
            registry::build_object_store(config.object_store)
                .await
                .unwrap(),
            usage.clone(),
        ));
        let ttl = Duration::from_secs(10);
        let cluster = Arc::new(Cluster::new(
            meta.store.clone(),
            AgentInfo {
                holder: "test-agent/1".into(),
                agent_id: "test-agent".into(),
                group: "default".into(),
                zone: String::new(),
                addr: "http://127.0.0.1:1".into(),
            },
            ttl,
            crate::auth::ClusterAuth::default(),
            None,
        ));
        let metrics = Arc::new(Metrics::new(
            usage.clone(),
            meta_usage.clone(),
            meta.store.clone(),
        ));
        let parts = Arc::new(Partitions::new(
            meta.store.clone(),
            meta.leases.clone(),
            cluster,
            metrics.clone(),
            ttl,
        ));
        let cache = Arc::new(ChunkCache::new(
            CHUNK_BYTES,
            1 << 20,
            None,
            metrics.read_cache.clone(),
        ));
        let writer = Arc::new(Writer::new(
            WriterConfig {
                flush_interval,
                flush_max_bytes: 8 << 20,
                max_buffered_bytes: 64 << 20,
                meter: true,
                commit_deadline_ms: 60_000,
            },
            meta.store.clone(),
            objects.clone(),
            parts.clone(),
            metrics.clone(),
            Some(cache.clone()),
        ));
        tokio::spawn(writer.clone().run());
        let reader = reader_through(&meta, &objects, &parts, &metrics, cache, 0);
        let topic = Arc::new(
            meta.store
                .create_topic(&TopicSpec::new(
                    TenantId::default_tenant(),
                    TopicName::new("t").unwrap(),
                    partitions,
                ))
                .await
                .unwrap(),
        );
        Self {
            meta,
            partitions: parts,
            writer,
            metrics,
            reader,
            topic,
            objects,
            usage,
            meta_usage,
            db_path: dir.path().join("meta.db"),
            _dir: dir,
        }
    }

    /// A reader of this harness's store with a cache of its own (`cache_bytes` of memory,
    /// 0 for none), which the writer does not fill.
    pub fn cold_reader(&self, cache_bytes: usize, coalesce_gap: u64) -> Reader {
        let cache = Arc::new(ChunkCache::new(
            CHUNK_BYTES,
            cache_bytes,
            None,
            self.metrics.read_cache.clone(),
        ));
        reader_through(
            &self.meta,
            &self.objects,
            &self.partitions,
            &self.metrics,
            cache,
            coalesce_gap,
        )
    }

    /// Range GETs made so far.
    pub fn get_ranges(&self) -> u64 {
        self.usage
            .get(streamhouse_core::metered::ObjectOp::GetRange)
            .requests
    }

    /// Appends `n` records to `partition`; resolves to the first one's offset.
    pub async fn append(&self, partition: u32, n: usize) -> crate::error::AgentResult<u64> {
        self.append_at(partition, n, 1).await
    }

    /// Appends `n` records stamped `timestamp_ms` to `partition`.
    pub async fn append_at(
        &self,
        partition: u32,
        n: usize,
        timestamp_ms: i64,
    ) -> crate::error::AgentResult<u64> {
        let p = self.partitions.get_or_insert(&self.topic, partition);
        let records: Vec<Record> = (0..n)
            .map(|i| Record {
                value: Some(format!("v{i}").into()),
                timestamp_ms,
                ..Record::default()
            })
            .collect();
        self.writer.append(p, records).await
    }
}

/// A reader of `meta`'s index and `objects` through `cache`, alone in its zone.
fn reader_through(
    meta: &MetadataParts,
    objects: &Arc<dyn ObjectStore>,
    partitions: &Arc<Partitions>,
    metrics: &Arc<Metrics>,
    cache: Arc<ChunkCache>,
    coalesce_gap: u64,
) -> Reader {
    let objects = ObjectReader::new(
        objects.clone(),
        cache,
        None,
        Duration::from_secs(1),
        coalesce_gap,
        metrics.clone(),
    );
    Reader::new(
        meta.store.clone(),
        Arc::new(objects),
        partitions.clone(),
        metrics.clone(),
        i64::MAX,
    )
}
