//! Retention removes expired records and their objects; deleted topics' objects go too.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use streamhouse_client::{ClientError, ProduceRecord};
use streamhouse_tests::AgentProcess;
use tonic::Code;

fn object_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("data/objects/tenants/default/objects"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Retention passes and collection every 200 ms, no grace period, and no compaction (whose
/// objects would change the counts).
const FAST: &[(&str, &str)] = &[
    ("STREAMHOUSE_RETENTION__CHECK_INTERVAL_MS", "200"),
    ("STREAMHOUSE_GC__INTERVAL_MS", "200"),
    ("STREAMHOUSE_GC__GRACE_MS", "0"),
    ("STREAMHOUSE_COMPACTION__ENABLED", "false"),
];

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_records_and_their_objects_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), FAST).await;
    let client = agent.client().await;
    client
        .create_topic("logs", 1, Some(60_000), "none")
        .await
        .unwrap();
    client
        .create_topic("forever", 1, None, "none")
        .await
        .unwrap();
    client.create_topic("gone", 1, None, "none").await.unwrap();
    let hour_ago = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 3_600_000;
    let old: Vec<_> = (0..50)
        .map(|i| {
            let mut r = ProduceRecord::new(format!("old {i}"));
            r.timestamp_ms = hour_ago;
            r
        })
        .collect();
    client.produce("logs", old.clone()).await.unwrap();
    client.produce("forever", old).await.unwrap();
    client
        .produce("gone", vec![ProduceRecord::new("bye")])
        .await
        .unwrap();
    client
        .produce(
            "logs",
            (0..10)
                .map(|i| ProduceRecord::new(format!("new {i}")))
                .collect(),
        )
        .await
        .unwrap();
    // One object per flush (counted by the agent: retention may already have removed the
    // expired one's).
    assert_eq!(
        agent.metric("streamhouse_flush_object_bytes_count").await,
        4.0
    );

    eventually(
        "the log start of logs to pass the old records",
        async || client.describe_topic("logs").await.unwrap().1[0].log_start_offset == 50,
    )
    .await;
    match client.fetch("logs", 0, 0, 0, 0).await {
        Err(ClientError::Status(s)) => {
            assert_eq!(s.code(), Code::OutOfRange);
            assert!(s.message().contains("holds offsets 50..60"), "{s:?}");
        }
        other => panic!("expected OUT_OF_RANGE, got {other:?}"),
    }
    let f = client.fetch("logs", 0, 50, 0, 0).await.unwrap();
    assert_eq!(f.records.len(), 10);
    assert_eq!(f.records[0].value.as_deref(), Some(&b"new 0"[..]));
    // A topic without retention keeps everything, whatever the timestamps.
    assert_eq!(
        client
            .fetch("forever", 0, 0, 0, 0)
            .await
            .unwrap()
            .records
            .len(),
        50
    );

    client.delete_topic("gone").await.unwrap();
    eventually(
        "expired and deleted topics' objects to be deleted",
        async || object_files(agent.dir()) == 2,
    )
    .await;
    assert!(agent.log().contains("retention pass"), "{}", agent.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_by_size_keeps_the_newest_bytes_once_altered() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), FAST).await;
    let client = agent.client().await;
    client.create_topic("sized", 1, None, "none").await.unwrap();
    for i in 0..20 {
        client
            .produce(
                "sized",
                vec![ProduceRecord::new(format!("{i:04} {}", "x".repeat(1000)))],
            )
            .await
            .unwrap();
    }
    assert_eq!(object_files(agent.dir()), 20);
    // Without a size limit nothing goes.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        client.describe_topic("sized").await.unwrap().1[0].log_start_offset,
        0
    );

    let t = client
        .alter_topic(streamhouse_client::proto::AlterTopicRequest {
            name: "sized".into(),
            retention_bytes: Some(5_000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(t.retention_bytes, Some(5_000));
    // About four batches of ~1,050 bytes fit in 5,000 bytes: the rest goes, oldest first.
    eventually("retention by size", async || {
        client.describe_topic("sized").await.unwrap().1[0].log_start_offset >= 16
    })
    .await;
    let start = client.describe_topic("sized").await.unwrap().1[0].log_start_offset;
    assert!(
        start < 20,
        "the newest batches stay: the log starts at {start}"
    );
    let f = client.fetch("sized", 0, start, 1 << 20, 0).await.unwrap();
    assert_eq!(f.records.len() as u64, 20 - start);
    eventually("their objects to go", async || {
        object_files(agent.dir()) == (20 - start) as usize
    })
    .await;

    let t = client
        .alter_topic(streamhouse_client::proto::AlterTopicRequest {
            name: "sized".into(),
            retention_bytes: Some(-1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(t.retention_bytes, None);
    match client
        .alter_topic(streamhouse_client::proto::AlterTopicRequest {
            name: "sized".into(),
            retention_ms: Some(0),
            ..Default::default()
        })
        .await
    {
        Err(ClientError::Status(s)) => {
            assert_eq!(s.code(), Code::InvalidArgument);
            assert!(
                s.message().contains("retention_ms must be positive"),
                "{s:?}"
            );
        }
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}
