//! Chaos: three agents on a private PostgreSQL and the S3 API server (SeaweedFS), producers
//! sending 100-record requests over every partition through a cluster client, consumers
//! reading every partition as it grows, and every few seconds a fault: an agent killed with
//! SIGKILL, frozen with SIGSTOP past its lease or shut down with SIGTERM; PostgreSQL restarted
//! or frozen (SIGSTOP on the postmaster and every backend); the object store made slow or
//! failing through a fault proxy; or one agent cut off from the database while its clients
//! still reach it.
//!
//! The run is seeded: the seed is printed, and `STREAMHOUSE_CHAOS_SEED` replays it (the
//! faults and their order; timing still varies). `STREAMHOUSE_CHAOS_CYCLES` sets the number
//! of faults (12 by default, for CI). With `STREAMHOUSE_CHAOS_WHOLE_RETRY=1` producers resend
//! whole requests after any failure, as clients did before produce replies said which
//! partitions were written: the duplicates that costs are the comparison.
//!
//! Consumers check as they read that offsets are dense and each producer's records keep their
//! order in a partition. At the end every partition is read back: every acknowledged record
//! must be at its offset, no offset acknowledged twice, and duplicates within what the
//! requests in flight at the faults can explain. It prints acknowledged, lost and duplicated
//! counts and recovery percentiles (from each fault's lifting).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use streamhouse_client::{Client, ClientError, ProduceRecord, RecordAck, RetryPolicy};
use streamhouse_tests::{AgentProcess, Fault, FaultyProxy, Objects, PgCluster, env_refs};

const PARTITIONS: u32 = 6;
const PRODUCERS: usize = 6;
/// Records per produce request, keyed over every partition.
const BATCH: u64 = 100;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not valid"))
    })
}

/// The lease TTL: 3 s, so that many failovers fit in a CI run (agents default to 10 s).
fn ttl() -> Duration {
    Duration::from_millis(env_or("STREAMHOUSE_CHAOS_TTL_MS", 3000))
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

fn value(producer: usize, seq: u64) -> String {
    format!("p{producer}-{seq}")
}

/// `(producer, seq)` of a value written by [`value`].
fn parse(v: &str) -> (usize, u64) {
    let (p, s) = v[1..].split_once('-').expect("p<id>-<seq>");
    (p.parse().unwrap(), s.parse().unwrap())
}

/// Records every acknowledgement, failing on an offset acknowledged twice.
fn record_acks(acks: &Acks, id: usize, first_seq: u64, got: &[Option<RecordAck>]) {
    let mut all = acks.lock().unwrap();
    for (i, a) in got.iter().enumerate() {
        let Some(a) = a else { continue };
        let seq = first_seq + i as u64;
        let ack = Ack {
            producer: id,
            seq,
            value: value(id, seq),
            at: Instant::now(),
        };
        let prev = all.insert((a.partition, a.offset), ack);
        assert!(
            prev.is_none(),
            "offset {}:{} acknowledged twice",
            a.partition,
            a.offset
        );
    }
}

/// Sends 100-record keyed requests one after another until `stop`. With `whole_retry` it
/// resends the whole request after any failure (for up to 60 s), as a client that cannot
/// tell which partitions were written must. Returns the records never acknowledged.
fn producer(
    client: Client,
    id: usize,
    acks: Acks,
    stop: Arc<AtomicBool>,
    whole_retry: bool,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut unacknowledged = 0;
        let mut seq = 0u64;
        while !stop.load(Ordering::SeqCst) {
            let records: Vec<ProduceRecord> = (seq..seq + BATCH)
                .map(|s| ProduceRecord::new(value(id, s)).with_key(format!("p{id}-k{}", s % 32)))
                .collect();
            let result = if whole_retry {
                let started = Instant::now();
                loop {
                    match client.produce("chaos", records.clone()).await {
                        Ok(a) => break Ok(a),
                        Err(e) if started.elapsed() < Duration::from_secs(60) => {
                            let _ = e;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(e) => break Err(e),
                    }
                }
            } else {
                client.produce("chaos", records).await
            };
            match result {
                Ok(a) => {
                    let a: Vec<_> = a.into_iter().map(Some).collect();
                    record_acks(&acks, id, seq, &a);
                }
                // Retries are exhausted only if an outage outlasts the retry policy.
                Err(ClientError::PartlyWritten { acks: a, status }) => {
                    let missing = a.iter().filter(|a| a.is_none()).count() as u64;
                    eprintln!("producer {id}: {missing} records not acknowledged: {status:?}");
                    record_acks(&acks, id, seq, &a);
                    unacknowledged += missing;
                }
                Err(e) => {
                    eprintln!("producer {id}: request at {seq} not acknowledged: {e}");
                    unacknowledged += BATCH;
                }
            }
            seq += BATCH;
        }
        unacknowledged
    })
}

/// Reads `partition` from the start while the chaos runs, checking each record as it comes:
/// offsets dense, and each producer's records in order (a record older than one already read
/// from its producer must be a duplicate of one read before). Returns the records read.
fn consumer(
    client: Client,
    partition: u32,
    stop: Arc<AtomicBool>,
    read: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut next = 0u64;
        let mut newest: HashMap<usize, u64> = HashMap::new();
        let mut seen: HashSet<(usize, u64)> = HashSet::new();
        while !stop.load(Ordering::SeqCst) {
            let f = match client.fetch("chaos", partition, next, 1 << 20, 500).await {
                Ok(f) => f,
                Err(e) => {
                    assert_ne!(e.code(), Some(tonic::Code::DataLoss), "{e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            for r in f.records {
                assert_eq!(r.offset, next, "partition {partition}: offsets are dense");
                next += 1;
                let v = String::from_utf8(r.value.unwrap().to_vec()).unwrap();
                let (producer, seq) = parse(&v);
                let newest = newest.entry(producer).or_insert(seq);
                assert!(
                    seq >= *newest || seen.contains(&(producer, seq)),
                    "partition {partition} offset {}: {v} after p{producer}-{newest}",
                    r.offset
                );
                *newest = (*newest).max(seq);
                seen.insert((producer, seq));
                read.fetch_add(1, Ordering::Relaxed);
            }
        }
        next
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

/// The faults, each recovered from before the next.
const FAULTS: [&str; 8] = [
    "agent SIGKILL",
    "agent SIGSTOP",
    "agent SIGTERM",
    "PostgreSQL restart",
    "PostgreSQL SIGSTOP",
    "object store slow",
    "object store failing",
    "agent cut off from PostgreSQL",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_database_and_object_store_faults_lose_nothing() {
    let seed: u64 = env_or("STREAMHOUSE_CHAOS_SEED", rand::random());
    let cycles: usize = env_or("STREAMHOUSE_CHAOS_CYCLES", 12);
    let whole_retry = env_or("STREAMHOUSE_CHAOS_WHOLE_RETRY", 0) == 1;
    println!("chaos seed {seed} (STREAMHOUSE_CHAOS_SEED={seed} replays it), {cycles} faults");
    let mut rng = StdRng::seed_from_u64(seed);
    let ttl = ttl();

    let pg = PgCluster::start();
    let s3 = Objects::S3.env();
    let endpoint = &s3
        .iter()
        .find(|(k, _)| k == "STREAMHOUSE_OBJECT_STORE__ENDPOINT")
        .expect("an S3 endpoint")
        .1;
    let objects = FaultyProxy::start(
        endpoint
            .trim_start_matches("http://")
            .parse()
            .expect("host:port"),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut agents = Vec::new();
    let mut db_links = Vec::new();
    for name in ["a", "b", "c"] {
        // Each agent reaches the database through a proxy of its own, to be cut off alone.
        let link = FaultyProxy::start(([127, 0, 0, 1], pg.port).into()).await;
        let url = pg.url().replace(
            &format!(":{}/", pg.port),
            &format!(":{}/", link.addr.port()),
        );
        let mut env: Vec<(String, String)> = s3
            .iter()
            .filter(|(k, _)| k != "STREAMHOUSE_OBJECT_STORE__ENDPOINT")
            .cloned()
            .collect();
        env.extend([
            (
                "STREAMHOUSE_OBJECT_STORE__ENDPOINT".into(),
                format!("http://{}", objects.addr),
            ),
            ("STREAMHOUSE_OBJECT_STORE__MAX_ATTEMPTS".into(), "3".into()),
            (
                "STREAMHOUSE_OBJECT_STORE__ATTEMPT_TIMEOUT_MS".into(),
                "2000".into(),
            ),
            ("STREAMHOUSE_METADATA__BACKEND".into(), "postgres".into()),
            ("STREAMHOUSE_METADATA__URL".into(), url),
            (
                "STREAMHOUSE_METADATA__ACQUIRE_TIMEOUT_MS".into(),
                "1000".into(),
            ),
            (
                "STREAMHOUSE_METADATA__STATEMENT_TIMEOUT_MS".into(),
                (ttl / 3).as_millis().to_string(),
            ),
            // A frozen committer's row locks go well within a lease.
            (
                "STREAMHOUSE_METADATA__IDLE_IN_TRANSACTION_TIMEOUT_MS".into(),
                (ttl / 3).as_millis().to_string(),
            ),
            (
                "STREAMHOUSE_LEASE__TTL_MS".into(),
                ttl.as_millis().to_string(),
            ),
        ]);
        agents.push(AgentProcess::start_named(dir.path(), name, &env_refs(&env)).await);
        db_links.push(link);
    }
    let seeds: Vec<String> = agents.iter().map(|a| a.url.clone()).collect();
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    let admin = agents[0].client().await;
    admin
        .create_topic("chaos", PARTITIONS, None, "lz4")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while admin.describe_cluster().await.unwrap().agents.len() < 3 {
        assert!(Instant::now() < deadline, "the agents never saw each other");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let cluster_client = || async {
        Client::connect_cluster(&seeds, None, "")
            .await
            .unwrap()
            .with_retry(RetryPolicy {
                timeout: if whole_retry {
                    Duration::ZERO
                } else {
                    Duration::from_secs(60)
                },
                ..RetryPolicy::default()
            })
    };
    let acks: Acks = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut producers = Vec::new();
    for id in 0..PRODUCERS {
        let client = cluster_client().await;
        producers.push(producer(
            client,
            id,
            acks.clone(),
            stop.clone(),
            whole_retry,
        ));
    }
    let read = Arc::new(AtomicU64::new(0));
    let mut consumers = Vec::new();
    for p in 0..PARTITIONS {
        let client = cluster_client().await;
        consumers.push(consumer(client, p, stop.clone(), read.clone()));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut events = Vec::new();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for _ in 0..cycles {
        let kind = FAULTS[rng.gen_range(0..FAULTS.len())];
        let victim = rng.gen_range(0..agents.len());
        let pause = Duration::from_millis(rng.gen_range(500..ttl.as_millis() as u64 + 1500));
        let at = Instant::now();
        // When the fault is lifted: recovery is measured from here, as the faults last for
        // random times. A killed agent is gone at once; its restart is part of the recovery.
        let mut lifted = None;
        match kind {
            "agent SIGKILL" => {
                agents[victim].kill9();
                lifted = Some(Instant::now());
                agents[victim].restart().await;
            }
            "agent SIGSTOP" => {
                agents[victim].pause();
                tokio::time::sleep(ttl + Duration::from_secs(1)).await;
                agents[victim].resume();
            }
            "agent SIGTERM" => {
                let agent = &mut agents[victim];
                let code = tokio::task::block_in_place(|| agent.terminate());
                assert_eq!(code, Some(0), "graceful exit:\n{}", agent.log());
                agent.restart().await;
            }
            "PostgreSQL restart" => {
                tokio::task::block_in_place(|| pg.stop());
                tokio::time::sleep(pause).await;
                tokio::task::block_in_place(|| pg.start_again());
            }
            "PostgreSQL SIGSTOP" => {
                pg.pause();
                tokio::time::sleep(pause).await;
                pg.resume();
            }
            "object store slow" => {
                objects.set(Fault::Slow(Duration::from_millis(300)));
                tokio::time::sleep(Duration::from_secs(3)).await;
                objects.set(Fault::None);
            }
            "object store failing" => {
                objects.set(Fault::Share(0.3));
                tokio::time::sleep(Duration::from_secs(3)).await;
                objects.set(Fault::None);
            }
            _ => {
                db_links[victim].set(Fault::All);
                tokio::time::sleep(ttl + Duration::from_secs(1)).await;
                db_links[victim].set(Fault::None);
            }
        }
        *kinds.entry(kind).or_default() += 1;
        events.push((at, lifted.unwrap_or_else(Instant::now), kind, victim));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);
    let mut unacknowledged = 0;
    for p in producers {
        unacknowledged += p.await.unwrap();
    }
    for c in consumers {
        c.await.unwrap();
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
    let duplicated: usize = counts.values().map(|n| n - 1).sum();
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
    // Recovery time of a fault: from its lifting until every partition acknowledged a record
    // again.
    let mut acked_at: Vec<Vec<Instant>> = vec![Vec::new(); PARTITIONS as usize];
    for ((p, _), a) in &acks {
        acked_at[*p as usize].push(a.at);
    }
    for v in &mut acked_at {
        v.sort();
    }
    let mut failovers: Vec<Duration> = Vec::new();
    for (at, t, kind, victim) in &events {
        let recovered = acked_at
            .iter()
            .map(|v| v.iter().find(|at| *at >= t).map(|at| *at - *t))
            .collect::<Option<Vec<_>>>()
            .and_then(|d| d.into_iter().max());
        eprintln!(
            "{kind} (agent {victim}) for {:?}: every partition acknowledged again {recovered:?} \
             after it was lifted",
            *t - *at
        );
        failovers.extend(recovered);
    }
    failovers.sort();
    let (p50, p99) = (percentile(&failovers, 0.5), percentile(&failovers, 0.99));
    let mode = if whole_retry {
        "whole-request retries"
    } else {
        "retrying only unacknowledged records"
    };
    println!(
        "chaos (seed {seed}, {mode}): {cycles} faults {kinds:?}; acknowledged {}, lost {lost}, \
         duplicated {duplicated}, unacknowledged after retries {unacknowledged}, read during \
         the chaos {}; recovery after the faults were lifted p50 {p50:?} p99 {p99:?} max {:?} (lease TTL {ttl:?})",
        acks.len(),
        read.load(Ordering::Relaxed),
        failovers.last().copied().unwrap_or_default()
    );
    assert_eq!(lost, 0, "acknowledged records were lost");
    assert!(
        acks.len() > 5000,
        "the producers made progress: {}",
        acks.len()
    );
    // Each fault can cut short at most the request each producer has in flight.
    let in_flight = cycles * PRODUCERS * BATCH as usize;
    assert!(
        duplicated <= in_flight,
        "{duplicated} duplicates; the requests in flight at the faults held {in_flight} records"
    );
    assert!(read.load(Ordering::Relaxed) > 0, "the consumers read along");
    // The slowest recovery: leases lapsed during the fault are taken again, and a membership
    // change it caused hands partitions over (each handover waits up to a TTL).
    assert!(
        p99 < 2 * ttl + Duration::from_secs(5),
        "recovery p99 {p99:?} after the faults were lifted, with a {ttl:?} lease"
    );
}
