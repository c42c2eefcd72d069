//! Chaos: three agents on PostgreSQL and the S3 API server (SeaweedFS), producers with
//! retries going through a cluster client, and every few seconds a random agent killed with
//! SIGKILL, frozen with SIGSTOP past its lease, or shut down with SIGTERM, then brought back.
//! A checker then reads every partition back and verifies that every acknowledged record is
//! at the offset it was acknowledged with, offsets are dense, each producer's records keep
//! their order within a partition, and nothing acknowledged is lost. It prints acknowledged,
//! lost and duplicated counts and the failover time percentiles.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use streamhouse_client::{Client, ProduceRecord, RetryPolicy};
use streamhouse_tests::{AgentProcess, Metadata, Objects, env_refs};

const PARTITIONS: u32 = 6;
const PRODUCERS: usize = 4;

/// Events to inject; `STREAMHOUSE_CHAOS_CYCLES` overrides the 12 CI runs.
fn cycles() -> usize {
    std::env::var("STREAMHOUSE_CHAOS_CYCLES").map_or(12, |v| v.parse().expect("a number"))
}

/// The lease TTL: 3 s by default, so that many failovers fit in a CI run (agents default to
/// 10 s); `STREAMHOUSE_CHAOS_TTL_MS` overrides it to measure failover at other TTLs.
fn ttl() -> Duration {
    Duration::from_millis(
        std::env::var("STREAMHOUSE_CHAOS_TTL_MS").map_or(3000, |v| v.parse().expect("ms")),
    )
}

/// One acknowledged record: who sent it, its sequence number, and when the ack came.
#[derive(Debug, Clone)]
struct Ack {
    producer: usize,
    seq: u64,
    value: String,
    at: Instant,
}

type Acks = Arc<Mutex<BTreeMap<(u32, u64), Ack>>>;

/// Sends keyed records one at a time (so its own order is defined) until `stop`.
fn producer(
    client: Client,
    id: usize,
    acks: Acks,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut failed = 0;
        let mut seq = 0u64;
        while !stop.load(Ordering::SeqCst) {
            let value = format!("p{id}-{seq}");
            let key = format!("p{id}-k{}", seq % 16);
            match client
                .produce(
                    "chaos",
                    vec![ProduceRecord::new(value.clone()).with_key(key)],
                )
                .await
            {
                Ok(a) => {
                    let ack = Ack {
                        producer: id,
                        seq,
                        value,
                        at: Instant::now(),
                    };
                    let prev = acks
                        .lock()
                        .unwrap()
                        .insert((a[0].partition, a[0].offset), ack);
                    assert!(
                        prev.is_none(),
                        "offset {}:{} acknowledged twice",
                        a[0].partition,
                        a[0].offset
                    );
                    seq += 1;
                }
                // Retries are exhausted only if an outage outlasts the retry policy; the
                // record is then unacknowledged, and sent again under a new number.
                Err(e) => {
                    eprintln!("producer {id}: record {seq} not acknowledged: {e}");
                    failed += 1;
                    seq += 1;
                }
            }
        }
        failed
    })
}

/// Every record of every partition, by offset, read through `client`.
async fn read_all(client: &Client) -> Vec<Vec<(u64, String)>> {
    let (_, parts) = client.describe_topic("chaos").await.unwrap();
    let mut out = Vec::new();
    for p in parts {
        let mut records = Vec::new();
        let mut offset = p.log_start_offset;
        while offset < p.high_watermark {
            let f = client
                .fetch("chaos", p.partition, offset, 1 << 20, 0)
                .await
                .unwrap();
            assert!(!f.records.is_empty(), "nothing at {}:{offset}", p.partition);
            for r in f.records {
                let v = String::from_utf8(r.value.unwrap().to_vec()).unwrap();
                records.push((r.offset, v));
                offset = r.offset + 1;
            }
        }
        out.push(records);
    }
    out
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_stop_and_restart_agents_under_load_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = Metadata::Postgres.env().await;
    env.extend(Objects::S3.env());
    let (ttl, cycles) = (ttl(), cycles());
    env.push((
        "STREAMHOUSE_LEASE__TTL_MS".into(),
        ttl.as_millis().to_string(),
    ));
    // A frozen agent's open transaction keeps its row locks until the server ends it, after
    // twice the statement timeout: keep that within the lease, as the default 5 s is within
    // the default 10 s lease.
    let statement_timeout = (ttl / 3).max(Duration::from_millis(500));
    env.push((
        "STREAMHOUSE_METADATA__STATEMENT_TIMEOUT_MS".into(),
        statement_timeout.as_millis().to_string(),
    ));
    let mut agents = Vec::new();
    for name in ["a", "b", "c"] {
        agents.push(AgentProcess::start_named(dir.path(), name, &env_refs(&env)).await);
    }
    let seeds: Vec<String> = agents.iter().map(|a| a.url.clone()).collect();
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    let admin = agents[0].client().await;
    admin
        .create_topic("chaos", PARTITIONS, None, "none")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while admin.describe_cluster().await.unwrap().agents.len() < 3 {
        assert!(Instant::now() < deadline, "the agents never saw each other");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let acks: Acks = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut producers = Vec::new();
    for id in 0..PRODUCERS {
        let client = Client::connect_cluster(&seeds, None, "")
            .await
            .unwrap()
            .with_retry(RetryPolicy {
                timeout: Duration::from_secs(60),
                ..RetryPolicy::default()
            });
        producers.push(producer(client, id, acks.clone(), stop.clone()));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The chaos: one event every few seconds, each agent brought back before the next.
    let mut events = Vec::new();
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for _ in 0..cycles {
        let (victim, kind) = {
            let mut rng = rand::thread_rng();
            (rng.gen_range(0..agents.len()), rng.gen_range(0..3))
        };
        let agent = &mut agents[victim];
        let at = Instant::now();
        let kind = match kind {
            0 => {
                agent.kill9();
                agent.restart().await;
                "SIGKILL"
            }
            1 => {
                agent.pause();
                tokio::time::sleep(ttl + Duration::from_secs(1)).await;
                agent.resume();
                "SIGSTOP"
            }
            _ => {
                let code = tokio::task::block_in_place(|| agent.terminate());
                assert_eq!(code, Some(0), "graceful exit:\n{}", agent.log());
                agent.restart().await;
                "SIGTERM"
            }
        };
        *kinds.entry(kind).or_default() += 1;
        events.push((at, kind, victim));
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);
    let mut failed = 0;
    for p in producers {
        failed += p.await.unwrap();
    }

    // The checker.
    let acks = acks.lock().unwrap().clone();
    let log = read_all(&agents[0].client().await).await;
    let mut lost = 0;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (p, records) in log.iter().enumerate() {
        for (i, (offset, value)) in records.iter().enumerate() {
            assert_eq!(*offset, i as u64, "partition {p}: offsets are dense from 0");
            *counts.entry(value.as_str()).or_default() += 1;
        }
    }
    for ((p, offset), ack) in &acks {
        match log[*p as usize].get(*offset as usize) {
            Some((_, v)) if *v == ack.value => {}
            other => {
                lost += 1;
                eprintln!(
                    "lost: {p}:{offset} acknowledged {:?}, found {other:?}",
                    ack.value
                );
            }
        }
    }
    let duplicated = counts.values().filter(|n| **n > 1).count();
    // Each producer's acknowledged records keep their order within a partition.
    let mut last: HashMap<(usize, u32), u64> = HashMap::new();
    let mut by_seq: Vec<_> = acks.iter().collect();
    by_seq.sort_by_key(|(_, a)| (a.producer, a.seq));
    for ((p, offset), a) in by_seq {
        if let Some(prev) = last.insert((a.producer, *p), *offset) {
            assert!(
                prev < *offset,
                "producer {} reordered on partition {p}",
                a.producer
            );
        }
    }
    // Failover time of an event: until every partition acknowledged a record again.
    let mut acked_at: Vec<Vec<Instant>> = vec![Vec::new(); PARTITIONS as usize];
    for ((p, _), a) in &acks {
        acked_at[*p as usize].push(a.at);
    }
    for v in &mut acked_at {
        v.sort();
    }
    let mut failovers: Vec<Duration> = Vec::new();
    for (t, kind, victim) in &events {
        let recovered = acked_at
            .iter()
            .map(|v| v.iter().find(|at| *at >= t).map(|at| *at - *t))
            .collect::<Option<Vec<_>>>()
            .and_then(|d| d.into_iter().max());
        eprintln!(
            "event {kind} of agent {victim}: every partition acknowledged again after {recovered:?}"
        );
        failovers.extend(recovered);
    }
    failovers.sort();
    let (p50, p99) = (percentile(&failovers, 0.5), percentile(&failovers, 0.99));
    println!(
        "chaos: {cycles} events {kinds:?}; acknowledged {}, lost {lost}, duplicated {duplicated}, \
         unacknowledged after retries {failed}; failover p50 {p50:?} p99 {p99:?} (lease TTL {ttl:?})",
        acks.len()
    );
    assert_eq!(lost, 0, "acknowledged records were lost");
    assert!(
        acks.len() > 1000,
        "the producers made progress: {}",
        acks.len()
    );
    assert!(
        p99 < 2 * ttl + Duration::from_secs(3),
        "failover p99 {p99:?} with a {ttl:?} lease"
    );
}
