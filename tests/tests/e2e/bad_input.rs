//! Bad input gets a clear gRPC status, the agent keeps serving, and acknowledged data is
//! unharmed. A corrupt object is reported as DATA_LOSS, never served as data.

use std::path::{Path, PathBuf};

use streamhouse_client::{Client, ClientError, ProduceRecord};
use streamhouse_tests::{AgentProcess, bin, health_serving};
use tonic::Code;

fn expect_status<T: std::fmt::Debug>(r: Result<T, ClientError>, code: Code, needle: &str) {
    match r {
        Err(ClientError::Status(s)) => {
            assert_eq!(s.code(), code, "{s:?}");
            assert!(
                s.message().contains(needle),
                "{:?} lacks {needle:?}",
                s.message()
            );
        }
        other => panic!("expected {code:?}, got {other:?}"),
    }
}

/// Runs the CLI against `agent`.
fn cli(agent: &AgentProcess, args: &[&str]) -> std::process::Output {
    std::process::Command::new(bin("streamhouse"))
        .arg("--addr")
        .arg(&agent.url)
        .args(args)
        .output()
        .unwrap()
}

/// The agent still answers health checks and a normal produce + fetch.
async fn still_serving(agent: &AgentProcess, client: &Client) {
    assert!(health_serving(&agent.url).await);
    let acks = client
        .produce("good", vec![ProduceRecord::new("ok")])
        .await
        .unwrap();
    let f = client
        .fetch("good", acks[0].partition, acks[0].offset, 0, 0)
        .await
        .unwrap();
    assert_eq!(f.records[0].value.as_deref(), Some(&b"ok"[..]));
}

fn objects(dir: &Path) -> Vec<PathBuf> {
    let root = dir.join("data/objects/tenants/default/objects");
    let mut v: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_statuses_and_the_agent_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), &[]).await;
    let client = agent.client().await;
    client
        .create_topic("good", 2, Some(3_600_000), "zstd")
        .await
        .unwrap();
    still_serving(&agent, &client).await;

    expect_status(
        client
            .produce("missing", vec![ProduceRecord::new("x")])
            .await,
        Code::NotFound,
        "topic \"missing\" does not exist",
    );
    expect_status(
        client.fetch("missing", 0, 0, 0, 0).await,
        Code::NotFound,
        "does not exist",
    );
    expect_status(
        client.describe_topic("missing").await,
        Code::NotFound,
        "does not exist",
    );
    still_serving(&agent, &client).await;

    expect_status(
        client.create_topic("no spaces", 1, None, "none").await,
        Code::InvalidArgument,
        "contains ' '",
    );
    expect_status(
        client.create_topic(&"x".repeat(250), 1, None, "none").await,
        Code::InvalidArgument,
        "the limit is 249",
    );
    expect_status(
        client.create_topic("many", 100_000, None, "none").await,
        Code::InvalidArgument,
        "1 to 4096 partitions",
    );
    expect_status(
        client.create_topic("none", 0, None, "none").await,
        Code::InvalidArgument,
        "1 to 4096 partitions",
    );
    expect_status(
        client.create_topic("snappy", 1, None, "snappy").await,
        Code::InvalidArgument,
        "unknown compression",
    );
    expect_status(
        client.create_topic("good", 1, None, "none").await,
        Code::AlreadyExists,
        "already exists",
    );
    still_serving(&agent, &client).await;

    // Default record limit: 1 MiB of key + value + headers.
    let big = vec![7u8; (1 << 20) + 1];
    expect_status(
        client
            .produce(
                "good",
                vec![ProduceRecord::new("fine"), ProduceRecord::new(big)],
            )
            .await,
        Code::InvalidArgument,
        "record 1 is",
    );
    expect_status(
        client.produce("good", vec![]).await,
        Code::InvalidArgument,
        "at least one record",
    );
    expect_status(
        client
            .produce("good", vec![ProduceRecord::new("x").with_partition(2)])
            .await,
        Code::NotFound,
        "partition 2 does not exist",
    );
    // Nothing of the rejected request was written: partition 0 and 1 hold only still_serving's.
    let (_, parts) = client.describe_topic("good").await.unwrap();
    assert_eq!(parts.iter().map(|p| p.high_watermark).sum::<u64>(), 3);
    still_serving(&agent, &client).await;

    let (_, parts) = client.describe_topic("good").await.unwrap();
    let hw = parts[0].high_watermark;
    expect_status(
        client.fetch("good", 0, hw + 1, 0, 0).await,
        Code::OutOfRange,
        "outside partition 0",
    );
    expect_status(
        client.fetch("good", 9, 0, 0, 0).await,
        Code::NotFound,
        "partition 9 does not exist",
    );
    // At the high watermark a fetch is empty, not an error.
    assert!(
        client
            .fetch("good", 0, hw, 0, 0)
            .await
            .unwrap()
            .records
            .is_empty()
    );
    expect_status(
        client.commit_offsets("", "good", &[(0, 1)]).await,
        Code::InvalidArgument,
        "group",
    );
    expect_status(
        client.commit_offsets("g", "good", &[(5, 1)]).await,
        Code::NotFound,
        "partition 5 does not exist",
    );
    let bad_tenant = agent.client().await.with_tenant("Not_Valid").unwrap();
    expect_status(
        bad_tenant.list_topics().await,
        Code::InvalidArgument,
        "invalid tenant id",
    );
    still_serving(&agent, &client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_object_is_data_loss_not_data() {
    let dir = tempfile::tempdir().unwrap();
    // Reads from the store: a cached copy of the object would hide the damage.
    let agent = AgentProcess::start(dir.path(), &[("STREAMHOUSE_READ__CACHE_BYTES", "0")]).await;
    let client = agent.client().await;
    client.create_topic("good", 1, None, "none").await.unwrap();
    client
        .create_topic("victim", 1, None, "none")
        .await
        .unwrap();
    still_serving(&agent, &client).await;
    let before = objects(agent.dir());
    let value = "precious ".repeat(100);
    client
        .produce("victim", vec![ProduceRecord::new(value.clone())])
        .await
        .unwrap();
    let after = objects(agent.dir());
    let new: Vec<_> = after.iter().filter(|p| !before.contains(p)).collect();
    assert_eq!(new.len(), 1, "one object per flush");
    assert_eq!(
        client.fetch("victim", 0, 0, 0, 0).await.unwrap().records[0]
            .value
            .as_deref(),
        Some(value.as_bytes())
    );

    // Flip one byte in the middle of the record's value.
    let mut bytes = std::fs::read(new[0]).unwrap();
    let at = bytes.windows(9).position(|w| w == b"precious ").unwrap() + 400;
    bytes[at] ^= 0x20;
    std::fs::write(new[0], bytes).unwrap();

    expect_status(
        client.fetch("victim", 0, 0, 0, 0).await,
        Code::DataLoss,
        "checksum mismatch",
    );
    let mut sub = client.subscribe("victim", 0, 0, 0).await;
    if let Ok(s) = sub.as_mut() {
        use futures::StreamExt;
        let first = s.next().await.expect("an item");
        expect_status(first, Code::DataLoss, "is corrupt");
    } else {
        expect_status(sub.map(|_| ()), Code::DataLoss, "is corrupt");
    }
    // The CLI says how to move a consumer group past the batch, and the operator can.
    client
        .produce("victim", vec![ProduceRecord::new("after")])
        .await
        .unwrap();
    let cli = |args: &[&str]| cli(&agent, args);
    let out = cli(&["consume", "victim", "--group", "g"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("offsets 0..1") && err.contains("streamhouse offsets set g victim 0"),
        "{err}"
    );
    assert!(
        cli(&["offsets", "set", "g", "victim", "0", "1"])
            .status
            .success()
    );
    let out = cli(&["consume", "victim", "--group", "g"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "after\n");
    still_serving(&agent, &client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_far_in_the_future_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), &[]).await;
    let client = agent.client().await;
    client.create_topic("good", 2, None, "none").await.unwrap();
    let now = streamhouse_core::clock::now_ms();
    let mut late = ProduceRecord::new("from the future");
    late.timestamp_ms = now + 2 * 3_600_000;
    expect_status(
        client
            .produce("good", vec![ProduceRecord::new("fine"), late])
            .await,
        Code::InvalidArgument,
        "agent.max_timestamp_skew_ms",
    );
    let mut soon = ProduceRecord::new("a little ahead");
    soon.timestamp_ms = now + 60_000;
    client.produce("good", vec![soon]).await.unwrap();
    still_serving(&agent, &client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_reports_errors_in_one_line_with_a_failing_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), &[]).await;
    let cli = |args: &[&str]| cli(&agent, args);
    let ok = cli(&["topic", "create", "t", "--partitions", "2"]);
    assert!(ok.status.success(), "{ok:?}");
    let bad = cli(&["consume", "nope"]);
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8(bad.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("streamhouse: not found: topic \"nope\""),
        "{err}"
    );
    let down = std::process::Command::new(bin("streamhouse"))
        .args(["--addr", "http://127.0.0.1:1", "topic", "list"])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(1));
    let err = String::from_utf8(down.stderr).unwrap();
    assert!(
        err.contains("cannot connect to http://127.0.0.1:1"),
        "{err}"
    );
}
