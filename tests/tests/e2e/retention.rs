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
    let agent = AgentProcess::start(
        dir.path(),
        &[
            ("STREAMHOUSE_RETENTION__CHECK_INTERVAL_MS", "200"),
            ("STREAMHOUSE_GC__INTERVAL_MS", "200"),
            ("STREAMHOUSE_GC__GRACE_MS", "0"),
            ("STREAMHOUSE_COMPACTION__ENABLED", "false"),
        ],
    )
    .await;
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
    assert_eq!(object_files(agent.dir()), 4, "one object per flush");

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
