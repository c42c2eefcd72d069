//! A hostile client cannot make an agent run out of memory or answer wrongly: requests of
//! millions of empty records, requests over the message limit, huge header counts and
//! thousands of subscriptions that never read are refused or held within configured bounds,
//! while a normal producer keeps going and every record it was acknowledged is readable.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use streamhouse_client::{Client, ClientError, ProduceRecord};
use streamhouse_tests::{
    AgentProcess, assert_acked_readable, empty_records_request, health_serving, raw_produce,
};
use tonic::Code;

const MIB: u64 = 1 << 20;
/// The agent's peak RSS bound under this test's attack. Its parts, as configured below:
/// 128 MiB of request messages in flight, the writer's 64 MiB buffer budget (which also
/// covers produce requests while they are decoded), 64 MiB of recently written objects,
/// 1,000 subscriptions of at most three 64 KiB messages each (192 MiB), and the process
/// itself (about 60 MiB). Before requests
/// were bounded, one 64 MiB request of empty records took 6.1 GB.
const RSS_BOUND: u64 = 768 * MIB;

fn expect_code<T: std::fmt::Debug>(r: Result<T, tonic::Status>, code: Code, needle: &str) {
    match r {
        Err(s) => {
            assert_eq!(s.code(), code, "{s:?}");
            assert!(
                s.message().contains(needle),
                "{:?} lacks {needle:?}",
                s.message()
            );
        }
        Ok(v) => panic!("expected {code:?}, got {v:?}"),
    }
}

/// Produces small keyed batches until `stop`, retrying as the client does; returns every
/// acknowledged record.
async fn normal_producer(client: Client, stop: Arc<AtomicBool>) -> BTreeMap<(u32, u64), String> {
    let mut acked = BTreeMap::new();
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let values: Vec<String> = (0..50).map(|k| format!("n{i}-{k}")).collect();
        let records = values
            .iter()
            .map(|v| ProduceRecord::new(v.clone()).with_key(v.clone()))
            .collect();
        let acks = client
            .produce("normal", records)
            .await
            .expect("normal produce");
        for (a, v) in acks.into_iter().zip(values) {
            assert!(
                acked.insert((a.partition, a.offset), v).is_none(),
                "offset acked twice"
            );
        }
        i += 1;
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_clients_cost_bounded_memory_while_normal_traffic_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(
        dir.path(),
        &[
            (
                "STREAMHOUSE_AGENT__MAX_REQUEST_BYTES_IN_FLIGHT",
                "134217728",
            ),
            ("STREAMHOUSE_AGENT__SUBSCRIBE_BUFFER_BYTES", "65536"),
        ],
    )
    .await;
    let client = agent.client().await;
    client
        .create_topic("normal", 4, None, "none")
        .await
        .unwrap();
    client
        .create_topic("target", 4, None, "none")
        .await
        .unwrap();
    // Data for the subscribers to hold: 4 MiB per partition.
    for p in 0..4 {
        for _ in 0..8 {
            let records = (0..128)
                .map(|_| ProduceRecord::new(vec![b'x'; 4096]).with_partition(p))
                .collect();
            client.produce("target", records).await.unwrap();
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let normal = tokio::spawn(normal_producer(client.clone(), stop.clone()));

    // 64 MiB of empty records (33 million), four at once: refused from their wire bytes.
    let flood = empty_records_request("target", ((64 * MIB - 64) / 2) as usize, 0);
    let floods = (0..4).map(|_| raw_produce(&agent.url, flood.clone()));
    for r in futures::future::join_all(floods).await {
        expect_code(r, Code::InvalidArgument, "agent.max_records_per_request");
    }
    drop(flood);
    // Over the message limit: RESOURCE_EXHAUSTED, naming the limit.
    let over = empty_records_request("target", (32 * MIB + 1024) as usize, 0);
    expect_code(
        raw_produce(&agent.url, over).await,
        Code::ResourceExhausted,
        "accepts messages up to 67108864 bytes",
    );
    // The most records a request may carry, eight at once: acknowledged, with replies far
    // smaller than one ack per record.
    let most = empty_records_request("target", 100_000, 0);
    let accepted = (0..8).map(|_| raw_produce(&agent.url, most.clone()));
    for r in futures::future::join_all(accepted).await {
        let reply = r.expect("100,000 empty records are accepted");
        assert_eq!(reply.partitions.len(), 1);
        assert!(reply.record_partitions.is_empty());
        let results = reply.record_results(100_000).unwrap();
        assert!(results.iter().all(Result::is_ok));
    }
    // Huge header counts: 400,000 empty headers in one record are within the limits; one
    // more header is refused.
    let headers = empty_records_request("target", 1, 400_000);
    raw_produce(&agent.url, headers)
        .await
        .expect("400,000 headers are accepted");
    expect_code(
        raw_produce(&agent.url, empty_records_request("target", 2, 200_001)).await,
        Code::InvalidArgument,
        "agent.max_headers_per_request",
    );

    // 10,000 subscriptions that never read, over 100 connections: 1,000 stream (the default
    // agent.max_subscriptions), the others are refused.
    let mut clients = Vec::new();
    for _ in 0..100 {
        clients.push(Client::connect(&agent.url).await.unwrap());
    }
    let subscribes = (0..10_000u32).map(|i| {
        let c = clients[i as usize % clients.len()].clone();
        async move { c.subscribe("target", i % 4, 0, 0).await }
    });
    let mut streams = Vec::new();
    let mut refused = 0;
    for r in futures::future::join_all(subscribes).await {
        match r {
            Ok(s) => streams.push(s),
            Err(ClientError::Status(s)) if s.code() == Code::ResourceExhausted => {
                assert!(s.message().contains("agent.max_subscriptions"), "{s:?}");
                refused += 1;
            }
            Err(e) => panic!("subscribe: {e}"),
        }
    }
    assert_eq!((streams.len(), refused), (1000, 9000));
    // Give the streams time to fill their buffers.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(health_serving(&agent.url).await);

    stop.store(true, Ordering::Relaxed);
    let acked = normal.await.unwrap();
    assert!(acked.len() >= 50, "the normal producer kept going");
    let peak = agent.peak_rss_bytes();
    println!(
        "peak RSS {} MiB (bound {} MiB); normal producer: {} records acknowledged",
        peak / MIB,
        RSS_BOUND / MIB,
        acked.len()
    );
    assert!(peak < RSS_BOUND, "peak RSS {} MiB", peak / MIB);
    drop(streams);
    assert_acked_readable(&client, "normal", &acked).await;
}
