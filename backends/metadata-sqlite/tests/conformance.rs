//! The core metadata and lease conformance suites on a fresh SQLite file per test, directly
//! and through the metering wrapper the agent puts around every metadata store.

use std::sync::Arc;
use std::time::Duration;

use streamhouse_core::metered::{MetadataOp, MetadataUsage, MeteredMetadataStore};
use streamhouse_core::registry::MetadataParts;
use streamhouse_core::{LeaseKey, TenantId, TopicName, TopicSpec};
use streamhouse_metadata_sqlite::{SqliteConfig, SqliteMetadataStore};

async fn make() -> (MetadataParts, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SqliteConfig {
        path: dir.path().join("meta.db"),
        ..SqliteConfig::default()
    };
    let store = SqliteMetadataStore::open(&cfg).await.unwrap();
    (MetadataParts::shared(store), dir)
}

streamhouse_core::metadata_conformance!(make());

/// The metering wrapper passes the suites unchanged.
mod metered {
    use super::*;

    async fn make() -> (MetadataParts, tempfile::TempDir) {
        let (parts, dir) = super::make().await;
        let usage = Arc::new(MetadataUsage::default());
        (MeteredMetadataStore::parts(parts, usage), dir)
    }

    streamhouse_core::metadata_conformance!(make());
}

/// Calls and failures are counted per operation, leases included.
#[tokio::test]
async fn metering_counts_calls_and_errors_by_operation() {
    let (parts, _dir) = make().await;
    let usage = Arc::new(MetadataUsage::default());
    let m = MeteredMetadataStore::parts(parts, usage.clone());
    let spec = TopicSpec::new(TenantId::default_tenant(), TopicName::new("t").unwrap(), 2);
    let t = m.store.create_topic(&spec).await.unwrap();
    m.store.create_topic(&spec).await.unwrap_err();
    m.store.partition_offsets(t.id).await.unwrap();
    m.store.partition_offset(t.id, 7).await.unwrap_err();
    let key = LeaseKey {
        tenant: spec.tenant.clone(),
        topic_id: t.id,
        partition: 0,
    };
    let lease = m
        .leases
        .acquire(&key, "a", Duration::from_secs(10))
        .await
        .unwrap();
    m.leases.release(&lease).await.unwrap();
    let got = |op| {
        let u = usage.get(op);
        (u.requests, u.errors)
    };
    assert_eq!(got(MetadataOp::CreateTopic), (2, 1));
    assert_eq!(got(MetadataOp::PartitionOffsets), (1, 0));
    assert_eq!(got(MetadataOp::PartitionOffset), (1, 1));
    assert_eq!(got(MetadataOp::LeaseAcquire), (1, 0));
    assert_eq!(got(MetadataOp::LeaseRelease), (1, 0));
    assert_eq!(got(MetadataOp::Commit), (0, 0));
    assert!(usage.get(MetadataOp::CreateTopic).micros > 0);
}
