//! Storage housekeeping on the embedded default: compaction rewrites flush objects while
//! readers see one unchanged log, key compaction keeps the latest record of each key, orphans
//! are collected (but never an object whose commit is still in flight), and a SIGKILL at any
//! step of compaction or collection loses nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use streamhouse_client::proto::ConsumedRecord;
use streamhouse_client::{Client, ClientError, ProduceRecord, RetryPolicy};
use streamhouse_core::format::decode_object;
use streamhouse_tests::{AgentProcess, bin, eventually, metric_sum, objects_report, read_log};

/// Jobs that run every 200 ms, compact anything of 4 batches at once, keep unreferenced
/// objects 1 s and collect orphans after 2 s (twice the commit deadline).
const FAST: &[(&str, &str)] = &[
    ("STREAMHOUSE_COMPACTION__INTERVAL_MS", "200"),
    ("STREAMHOUSE_COMPACTION__MIN_AGE_MS", "0"),
    ("STREAMHOUSE_COMPACTION__MIN_BATCHES", "4"),
    ("STREAMHOUSE_COMPACTION__TARGET_OBJECT_BYTES", "1048576"),
    ("STREAMHOUSE_GC__INTERVAL_MS", "200"),
    ("STREAMHOUSE_GC__GRACE_MS", "1000"),
    ("STREAMHOUSE_GC__ORPHAN_SCAN_INTERVAL_MS", "200"),
    ("STREAMHOUSE_WRITE__COMMIT_DEADLINE_MS", "1000"),
];

fn env(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env = FAST.to_vec();
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push((k, v));
    }
    env
}

fn object_dir(dir: &Path) -> std::path::PathBuf {
    dir.join("data/objects/tenants/default/objects")
}

/// The record objects on disk (not the local store's staging files, `<key>#d<n>`, which a
/// write the agent was killed in leaves behind and the store's listings skip).
fn object_files(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(object_dir(dir))
        .map(|d| d.map(|e| e.unwrap().path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains('#'))
        .collect()
}

/// What a record was produced as: key, value, and its one header's value.
type Produced = (Option<Bytes>, Option<Bytes>, Bytes);

fn seen(r: &ConsumedRecord) -> Produced {
    let header = r
        .headers
        .first()
        .map(|h| h.value.clone())
        .unwrap_or_default();
    (r.key.clone(), r.value.clone(), header)
}

/// Produces `n` requests of `per` keyed records each; returns what was acknowledged where.
async fn produce_many(
    client: &Client,
    topic: &str,
    n: u32,
    per: u32,
) -> BTreeMap<(u32, u64), Produced> {
    let mut acked = BTreeMap::new();
    for i in 0..n {
        let records: Vec<_> = (0..per)
            .map(|j| {
                ProduceRecord::new(format!("value {i}-{j} {}", "x".repeat(64)))
                    .with_key(format!("key-{i}-{j}"))
                    .with_header("n", format!("{i}"))
            })
            .collect();
        let acks = client.produce(topic, records.clone()).await.unwrap();
        for (a, r) in acks.iter().zip(records) {
            let header = r.headers[0].value.clone();
            acked.insert((a.partition, a.offset), (r.key, r.value, header));
        }
    }
    acked
}

fn assert_log(log: &BTreeMap<(u32, u64), ConsumedRecord>, acked: &BTreeMap<(u32, u64), Produced>) {
    let got: BTreeMap<_, _> = log.iter().map(|(k, r)| (*k, seen(r))).collect();
    assert_eq!(got.len(), acked.len(), "record count");
    for (k, want) in acked {
        assert_eq!(got.get(k), Some(want), "record at {k:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_rewrites_flush_objects_while_readers_see_one_log() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), &env(&[])).await;
    let client = agent.client().await;
    client.create_topic("t", 4, None, "zstd").await.unwrap();

    // A reader reads the whole log over and over while compaction swaps objects under it:
    // every read must be dense from offset 0, whatever it finds.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (client, stop) = (client.clone(), stop.clone());
        tokio::spawn(async move {
            let mut reads = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                reads.push(read_log(&client, "t").await);
            }
            reads
        })
    };
    let acked = produce_many(&client, "t", 300, 8).await;
    let flushes = metric_sum(
        &agent,
        "streamhouse_object_store_requests_total",
        &["op=\"put\""],
    )
    .await;
    eventually(
        "compaction to catch up",
        Duration::from_secs(60),
        async || {
            object_files(dir.path()).len() <= 16
                && objects_report(dir.path(), &[]).get("unreferenced") == Some(&0)
        },
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    let reads = reader.await.unwrap();
    assert!(reads.len() > 3, "the reader read while compaction ran");
    for read in &reads {
        for p in 0..4 {
            let offsets: Vec<u64> = read.range((p, 0)..(p + 1, 0)).map(|(k, _)| k.1).collect();
            let dense: Vec<u64> = (0..offsets.len() as u64).collect();
            assert_eq!(offsets, dense, "partition {p}: no gap, no duplicate");
        }
        for (k, r) in read {
            assert_eq!(Some(&seen(r)), acked.get(k), "record at {k:?}");
        }
    }
    assert_log(&read_log(&client, "t").await, &acked);

    // 300 flushes' objects became a few per partition, which keep the codec and checksums.
    assert!(flushes >= 300.0, "{flushes} puts");
    let mut compacted = 0;
    for path in object_files(dir.path()) {
        let contents = decode_object(&Bytes::from(std::fs::read(&path).unwrap())).unwrap();
        if contents.compacted {
            compacted += 1;
            let partitions: Vec<_> = contents
                .batches
                .iter()
                .map(|b| b.2.header.partition)
                .collect();
            assert!(
                partitions.windows(2).all(|w| w[0] == w[1]),
                "one partition per object"
            );
            for (_, _, b) in &contents.batches {
                assert_eq!(b.header.codec, streamhouse_core::Codec::Zstd);
            }
        }
    }
    assert!(compacted >= 4, "{compacted} compacted objects");
    assert!(metric_sum(&agent, "streamhouse_compaction_swaps_total", &[]).await >= 4.0);
    assert!(metric_sum(&agent, "streamhouse_compaction_read_bytes_total", &[]).await > 0.0);
    assert!(metric_sum(&agent, "streamhouse_objects_deleted_total", &[]).await >= 250.0);
    let stored = metric_sum(&agent, "streamhouse_stored_objects", &["topic=\"t\""]).await;
    assert!((1.0..=16.0).contains(&stored), "{stored} objects exported");
}

fn cli(agent: &AgentProcess, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin("streamhouse"))
        .env("STREAMHOUSE_ADDR", &agent.url)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_compaction_keeps_the_latest_record_of_each_key() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing is old enough to compact while the test produces, however slowly a loaded
    // machine goes; then an agent that compacts at once takes over, and compacts it all in
    // one pass (CI timed out twice when a slow produce left a last batch alone, below
    // min_batches).
    let mut agent = AgentProcess::start(
        dir.path(),
        &env(&[
            ("STREAMHOUSE_COMPACTION__MIN_AGE_MS", "3600000"),
            ("STREAMHOUSE_COMPACTION__MIN_BATCHES", "2"),
        ]),
    )
    .await;
    let client = agent.client().await;
    let (ok, _, err) = cli(
        &agent,
        &[
            "topic",
            "create",
            "kv",
            "--cleanup-policy",
            "compact",
            "--delete-retention-ms",
            "600000",
        ],
    );
    assert!(ok, "{err}");
    let (_, describe, _) = cli(&agent, &["topic", "describe", "kv"]);
    assert!(describe.contains("cleanup_policy compact\n"), "{describe}");
    assert!(
        describe.contains("delete_retention 600000 ms"),
        "{describe}"
    );

    let mut latest: BTreeMap<String, (u64, Option<Bytes>)> = BTreeMap::new();
    let mut send = async |records: Vec<ProduceRecord>| {
        let acks = client.produce("kv", records.clone()).await.unwrap();
        for (a, r) in acks.iter().zip(records) {
            let key = String::from_utf8(r.key.unwrap().to_vec()).unwrap();
            latest.insert(key, (a.offset, r.value));
        }
    };
    for round in 0..5 {
        let records = (0..10)
            .map(|k| ProduceRecord::new(format!("k{k} round {round}")).with_key(format!("k{k}")))
            .collect();
        send(records).await;
    }
    let hour_ago = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 3_600_000;
    let tombstone = |key: &str, timestamp_ms: i64| ProduceRecord {
        key: Some(Bytes::from(key.to_owned())),
        value: None,
        timestamp_ms,
        ..ProduceRecord::default()
    };
    // k3's tombstone is older than delete_retention_ms: it goes, and k3 with it; k4's stays.
    send(vec![tombstone("k3", hour_ago), tombstone("k4", 0)]).await;
    send(vec![ProduceRecord::new("k5 last").with_key("k5")]).await;
    let hw = client.describe_topic("kv").await.unwrap().1[0].high_watermark;
    assert_eq!(hw, 53);
    assert_eq!(agent.terminate(), Some(0), "{}", agent.log());
    let agent = AgentProcess::start(
        dir.path(),
        &env(&[("STREAMHOUSE_COMPACTION__MIN_BATCHES", "2")]),
    )
    .await;
    let client = agent.client().await;

    latest.remove("k3");
    let want: BTreeMap<u64, (String, Option<Bytes>)> = latest
        .iter()
        .map(|(k, (o, v))| (*o, (k.clone(), v.clone())))
        .collect();
    eventually("key compaction", Duration::from_secs(30), async || {
        read_log(&client, "kv").await.len() == want.len()
    })
    .await;
    let log = read_log(&client, "kv").await;
    let got: BTreeMap<u64, (String, Option<Bytes>)> = log
        .iter()
        .map(|((_, o), r)| {
            let key = String::from_utf8(r.key.clone().unwrap().to_vec()).unwrap();
            (*o, (key, r.value.clone()))
        })
        .collect();
    // The latest record of each key, at the offset it was written at: gaps, never reordering.
    assert_eq!(got, want);
    assert_eq!(got[&want.keys().copied().max().unwrap()].0, "k5");
    assert_eq!(
        client.describe_topic("kv").await.unwrap().1[0].high_watermark,
        hw
    );
    assert!(metric_sum(&agent, "streamhouse_compaction_removed_records_total", &[]).await >= 44.0);

    // The CLI reads past the gaps, and the topic takes new records after them.
    let (ok, out, err) = cli(&agent, &["consume", "kv"]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), want.len(), "{out}");
    let a = client
        .produce("kv", vec![ProduceRecord::new("k0 new").with_key("k0")])
        .await
        .unwrap();
    assert_eq!(a[0].offset, hw);

    let (ok, out, err) = cli(
        &agent,
        &[
            "topic",
            "alter",
            "kv",
            "--cleanup-policy",
            "compact,delete",
            "--retention-bytes",
            "1048576",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("cleanup_policy compact,delete"), "{out}");
    let (_, describe, _) = cli(&agent, &["topic", "describe", "kv"]);
    assert!(
        describe.contains("retention_bytes 1048576 bytes per partition"),
        "{describe}"
    );
    let (ok, _, err) = cli(
        &agent,
        &["topic", "alter", "kv", "--cleanup-policy", "shred"],
    );
    assert!(!ok);
    assert!(err.contains("unknown cleanup policy \"shred\""), "{err}");
}

fn no_retry(client: Client) -> Client {
    client.with_retry(RetryPolicy {
        timeout: Duration::ZERO,
        ..RetryPolicy::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_are_collected_but_never_an_object_whose_commit_is_in_flight() {
    // A crash between an object's PUT and its commit leaves an orphan.
    let dir = tempfile::tempdir().unwrap();
    let mut crashing = AgentProcess::start(
        dir.path(),
        &env(&[("STREAMHOUSE_FAILPOINT", "flush.after_put")]),
    )
    .await;
    let client = no_retry(crashing.client().await);
    client.create_topic("t", 1, None, "none").await.unwrap();
    assert!(
        client
            .produce("t", vec![ProduceRecord::new("lost")])
            .await
            .is_err()
    );
    let (code, log) = crashing.wait_exit(Duration::from_secs(10));
    assert_eq!(code, None, "killed by its abort:\n{log}");
    assert_eq!(object_files(dir.path()).len(), 1, "the orphan");
    let agent = AgentProcess::start(dir.path(), &env(&[])).await;
    eventually(
        "the orphan's collection",
        Duration::from_secs(20),
        async || object_files(dir.path()).is_empty(),
    )
    .await;
    assert!(metric_sum(&agent, "streamhouse_orphans_found_total", &[]).await >= 1.0);
    assert_eq!(objects_report(dir.path(), &[])["unknown"], 0);
    drop(agent);

    // A commit that takes 1.5 s: orphan collection runs every 200 ms meanwhile, and leaves its
    // object alone (it is younger than twice the 3 s commit deadline).
    let dir = tempfile::tempdir().unwrap();
    let slow = AgentProcess::start(
        dir.path(),
        &env(&[
            ("STREAMHOUSE_FAILPOINT", "flush.delay_commit=1500"),
            ("STREAMHOUSE_WRITE__COMMIT_DEADLINE_MS", "3000"),
        ]),
    )
    .await;
    let client = no_retry(slow.client().await);
    client.create_topic("t", 1, None, "none").await.unwrap();
    let a = client
        .produce("t", vec![ProduceRecord::new("slow")])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(7)).await;
    let f = client.fetch("t", 0, a[0].offset, 1 << 20, 0).await.unwrap();
    assert_eq!(f.records[0].value.as_deref(), Some(&b"slow"[..]));
    assert_eq!(
        metric_sum(&slow, "streamhouse_orphans_found_total", &[]).await,
        0.0
    );
    drop(slow);

    // A commit that comes after its deadline is refused: its object is collected, nothing
    // was acknowledged.
    let dir = tempfile::tempdir().unwrap();
    let late = AgentProcess::start(
        dir.path(),
        &env(&[("STREAMHOUSE_FAILPOINT", "flush.delay_commit=5000")]),
    )
    .await;
    let client = no_retry(late.client().await);
    client.create_topic("t", 1, None, "none").await.unwrap();
    match client.produce("t", vec![ProduceRecord::new("late")]).await {
        Err(ClientError::Status(s)) => {
            assert_eq!(s.code(), tonic::Code::Unavailable, "{s:?}");
            assert!(s.message().contains("orphan"), "{s:?}");
        }
        other => panic!("expected UNAVAILABLE, got {other:?}"),
    }
    assert_eq!(
        client.describe_topic("t").await.unwrap().1[0].high_watermark,
        0
    );
    eventually(
        "the late object's collection",
        Duration::from_secs(20),
        async || object_files(dir.path()).is_empty(),
    )
    .await;
    assert!(metric_sum(&late, "streamhouse_orphans_found_total", &[]).await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_at_any_step_of_compaction_or_collection_loses_nothing() {
    for step in [
        "compaction.before_put",
        "compaction.after_put",
        "compaction.after_swap",
        "gc.after_delete",
    ] {
        let dir = tempfile::tempdir().unwrap();
        // A 2 s lease: the restarted agent takes the dead one's jobs and partitions soon.
        let mut crashing = AgentProcess::start(
            dir.path(),
            &env(&[
                ("STREAMHOUSE_FAILPOINT", step),
                ("STREAMHOUSE_LEASE__TTL_MS", "2000"),
            ]),
        )
        .await;
        let client = crashing.client().await;
        client.create_topic("t", 2, None, "lz4").await.unwrap();
        let mut acked = BTreeMap::new();
        // The produce the crash cut may have been committed without its answer reaching us.
        let mut unanswered = None;
        for i in 0..40u32 {
            let records = vec![
                ProduceRecord::new(format!("{step} {i}"))
                    .with_key(format!("{i}"))
                    .with_header("n", format!("{i}")),
            ];
            // The crash may come at any produce; later ones fail.
            let Ok(acks) = no_retry(client.clone()).produce("t", records.clone()).await else {
                unanswered = records[0].value.clone();
                break;
            };
            let r = &records[0];
            acked.insert(
                (acks[0].partition, acks[0].offset),
                (r.key.clone(), r.value.clone(), r.headers[0].value.clone()),
            );
        }
        let (code, log) = crashing.wait_exit(Duration::from_secs(30));
        assert_eq!(code, None, "{step}: killed by its abort:\n{log}");
        assert!(log.contains(&format!("failpoint {step}")), "{log}");
        assert!(acked.len() >= 4, "{step}: {} acknowledged", acked.len());

        // Restarted, the agent redoes what was not done and collects what was left.
        let agent =
            AgentProcess::start(dir.path(), &env(&[("STREAMHOUSE_LEASE__TTL_MS", "2000")])).await;
        let client = agent.client().await;
        // Killed before its swap, the compaction is done again.
        let redo = step.starts_with("compaction") && step != "compaction.after_swap";
        eventually(
            &format!("{step}: compaction and collection"),
            Duration::from_secs(30),
            async || {
                let report = objects_report(dir.path(), &[]);
                report["unknown"] == 0
                    && report["unreferenced"] == 0
                    && report["objects"] as usize == object_files(dir.path()).len()
                    && (!redo
                        || metric_sum(&agent, "streamhouse_compaction_swaps_total", &[]).await
                            >= 1.0)
            },
        )
        .await;
        let mut log = read_log(&client, "t").await;
        log.retain(|_, r| r.value != unanswered || unanswered.is_none());
        assert_log(&log, &acked);
        if step == "compaction.after_put" {
            assert!(metric_sum(&agent, "streamhouse_orphans_found_total", &[]).await >= 1.0);
        }
    }
}
