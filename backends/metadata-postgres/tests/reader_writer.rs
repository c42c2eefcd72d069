//! Aurora's reader/writer split, observed: the reader endpoint is a second database that
//! never receives writes, standing in for a replica that lags forever. Listings come from
//! it; reads that must see the latest writes go to the writer; an index lookup the replica
//! cannot answer yet falls back to the writer.

use std::time::Duration;

use streamhouse_core::{
    CommitBatch, IndexStore, LeaseKey, LeaseManager, ObjectCommit, TenantId, TopicName, TopicSpec,
    TopicStore,
};
use streamhouse_metadata_postgres::testing::fresh_database;
use streamhouse_metadata_postgres::{PostgresConfig, PostgresMetadataStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_the_reader_and_fall_back_to_the_writer_when_it_lags() {
    let writer_url = fresh_database("STREAMHOUSE_TEST_POSTGRES_URL").await;
    let reader_url = fresh_database("STREAMHOUSE_TEST_POSTGRES_URL").await;
    // Give the "replica" the schema, as a real replica has.
    PostgresMetadataStore::migrate_only(&PostgresConfig {
        url: reader_url.clone(),
        ..PostgresConfig::default()
    })
    .await
    .unwrap();
    let store = PostgresMetadataStore::connect(&PostgresConfig {
        url: writer_url,
        reader_url: Some(reader_url),
        ..PostgresConfig::default()
    })
    .await
    .unwrap();

    let tenant = TenantId::new("acme").unwrap();
    let t = store
        .create_topic(&TopicSpec::new(
            tenant.clone(),
            TopicName::new("orders").unwrap(),
            1,
        ))
        .await
        .unwrap();
    // Listing is a reader query: the lagging replica does not have the topic yet.
    assert!(store.list_topics(Some(&tenant)).await.unwrap().is_empty());
    assert!(store.partition_offsets(t.id).await.unwrap().is_empty());
    // Lookups by name and a leader's offsets must be current: writer queries.
    assert_eq!(
        store.get_topic(&tenant, &t.spec.name).await.unwrap().id,
        t.id
    );
    let key = LeaseKey {
        tenant: tenant.clone(),
        topic_id: t.id,
        partition: 0,
    };
    let lease = store
        .acquire(&key, "agent-a", Duration::from_secs(30))
        .await
        .unwrap();
    store
        .commit_object(&ObjectCommit {
            tenant: tenant.clone(),
            object_key: "o1".into(),
            object_size: 100,
            holder: "agent-a".into(),
            batches: vec![CommitBatch {
                topic_id: t.id,
                partition: 0,
                base_offset: 0,
                record_count: 3,
                position: 0,
                size: 100,
                max_timestamp_ms: 1,
                leader_epoch: lease.epoch,
                ingress_bytes: 30,
            }],
            meter: true,
            deadline_ms: i64::MAX,
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .partition_offset(t.id, 0)
            .await
            .unwrap()
            .high_watermark,
        3
    );
    // The replica has no index rows: the lookup falls back to the writer.
    let entries = store.lookup(t.id, 0, 1, 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].object_key, "o1");
}
