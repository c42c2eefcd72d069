//! Graceful shutdown, subscriptions, long-poll fetch, consumer groups through the CLI, and
//! the standard gRPC health and reflection services.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use streamhouse_client::{ProduceRecord, RetryPolicy};
use streamhouse_tests::{AgentProcess, bin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_flushes_acknowledged_records_and_releases_leases() {
    let dir = tempfile::tempdir().unwrap();
    let mut agent = AgentProcess::start(dir.path(), &[]).await;
    let client = agent.client().await;
    client.create_topic("t", 3, None, "none").await.unwrap();
    let no_retry = client.clone().with_retry(RetryPolicy {
        timeout: Duration::ZERO,
        ..RetryPolicy::default()
    });
    let mut tasks = Vec::new();
    for p in 0..4u32 {
        let c = no_retry.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..10_000u32 {
                let v = format!("{p}-{i}");
                match c
                    .produce("t", vec![ProduceRecord::new(v.clone()).with_key(v.clone())])
                    .await
                {
                    Ok(a) => acked.push((a[0].partition, a[0].offset, v)),
                    Err(_) => break,
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        agent.terminate(),
        Some(0),
        "graceful exit:\n{}",
        agent.log()
    );
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert!(acked.len() > 10, "producers got going before SIGTERM");

    agent.restart().await;
    // Leases were released on shutdown: the new process leads at once, no retry needed.
    let no_retry = agent.client().await.with_retry(RetryPolicy {
        timeout: Duration::ZERO,
        ..RetryPolicy::default()
    });
    for p in 0..3 {
        no_retry
            .produce("t", vec![ProduceRecord::new("after").with_partition(p)])
            .await
            .expect("produce right after a graceful restart");
    }
    for (p, o, v) in acked {
        let f = no_retry.fetch("t", p, o, 1, 0).await.unwrap();
        assert_eq!(f.records[0].offset, o);
        assert_eq!(f.records[0].value.as_deref(), Some(v.as_bytes()));
    }
    assert!(agent.log().contains("shut down"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_follows_the_log_and_fetch_long_polls() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), &[]).await;
    let client = agent.client().await;
    client.create_topic("live", 1, None, "none").await.unwrap();
    let mut sub = client.subscribe("live", 0, 0, 0).await.unwrap();
    let waiting = {
        let c = client.clone();
        tokio::spawn(async move { c.fetch("live", 0, 0, 0, 20_000).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..3 {
        client
            .produce("live", vec![ProduceRecord::new(format!("m{i}"))])
            .await
            .unwrap();
    }
    let f = waiting.await.unwrap().unwrap();
    assert_eq!(
        f.records[0].value.as_deref(),
        Some(&b"m0"[..]),
        "long poll returned the data"
    );
    let mut got = Vec::new();
    while got.len() < 3 {
        let msg = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("subscription delivers")
            .unwrap()
            .unwrap();
        got.extend(
            msg.records
                .into_iter()
                .map(|r| (r.offset, r.value.unwrap())),
        );
    }
    assert_eq!(
        got,
        vec![(0, "m0".into()), (1, "m1".into()), (2, "m2".into())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_produces_from_stdin_and_consumes_with_a_group() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), &[]).await;
    let cli = |args: &[&str], input: Option<&str>| {
        let mut child = Command::new(bin("streamhouse"))
            .env("STREAMHOUSE_ADDR", &agent.url)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if let Some(i) = input {
            stdin.write_all(i.as_bytes()).unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    cli(&["topic", "create", "cli", "-p", "1"], None);
    let lines: String = (0..10).map(|i| format!("user-{i}:event {i}\n")).collect();
    let out = cli(
        &["produce", "cli", "--key-separator", ":", "-H", "src=cli"],
        Some(&lines),
    );
    assert_eq!(out.trim(), "produced 10 records to cli");
    let first = cli(&["consume", "cli", "--group", "g", "-n", "4"], None);
    assert_eq!(first, "event 0\nevent 1\nevent 2\nevent 3\n");
    let rest = cli(&["consume", "cli", "--group", "g", "-v"], None);
    let rest: Vec<&str> = rest.lines().collect();
    assert_eq!(rest.len(), 6);
    assert_eq!(rest[0], "0\t4\tuser-4\tevent 4");
    let offsets = cli(&["offsets", "show", "g", "cli"], None);
    assert!(offsets.contains("0\t10\t10\t0"), "{offsets}");
    let topics = cli(&["topic", "list"], None);
    assert_eq!(topics.trim(), "cli\t1 partitions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_output_closed_by_its_reader_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), &[]).await;
    let client = agent.client().await;
    client.create_topic("piped", 1, None, "none").await.unwrap();
    let records = (0..10)
        .map(|i| ProduceRecord::new(format!("event {i}")))
        .collect();
    client.produce("piped", records).await.unwrap();
    // As `streamhouse consume piped | head -0`: the pipe is closed before anything is written.
    let mut child = Command::new(bin("streamhouse"))
        .env("STREAMHOUSE_ADDR", &agent.url)
        .args(["consume", "piped", "-n", "10"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_are_served() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), &[]).await;
    let channel = tonic::transport::Endpoint::from_shared(agent.url.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut c = ServerReflectionClient::new(channel);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = c
        .server_reflection_info(futures::stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let resp = stream.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else {
        panic!("unexpected {resp:?}");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"streamhouse.v1.StreamHouse".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );
}
