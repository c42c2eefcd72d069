//! One agent per SQLite metadata store: a second agent on the same data directory is refused
//! with a clear error (the lock is the OS's, so a `kill -9`ed agent does not hold it).
//!
//! The zombie test — SIGSTOP a leader past its lease, let another agent take over, SIGCONT —
//! runs on PostgreSQL, where several agents share one metadata store (a paused process
//! holding SQLite's write lock would stall every other writer). Fencing is also proven at the
//! store level by the conformance case `zombie_commit_is_fenced_and_changes_nothing`, which
//! every metadata backend runs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use streamhouse_client::Client;
use streamhouse_client::{ProduceRecord, RetryPolicy};
use streamhouse_tests::{
    AgentProcess, Metadata, bin, env_refs, eventually, objects_report, read_log,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_agent_on_one_sqlite_store_is_refused_until_the_first_dies() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = AgentProcess::start_named(dir.path(), "first", &[]).await;
    let out = std::process::Command::new(bin("streamhouse-agent"))
        .current_dir(dir.path())
        .env("STREAMHOUSE_AGENT__GRPC_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("data/metadata.db is in use by another process"),
        "{err}"
    );
    first.pause();
    let still = std::process::Command::new(bin("streamhouse-agent"))
        .current_dir(dir.path())
        .env("STREAMHOUSE_AGENT__GRPC_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(
        still.status.code(),
        Some(1),
        "a paused agent still holds the store"
    );
    first.resume();
    first.kill9();
    let second = AgentProcess::start_named(dir.path(), "second", &[]).await;
    // It answers health checks a moment before it logs that it serves.
    second
        .wait_for_log("agent serving", Duration::from_secs(5))
        .await;
}

/// The log after the zombie woke: dense, every acknowledged record at its offset, and nothing
/// else but records whose produce failed without an answer the client could trust. Such a
/// produce may still have been committed: A forwards a produce for a partition it lost to B,
/// and gives up after its forwarding timeout (a third of the lease TTL) while B, slowed by the
/// zombie's row locks, commits it; B's client retries a produce whose commit outcome B could
/// not learn, so that record may be in the log twice. A write that commits while fenced would
/// break what this does check: a record at an offset acknowledged for another, or two
/// acknowledgements of one offset (which the producers assert).
async fn assert_fenced_log(
    client: &Client,
    acked: &BTreeMap<(u32, u64), String>,
    failed: &BTreeSet<String>,
    logs: impl Fn() -> String,
) {
    let log = read_log(client, "t").await;
    let mut extra = Vec::new();
    let mut last: BTreeMap<u32, u64> = BTreeMap::new();
    for ((p, o), r) in &log {
        if let Some(prev) = last.insert(*p, *o) {
            assert_eq!(*o, prev + 1, "partition {p}: dense offsets");
        }
        let v = String::from_utf8(r.value.clone().expect("value").to_vec()).unwrap();
        match acked.get(&(*p, *o)) {
            Some(want) => assert_eq!(&v, want, "{p}:{o}"),
            None => extra.push(((*p, *o), v)),
        }
    }
    for at in acked.keys() {
        assert!(log.contains_key(at), "acknowledged {at:?} is missing");
    }
    let acked_values: BTreeSet<&String> = acked.values().collect();
    for (at, v) in &extra {
        let retried = v.starts_with("b-") && acked_values.contains(v);
        assert!(
            failed.contains(v) || retried,
            "{at:?} holds {v:?}, which was neither acknowledged nor refused\n{}",
            logs()
        );
    }
    if !extra.is_empty() {
        eprintln!("records of produces that failed or were retried: {extra:?}");
    }
}

/// Produces one record per request until `stop`; records every acknowledgement (asserting no
/// offset is acknowledged twice) and returns the values whose produce failed.
fn producer(
    client: streamhouse_client::Client,
    name: String,
    acked: Arc<Mutex<BTreeMap<(u32, u64), String>>>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut failed = Vec::new();
        let mut i = 0u64;
        while !stop.load(Ordering::SeqCst) {
            let v = format!("{name}-{i}");
            i += 1;
            let r = tokio::time::timeout(
                Duration::from_secs(30),
                client.produce(
                    "t",
                    vec![ProduceRecord::new(v.clone()).with_partition((i % 2) as u32)],
                ),
            )
            .await;
            match r {
                Ok(Ok(a)) => {
                    let prev = acked
                        .lock()
                        .unwrap()
                        .insert((a[0].partition, a[0].offset), v);
                    assert!(
                        prev.is_none(),
                        "offset {}:{} acknowledged twice",
                        a[0].partition,
                        a[0].offset
                    );
                }
                _ => {
                    failed.push(v);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        failed
    })
}

/// The zombie test on PostgreSQL, where several agents share one metadata store: SIGSTOP the
/// leader mid-stream past its lease, let a second agent take over and accept writes, SIGCONT
/// the first. Its pending commits are rejected, its producers get retriable errors, no offset
/// is ever acknowledged twice, and every acknowledged record is read back at its offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_leader_is_fenced_after_its_lease_moves() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = Metadata::Postgres.env().await;
    env.push(("STREAMHOUSE_LEASE__TTL_MS".into(), "2000".into()));
    // The zombie's fenced objects are orphans, collected once 4 s old.
    env.push((
        "STREAMHOUSE_WRITE__COMMIT_DEADLINE_MS".into(),
        "2000".into(),
    ));
    env.push(("STREAMHOUSE_GC__INTERVAL_MS".into(), "200".into()));
    env.push(("STREAMHOUSE_GC__GRACE_MS".into(), "0".into()));
    env.push((
        "STREAMHOUSE_GC__ORPHAN_SCAN_INTERVAL_MS".into(),
        "200".into(),
    ));
    // A frozen agent's open transaction is ended by the server after 2 x 1 s.
    env.push((
        "STREAMHOUSE_METADATA__STATEMENT_TIMEOUT_MS".into(),
        "1000".into(),
    ));
    // Both agents share the data directory, hence the local object store.
    let a = AgentProcess::start_named(dir.path(), "agent-a", &env_refs(&env)).await;
    let no_retry = RetryPolicy {
        timeout: Duration::ZERO,
        ..RetryPolicy::default()
    };
    let client_a = a.client().await.with_retry(no_retry);
    client_a.create_topic("t", 2, None, "none").await.unwrap();
    let acked: Arc<Mutex<BTreeMap<(u32, u64), String>>> = Arc::default();
    let stop_a = Arc::new(AtomicBool::new(false));
    let producers_a: Vec<_> = (0..4)
        .map(|i| {
            producer(
                client_a.clone(),
                format!("a{i}"),
                acked.clone(),
                stop_a.clone(),
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(acked.lock().unwrap().len() > 10, "agent A accepted writes");

    // Freeze A mid-stream, produces in flight, and let its leases lapse.
    a.pause();
    let b = AgentProcess::start_named(dir.path(), "agent-b", &env_refs(&env)).await;
    let client_b = b.client().await;
    let stop_b = Arc::new(AtomicBool::new(false));
    let producer_b = producer(client_b.clone(), "b".into(), acked.clone(), stop_b.clone());
    let before = acked.lock().unwrap().len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < before + 50 {
        assert!(
            Instant::now() < deadline,
            "agent B never took over:\n{}",
            b.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Wake the zombie: whatever it assigned or buffered must not commit.
    a.resume();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop_a.store(true, Ordering::SeqCst);
    stop_b.store(true, Ordering::SeqCst);
    let mut failed = BTreeSet::new();
    let mut failed_a = 0;
    for p in producers_a {
        let values = p.await.unwrap();
        failed_a += values.len();
        failed.extend(values);
    }
    failed.extend(producer_b.await.unwrap());
    assert!(
        failed_a > 0,
        "A's producers saw retriable errors after it lost its leases"
    );
    assert!(b.log().contains("leading partition"), "{}", b.log());
    // A learnt that B leads: its commit was fenced, or its lease renewal found B's lease.
    let log_a = a.log();
    assert!(
        log_a.contains("lease is held by agent-b") || log_a.contains("lease lost"),
        "{log_a}"
    );
    let acked = acked.lock().unwrap().clone();
    assert_fenced_log(&client_b, &acked, &failed, || {
        format!("A:\n{}\nB:\n{}", a.log(), b.log())
    })
    .await;
    // What the zombie wrote but could not commit is collected; what B committed stays.
    let env = env_refs(&env);
    eventually(
        "the zombie's orphans' collection",
        Duration::from_secs(30),
        async || {
            let report = objects_report(dir.path(), &env);
            report["unknown"] == 0 && report["unreferenced"] == 0
        },
    )
    .await;
    assert_fenced_log(&client_b, &acked, &failed, || {
        format!("A:\n{}\nB:\n{}", a.log(), b.log())
    })
    .await;
}
