//! The read cache: three agents of one zone each read every record, and each chunk of each
//! object is read from the object store once in the zone (the other agents ask its owner for
//! it); when an owner is frozen, the others read from the store after the peer timeout and
//! lose nothing. Chunks evicted from memory come back from the disk tier without a GET.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use streamhouse_client::{Client, ProduceRecord};
use streamhouse_tests::{AgentProcess, Metadata, assert_acked_readable, env_refs};

/// A counter of an agent's metrics page with its labels, such as
/// `streamhouse_read_cache_requests_total{result="peer"}`; 0 when absent.
async fn counter(agent: &AgentProcess, series: &str) -> f64 {
    agent
        .scrape()
        .await
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

async fn total(agents: &[AgentProcess], series: &str) -> f64 {
    let mut sum = 0.0;
    for a in agents {
        sum += counter(a, series).await;
    }
    sum
}

const GETS: &str = r#"streamhouse_object_store_requests_total{op="get_range"}"#;
const PEER: &str = r#"streamhouse_read_cache_requests_total{result="peer"}"#;

/// Produces `n` records of 1 KB over six partitions, one request per partition at a time.
async fn produce(client: &Client, tag: &str, n: u32, acked: &mut BTreeMap<(u32, u64), String>) {
    for i in 0..n / 6 {
        for p in 0..6 {
            let v = format!("{tag}-{p}-{i}-{}", "x".repeat(1000));
            let ack = client
                .produce("t", vec![ProduceRecord::new(v.clone()).with_partition(p)])
                .await
                .unwrap();
            acked.insert((p, ack[0].offset), v);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_chunk_is_read_from_the_store_once_per_zone() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = Metadata::Postgres.env().await;
    for (k, v) in [
        // Readers load every chunk (the writer's copies would make most reads free).
        ("STREAMHOUSE_READ__CACHE_WRITTEN_OBJECTS", "false"),
        // Small chunks, so objects span several and owners differ within one object.
        ("STREAMHOUSE_READ__CHUNK_BYTES", "65536"),
        ("STREAMHOUSE_READ__PEER_TIMEOUT_MS", "500"),
        ("STREAMHOUSE_AGENT__ZONE", "zone-a"),
    ] {
        env.push((k.into(), v.into()));
    }
    let mut agents = Vec::new();
    for name in ["a", "b", "c"] {
        agents.push(AgentProcess::start_named(dir.path(), name, &env_refs(&env)).await);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    for a in &agents {
        while a
            .client()
            .await
            .describe_cluster()
            .await
            .unwrap()
            .agents
            .len()
            < 3
        {
            assert!(Instant::now() < deadline, "the agents never saw each other");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let client = agents[0].client().await;
    client.create_topic("t", 6, None, "none").await.unwrap();
    let mut acked = BTreeMap::new();
    produce(&client, "first", 600, &mut acked).await;

    // The first agent reads everything: every chunk is read from the store once, by its
    // owner (itself or a peer, which it asks).
    assert_acked_readable(&client, "t", &acked).await;
    let gets = total(&agents, GETS).await;
    assert!(gets > 0.0);
    assert!(
        total(&agents, PEER).await > 0.0,
        "chunks owned by other agents"
    );
    // The other two read everything again: from their peers and their own caches, with no
    // further GET in the whole zone.
    for a in &agents[1..] {
        assert_acked_readable(&a.client().await, "t", &acked).await;
    }
    assert_eq!(
        total(&agents, GETS).await,
        gets,
        "one GET per chunk in the zone"
    );

    // A frozen owner costs its peers a timeout, then a GET of their own; nothing is lost.
    produce(&client, "second", 300, &mut acked).await;
    agents[2].pause();
    assert_acked_readable(&agents[1].client().await, "t", &acked).await;
    let failures = counter(&agents[1], "streamhouse_read_cache_peer_failures_total").await;
    agents[2].resume();
    assert!(failures > 0.0, "some chunks were the frozen agent's");
    assert_acked_readable(&agents[2].client().await, "t", &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_evicted_from_memory_are_read_again_from_the_disk_tier() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("chunk-cache");
    let disk = disk.to_str().unwrap();
    let agent = AgentProcess::start(
        dir.path(),
        &[
            ("STREAMHOUSE_READ__CACHE_WRITTEN_OBJECTS", "false"),
            ("STREAMHOUSE_READ__CHUNK_BYTES", "65536"),
            // Two chunks in memory; the rest goes to disk when evicted.
            ("STREAMHOUSE_READ__CACHE_BYTES", "131072"),
            ("STREAMHOUSE_READ__DISK_CACHE_DIR", disk),
            ("STREAMHOUSE_READ__DISK_CACHE_BYTES", "67108864"),
        ],
    )
    .await;
    let client = agent.client().await;
    client.create_topic("t", 6, None, "none").await.unwrap();
    let mut acked = BTreeMap::new();
    produce(&client, "v", 600, &mut acked).await;
    assert_acked_readable(&client, "t", &acked).await;
    let gets = counter(&agent, GETS).await;
    assert!(gets > 2.0, "more chunks than memory holds");
    // Evictions are written to disk in the background: wait until the files stop changing.
    let files = || std::fs::read_dir(disk).unwrap().count();
    let (mut last, mut stable) = (files(), 0);
    while stable < 5 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = files();
        stable = if now == last { stable + 1 } else { 0 };
        last = now;
    }
    assert!(last > 0, "evicted chunks reach the disk");
    assert_acked_readable(&client, "t", &acked).await;
    let from_disk = counter(
        &agent,
        r#"streamhouse_read_cache_requests_total{result="disk"}"#,
    )
    .await;
    assert!(from_disk > 0.0, "evicted chunks came back from disk");
    assert_eq!(counter(&agent, GETS).await, gets, "and cost no GET");
}

/// The internal chunk service refuses what no agent asks for with `INVALID_ARGUMENT` (a key
/// outside the cluster's objects, a chunk size outside the allowed ones, a chunk past the
/// end), answers a missing object with `NOT_FOUND`, serves a real chunk, and keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_chunk_requests_get_clear_statuses() {
    use streamhouse_proto::internal::v1::ReadChunkRequest;
    use streamhouse_proto::internal::v1::agent_internal_client::AgentInternalClient;
    use tonic::Code;

    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), &[]).await;
    let client = agent.client().await;
    client.create_topic("t", 1, None, "none").await.unwrap();
    client
        .produce("t", vec![ProduceRecord::new("chunked")])
        .await
        .unwrap();
    let root = dir.path().join("data/objects");
    let file = std::fs::read_dir(root.join("tenants/default/objects"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(&file).unwrap();
    let key = file
        .strip_prefix(&root)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let mut internal = AgentInternalClient::connect(agent.url.clone())
        .await
        .unwrap();
    let ask = |object_key: &str, object_size: u64, chunk_bytes: u64, index: u64| ReadChunkRequest {
        object_key: object_key.to_owned(),
        object_size,
        chunk_bytes,
        index,
    };
    let size = bytes.len() as u64;
    for (req, code, says) in [
        (
            ask("etc/passwd", 10, 65536, 0),
            Code::InvalidArgument,
            "not an object key",
        ),
        (
            ask(&key, size, 0, 0),
            Code::InvalidArgument,
            "chunk_bytes = 0",
        ),
        (
            ask(&key, size, 1 << 40, 0),
            Code::InvalidArgument,
            "chunk_bytes",
        ),
        (
            ask(&key, size, 65536, 1),
            Code::InvalidArgument,
            "past the end",
        ),
        (
            ask(&key, size + 100, 65536, 0),
            Code::InvalidArgument,
            "shorter",
        ),
        (
            ask("tenants/default/objects/missing.sho", 100, 65536, 0),
            Code::NotFound,
            "missing",
        ),
    ] {
        let status = internal.read_chunk(req).await.unwrap_err();
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().contains(says), "{status:?}");
    }
    let chunk = internal
        .read_chunk(ask(&key, size, 65536, 0))
        .await
        .unwrap();
    assert_eq!(chunk.into_inner().data, bytes);
    let f = client.fetch("t", 0, 0, 1 << 20, 0).await.unwrap();
    assert_eq!(f.records[0].value.as_deref(), Some(&b"chunked"[..]));
}
