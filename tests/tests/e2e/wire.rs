//! Garbage on the wire: every RPC of every service the agent serves, sent random bytes,
//! truncations of a valid request, and oversized headers, answers with a status (never a
//! dropped connection or a panic), and the agent goes on serving.

use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use streamhouse_client::ProduceRecord;
use streamhouse_client::proto as pb;
use streamhouse_proto::internal::v1::ReadChunkRequest;
use streamhouse_tests::{AgentProcess, raw_call};
use tonic::Code;

/// Every method the agent serves, with a valid request to truncate.
fn methods() -> Vec<(&'static str, Bytes)> {
    let enc = |m: &dyn Fn() -> Vec<u8>| Bytes::from(m());
    vec![
        (
            "/streamhouse.v1.StreamHouse/CreateTopic",
            enc(&|| {
                pb::CreateTopicRequest {
                    name: "wire".into(),
                    partitions: 2,
                    retention_ms: Some(60_000),
                    compression: "lz4".into(),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
        ),
        (
            "/streamhouse.v1.StreamHouse/DeleteTopic",
            enc(&|| {
                pb::DeleteTopicRequest {
                    name: "gone".into(),
                }
                .encode_to_vec()
            }),
        ),
        ("/streamhouse.v1.StreamHouse/ListTopics", Bytes::new()),
        ("/streamhouse.v1.StreamHouse/DescribeCluster", Bytes::new()),
        (
            "/streamhouse.v1.StreamHouse/DescribeTopic",
            enc(&|| pb::DescribeTopicRequest { name: "t".into() }.encode_to_vec()),
        ),
        (
            "/streamhouse.v1.StreamHouse/AlterTopic",
            enc(&|| {
                pb::AlterTopicRequest {
                    name: "t".into(),
                    retention_bytes: Some(1 << 20),
                    cleanup_policy: Some("compact".into()),
                    ..Default::default()
                }
                .encode_to_vec()
            }),
        ),
        (
            "/streamhouse.v1.StreamHouse/Produce",
            enc(&|| {
                pb::ProduceRequest {
                    topic: "t".into(),
                    records: vec![
                        pb::ProduceRecord::new("value").with_key("key"),
                        pb::ProduceRecord::new("v2").with_header("h", "x"),
                    ],
                }
                .encode_to_vec()
            }),
        ),
        (
            "/streamhouse.v1.StreamHouse/Fetch",
            enc(&|| {
                pb::FetchRequest {
                    topic: "t".into(),
                    partition: 0,
                    offset: 0,
                    max_bytes: 1 << 20,
                    max_wait_ms: 0,
                }
                .encode_to_vec()
            }),
        ),
        (
            "/streamhouse.v1.StreamHouse/Subscribe",
            enc(&|| {
                pb::SubscribeRequest {
                    topic: "t".into(),
                    partition: 0,
                    offset: 1 << 40,
                    max_bytes: 1 << 20,
                }
                .encode_to_vec()
            }),
        ),
        (
            "/streamhouse.v1.StreamHouse/CommitOffsets",
            enc(&|| {
                pb::CommitOffsetsRequest {
                    group: "g".into(),
                    topic: "t".into(),
                    offsets: vec![pb::PartitionOffset {
                        partition: 0,
                        offset: 1,
                    }],
                }
                .encode_to_vec()
            }),
        ),
        (
            "/streamhouse.v1.StreamHouse/FetchOffsets",
            enc(&|| {
                pb::FetchOffsetsRequest {
                    group: "g".into(),
                    topic: "t".into(),
                }
                .encode_to_vec()
            }),
        ),
        (
            "/streamhouse.internal.v1.AgentInternal/ReadChunk",
            enc(&|| {
                ReadChunkRequest {
                    object_key: "tenants/default/x".into(),
                    object_size: 1 << 20,
                    chunk_bytes: 1 << 20,
                    index: 0,
                }
                .encode_to_vec()
            }),
        ),
        (
            "/grpc.health.v1.Health/Check",
            enc(&|| {
                tonic_health::pb::HealthCheckRequest {
                    service: "streamhouse.v1.StreamHouse".into(),
                }
                .encode_to_vec()
            }),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_survives_garbage_truncation_and_oversized_headers() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), &[]).await;
    let client = agent.client().await;
    client.create_topic("t", 2, None, "none").await.unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let mut answered = 0;
    for (path, valid) in methods() {
        let mut inputs: Vec<Bytes> = (0..valid.len()).map(|n| valid.slice(..n)).collect();
        for len in [1, 2, 5, 16, 100, 1000, 70_000] {
            let mut b = vec![0u8; len];
            rng.fill(b.as_mut_slice());
            inputs.push(b.into());
        }
        // A field header announcing far more bytes than follow, and an endless varint.
        inputs.push(Bytes::from_static(&[
            0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, b'x',
        ]));
        inputs.push(Bytes::from(vec![0x80; 64]));
        for wire in inputs {
            // A fetch long-polls 30 s at most: anything longer is a hang.
            let call = raw_call(&agent.url, path, wire.clone(), &[]);
            let answer = tokio::time::timeout(Duration::from_secs(40), call)
                .await
                .unwrap_or_else(|_| panic!("{path}: no answer to {:02x?}", &wire[..]));
            match answer {
                Ok(_) => answered += 1,
                Err(s) => {
                    // A status from the agent: not a broken connection.
                    assert!(
                        !matches!(
                            s.code(),
                            Code::Unknown | Code::Unavailable | Code::Cancelled
                        ),
                        "{path} with {} bytes {:02x?}: {s:?}",
                        wire.len(),
                        &wire[..wire.len().min(16)]
                    );
                    answered += 1;
                }
            }
        }
    }
    assert!(answered > 100, "{answered}");
    // Oversized metadata: a header list past the agent's limit is refused alone.
    let huge = "k".repeat(64 << 10);
    let r = raw_call(
        &agent.url,
        "/streamhouse.v1.StreamHouse/ListTopics",
        Bytes::new(),
        &[("x-streamhouse-tenant", huge.clone())],
    )
    .await;
    assert!(r.is_err(), "a 64 KiB header is refused");
    let long_key = format!("Bearer shk_{huge}");
    let r = raw_call(
        &agent.url,
        "/streamhouse.v1.StreamHouse/ListTopics",
        Bytes::new(),
        &[("authorization", long_key[..4096].to_owned())],
    )
    .await
    .unwrap_err();
    assert_eq!(r.code(), Code::Unauthenticated, "{r:?}");
    assert!(r.message().contains("malformed API key"), "{r:?}");
    let r = raw_call(
        &agent.url,
        "/streamhouse.v1.StreamHouse/ListTopics",
        Bytes::new(),
        &[("x-streamhouse-tenant", "t".repeat(200))],
    )
    .await
    .unwrap_err();
    assert_eq!(r.code(), Code::InvalidArgument, "{r:?}");

    // Still serving, and nothing panicked.
    let ack = client
        .produce("t", vec![ProduceRecord::new("after")])
        .await
        .unwrap();
    client
        .fetch("t", ack[0].partition, ack[0].offset, 1 << 20, 0)
        .await
        .unwrap();
    assert!(!agent.log().contains("panicked"), "{}", agent.log());
}
