//! Rebuilding metadata from the bucket, on every object store: topics (key-compacted and
//! not), their records at the same offsets, high watermarks and consumer groups' offsets come
//! back after the metadata database is lost; a deleted topic does not.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rstest::rstest;
use streamhouse_client::proto::{ConsumedRecord, CreateTopicRequest};
use streamhouse_client::{Client, ProduceRecord};
use streamhouse_tests::{
    AgentProcess, Objects, admin, env_refs, eventually, metric_sum, objects_report, read_log,
};

/// Jobs every 200 ms: compaction of anything 4 batches long, collection after 1 s, and
/// offset snapshots.
const JOBS: &[(&str, &str)] = &[
    ("STREAMHOUSE_COMPACTION__INTERVAL_MS", "200"),
    ("STREAMHOUSE_COMPACTION__MIN_AGE_MS", "0"),
    ("STREAMHOUSE_COMPACTION__MIN_BATCHES", "4"),
    ("STREAMHOUSE_GC__INTERVAL_MS", "200"),
    ("STREAMHOUSE_GC__GRACE_MS", "1000"),
    ("STREAMHOUSE_GC__ORPHAN_SCAN_INTERVAL_MS", "200"),
    ("STREAMHOUSE_GC__SNAPSHOT_INTERVAL_MS", "200"),
];

async fn produce(client: &Client, topic: &str, rounds: u32, keys: u32) {
    for round in 0..rounds {
        let records = (0..keys)
            .map(|k| {
                ProduceRecord::new(format!("{topic} k{k} round {round}"))
                    .with_key(format!("k{k}"))
                    .with_header("round", format!("{round}"))
            })
            .collect();
        client.produce(topic, records).await.unwrap();
    }
}

/// Waits until compaction has had nothing to do for a while and collection is done: the
/// log no longer changes under the reads the test compares.
async fn settle(agent: &AgentProcess, dir: &std::path::Path, env: &[(&str, &str)]) {
    let mut swaps = -1.0;
    let mut since = Instant::now();
    eventually(
        "compaction and collection to settle",
        Duration::from_secs(60),
        async || {
            let now = metric_sum(agent, "streamhouse_compaction_swaps_total", &[]).await;
            if now != swaps {
                swaps = now;
                since = Instant::now();
            }
            let report = objects_report(dir, env);
            since.elapsed() > Duration::from_millis(1500)
                && report["unreferenced"] == 0
                && report["unknown"] == 0
        },
    )
    .await;
}

async fn offsets(client: &Client, group: &str, topic: &str) -> Vec<(u32, u64)> {
    client.fetch_offsets(group, topic).await.unwrap()
}

#[rstest]
#[case::local(Objects::Local)]
#[case::s3(Objects::S3)]
#[case::gcs(Objects::Gcs)]
#[case::azure(Objects::Azure)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_is_rebuilt_from_the_bucket(#[case] objects: Objects) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = objects.env();
    env.extend(JOBS.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let env = env_refs(&env);
    let mut agent = AgentProcess::start(dir.path(), &env).await;
    let client = agent.client().await;
    client
        .create_topic("plain", 3, Some(86_400_000), "lz4")
        .await
        .unwrap();
    client
        .create_topic_with(CreateTopicRequest {
            name: "kv".into(),
            partitions: 2,
            compression: "zstd".into(),
            cleanup_policy: "compact".into(),
            delete_retention_ms: Some(600_000),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .create_topic("doomed", 1, None, "none")
        .await
        .unwrap();
    produce(&client, "doomed", 2, 3).await;
    client.delete_topic("doomed").await.unwrap();
    produce(&client, "plain", 30, 5).await;
    produce(&client, "kv", 9, 8).await;
    let (_, parts) = client.describe_topic("plain").await.unwrap();
    let g1: Vec<(u32, u64)> = parts
        .iter()
        .map(|p| (p.partition, p.high_watermark / 2))
        .collect();
    client.commit_offsets("g1", "plain", &g1).await.unwrap();
    let (_, kv_parts) = client.describe_topic("kv").await.unwrap();
    let g2 = vec![(0, kv_parts[0].high_watermark), (1, 1)];
    client.commit_offsets("g2", "kv", &g2).await.unwrap();
    settle(&agent, dir.path(), &env).await;
    let expected: BTreeMap<&str, BTreeMap<(u32, u64), ConsumedRecord>> = BTreeMap::from([
        ("plain", read_log(&client, "plain").await),
        ("kv", read_log(&client, "kv").await),
    ]);
    let hws: Vec<_> = [
        client.describe_topic("plain").await.unwrap().1,
        client.describe_topic("kv").await.unwrap().1,
    ]
    .concat()
    .iter()
    .map(|p| p.high_watermark)
    .collect();
    assert!(
        expected["kv"].len() < 72,
        "key compaction ran: {} of 72 records left",
        expected["kv"].len()
    );
    // The snapshot job has seen both groups' commits.
    let runs = metric_sum(&agent, "streamhouse_job_runs_total", &["job=\"snapshots\""]).await;
    eventually(
        "an offset snapshot after the commits",
        Duration::from_secs(10),
        async || {
            metric_sum(&agent, "streamhouse_job_runs_total", &["job=\"snapshots\""]).await
                >= runs + 2.0
        },
    )
    .await;

    // The metadata database is lost.
    agent.kill9();
    for f in ["metadata.db", "metadata.db-wal", "metadata.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join("data").join(f));
    }
    let report = admin(dir.path(), &env, &["rebuild-metadata"]);
    assert!(report.contains("topics 2\n"), "{report}");
    assert!(report.contains("gaps 0"), "{report}");
    assert!(report.contains("group_offsets 5\n"), "{report}");

    let agent = AgentProcess::start(dir.path(), &env).await;
    let client = agent.client().await;
    let mut names: Vec<_> = client
        .list_topics()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.partitions, t.cleanup_policy, t.compression))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("kv".into(), 2, "compact".into(), "zstd".into()),
            ("plain".into(), 3, "delete".into(), "lz4".into()),
        ]
    );
    for (topic, records) in &expected {
        assert_eq!(
            &read_log(&client, topic).await,
            records,
            "{topic} reads back the same"
        );
    }
    let rebuilt: Vec<_> = [
        client.describe_topic("plain").await.unwrap().1,
        client.describe_topic("kv").await.unwrap().1,
    ]
    .concat()
    .iter()
    .map(|p| p.high_watermark)
    .collect();
    assert_eq!(rebuilt, hws, "high watermarks");
    assert_eq!(offsets(&client, "g1", "plain").await, g1);
    assert_eq!(offsets(&client, "g2", "kv").await, g2);
    // Producing goes on after the last offsets, and a new topic gets a new id.
    let a = client
        .produce("plain", vec![ProduceRecord::new("after").with_partition(0)])
        .await
        .unwrap();
    assert_eq!(a[0].offset, hws[0]);
    client.create_topic("new", 1, None, "none").await.unwrap();
    client
        .produce("new", vec![ProduceRecord::new("fresh")])
        .await
        .unwrap();
    assert_eq!(read_log(&client, "new").await.len(), 1);
}
