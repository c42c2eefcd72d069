//! End to end: 100,000 records with keys and headers produced, consumed back identical at
//! their acknowledged offsets, the agent killed with SIGKILL and restarted, and everything
//! read again — on the embedded default, on PostgreSQL (directly and through PgBouncer), and
//! with objects in S3 (SeaweedFS), GCS (fake-gcs-server) and Azure Blob (Azurite).

use std::collections::BTreeMap;

use bytes::Bytes;
use rstest::rstest;
use streamhouse_client::{Client, ProduceRecord, RecordHeader};
use streamhouse_core::partitioner::partition_for_key;
use streamhouse_tests::{AgentProcess, Metadata, Objects, env_refs};

const PARTITIONS: u32 = 6;
const RECORDS: usize = 100_000;
const PRODUCERS: usize = 8;
const BATCH: usize = 500;

#[derive(Debug, Clone, PartialEq)]
struct Expected {
    key: Bytes,
    value: Bytes,
    headers: Vec<RecordHeader>,
}

fn record(i: usize) -> Expected {
    Expected {
        key: Bytes::from(format!("key-{}", i % 977)),
        value: Bytes::from(format!("value-{i}-{}", "x".repeat(i % 300))),
        headers: vec![
            RecordHeader {
                key: "seq".into(),
                value: Bytes::from(i.to_string()),
            },
            RecordHeader {
                key: "trace".into(),
                value: Bytes::from(vec![(i % 256) as u8; i % 7]),
            },
        ],
    }
}

/// Produces every record; returns (partition, offset) -> what was sent.
async fn produce_all(client: &Client) -> BTreeMap<(u32, u64), Expected> {
    let mut tasks = Vec::new();
    for p in 0..PRODUCERS {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mine: Vec<usize> = (p..RECORDS).step_by(PRODUCERS).collect();
            for chunk in mine.chunks(BATCH) {
                let sent: Vec<Expected> = chunk.iter().map(|i| record(*i)).collect();
                let reqs = sent
                    .iter()
                    .map(|e| {
                        let mut r = ProduceRecord::new(e.value.clone()).with_key(e.key.clone());
                        r.headers = e.headers.clone();
                        r
                    })
                    .collect();
                let acks = client.produce("events", reqs).await.expect("produce");
                assert_eq!(acks.len(), sent.len());
                acked.extend(acks.into_iter().zip(sent));
            }
            acked
        }));
    }
    let mut all = BTreeMap::new();
    for t in tasks {
        for (ack, e) in t.await.unwrap() {
            let prev = all.insert((ack.partition, ack.offset), e);
            assert!(
                prev.is_none(),
                "offset {}:{} acknowledged twice",
                ack.partition,
                ack.offset
            );
        }
    }
    all
}

/// Reads every partition from 0 to its high watermark and compares with what was acked.
async fn check_all(client: &Client, expected: &BTreeMap<(u32, u64), Expected>) {
    let (_, parts) = client.describe_topic("events").await.unwrap();
    let mut read = 0usize;
    for p in parts {
        let want: Vec<_> = expected
            .range((p.partition, 0)..(p.partition + 1, 0))
            .collect();
        // Offsets are dense: 0..n with n the high watermark.
        assert_eq!(
            p.high_watermark,
            want.len() as u64,
            "partition {}",
            p.partition
        );
        let mut offset = 0;
        while offset < p.high_watermark {
            let f = client
                .fetch("events", p.partition, offset, 256 << 10, 0)
                .await
                .unwrap();
            assert!(
                !f.records.is_empty(),
                "empty fetch at {}:{offset}",
                p.partition
            );
            for r in &f.records {
                assert_eq!(r.offset, offset, "records in order without gaps");
                let e = &expected[&(p.partition, offset)];
                assert_eq!(r.key.as_ref(), Some(&e.key));
                assert_eq!(r.value.as_ref(), Some(&e.value));
                assert_eq!(r.headers, e.headers);
                assert!(r.timestamp_ms > 1_600_000_000_000);
                offset += 1;
                read += 1;
            }
            assert_eq!(f.next_offset, offset);
        }
    }
    assert_eq!(read, RECORDS);
}

#[rstest]
#[case::sqlite(Metadata::Sqlite, Objects::Local)]
#[case::postgres(Metadata::Postgres, Objects::Local)]
#[case::pgbouncer(Metadata::PgBouncer, Objects::Local)]
#[case::sqlite_s3(Metadata::Sqlite, Objects::S3)]
#[case::postgres_s3(Metadata::Postgres, Objects::S3)]
#[case::sqlite_gcs(Metadata::Sqlite, Objects::Gcs)]
#[case::sqlite_azure(Metadata::Sqlite, Objects::Azure)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_consume_kill9_restart_read_again(
    #[case] metadata: Metadata,
    #[case] objects: Objects,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = metadata.env().await;
    env.extend(objects.env());
    // A short lease so the restarted agent may take over the dead one's partitions quickly.
    env.push(("STREAMHOUSE_LEASE__TTL_MS".into(), "3000".into()));
    let mut agent = AgentProcess::start(dir.path(), &env_refs(&env)).await;
    let client = agent.client().await;
    client
        .create_topic("events", PARTITIONS, None, "lz4")
        .await
        .unwrap();

    let expected = produce_all(&client).await;
    assert_eq!(expected.len(), RECORDS);
    // Keys land where Kafka's partitioner puts them (core pins it to Kafka's test vectors).
    for ((p, _), e) in expected.iter().take(1000) {
        assert_eq!(*p, partition_for_key(&e.key, PARTITIONS));
    }
    check_all(&client, &expected).await;

    agent.kill9();
    agent.restart().await;
    let client = agent.client().await;
    check_all(&client, &expected).await;

    // Writes continue after the old process's leases lapse, at the next dense offset.
    let hw = client.describe_topic("events").await.unwrap().1[2].high_watermark;
    let acks = client
        .produce(
            "events",
            vec![ProduceRecord::new("after restart").with_partition(2)],
        )
        .await
        .unwrap();
    assert_eq!((acks[0].partition, acks[0].offset), (2, hw));
    assert!(agent.log().contains("leading partition"), "{}", agent.log());

    // A graceful stop logs the process's object-store requests: its reads, and the PUT of the
    // last record, all without errors.
    assert_eq!(agent.terminate(), Some(0), "{}", agent.log());
    let usage = last_usage(&agent.log());
    let (puts, put_errors, put_bytes) = usage["put"];
    assert!(puts >= 1 && put_errors == 0 && put_bytes > 0, "{usage:?}");
    let (reads, read_errors, read_bytes) = usage["get_range"];
    assert!(
        reads >= 1 && read_errors == 0 && read_bytes > 0,
        "{usage:?}"
    );
}

/// The counts of the last "object store usage" log line: operation -> (requests, errors,
/// bytes).
fn last_usage(log: &str) -> BTreeMap<String, (u64, u64, u64)> {
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("object store usage"))
        .unwrap_or_else(|| panic!("no usage line in the log:\n{log}"));
    let fields: Vec<(&str, u64)> = line
        .split(|c: char| c.is_whitespace() || c == '"')
        .filter_map(|t| {
            let (k, v) = t.rsplit_once('=')?;
            Some((k.rsplit('=').next()?, v.parse().ok()?))
        })
        .collect();
    fields
        .chunks_exact(3)
        .map(|c| {
            assert_eq!((c[1].0, c[2].0), ("errors", "bytes"), "{line}");
            (c[0].0.to_owned(), (c[0].1, c[1].1, c[2].1))
        })
        .collect()
}
