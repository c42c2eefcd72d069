//! The write path's tests: pipelined flushes, fencing within a shared object, renewals.

use std::time::Duration;

use streamhouse_core::LeaseKey;

use crate::error::AgentError;
use crate::testing::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_are_dense_across_pipelined_flushes() {
    let h = Harness::new(1, Duration::from_millis(2)).await;
    let appends = (0..40).map(|i| h.append(0, 1 + i % 5));
    let mut ranges: Vec<(u64, u64)> = futures::future::join_all(appends)
        .await
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let base = r.unwrap();
            (base, base + 1 + (i % 5) as u64)
        })
        .collect();
    ranges.sort();
    let mut next = 0;
    for (start, end) in ranges {
        assert_eq!(start, next, "no gap, no overlap");
        next = end;
    }
    let stored = h.meta.store.partition_offset(h.topic.id, 0).await.unwrap();
    assert_eq!(stored.high_watermark, next);
    let p = h.partitions.get(h.topic.id, 0).unwrap();
    assert_eq!(p.high_watermark(), next);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_partition_of_a_shared_object_fails_only_itself() {
    // Long enough that both appends below land in one flush, hence one object.
    let h = Harness::new(2, Duration::from_millis(300)).await;
    assert_eq!(h.append(0, 1).await.unwrap(), 0);
    assert_eq!(h.append(1, 1).await.unwrap(), 0);
    // Another holder takes partition 1's lease behind this agent's back (its own lease
    // still looks valid here).
    let key = LeaseKey {
        tenant: h.topic.spec.tenant.clone(),
        topic_id: h.topic.id,
        partition: 1,
    };
    let mine = h.meta.leases.get(&key).await.unwrap().unwrap();
    h.meta.leases.release(&mine).await.unwrap();
    let theirs = h
        .meta
        .leases
        .acquire(&key, "thief", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(theirs.epoch, mine.epoch + 1);
    let failovers = h.metrics.failover_total.get();

    let (healthy, fenced) = tokio::join!(h.append(0, 3), h.append(1, 3));
    assert_eq!(healthy.unwrap(), 1, "the healthy partition is acknowledged");
    match fenced {
        Err(AgentError::Unavailable(m)) => assert!(m.contains("leadership moved"), "{m}"),
        other => panic!("expected the fenced partition to fail, got {other:?}"),
    }
    let p0 = h.partitions.get(h.topic.id, 0).unwrap();
    let p1 = h.partitions.get(h.topic.id, 1).unwrap();
    assert!(
        p0.is_led() && p0.lease_valid(),
        "the healthy partition keeps its lease"
    );
    assert!(!p1.is_led(), "the fenced partition gives its lease up");
    assert_eq!(h.metrics.failover_total.get(), failovers);
    // The healthy partition goes on where it was; the fenced one's records are nowhere.
    assert_eq!(h.append(0, 1).await.unwrap(), 4);
    let offsets = h.meta.store.partition_offsets(h.topic.id).await.unwrap();
    assert_eq!(
        offsets.iter().map(|p| p.high_watermark).collect::<Vec<_>>(),
        vec![5, 1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_needs_no_write_lock_and_keeps_every_lease() {
    let h = Harness::new(50, Duration::from_millis(2)).await;
    for p in 0..50 {
        h.append(p, 1).await.unwrap();
    }
    let busy = h.partitions.get(h.topic.id, 7).unwrap();
    // An append holds partition 7's write lock for the whole renewal.
    let guard = h.partitions.lock_for_append(&busy).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), h.partitions.renew_all())
        .await
        .expect("renewal does not wait for write locks");
    drop(guard);
    assert_eq!(h.partitions.led().len(), 50);
    assert_eq!(h.metrics.lease_renewal_failures.get(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_lost_behind_the_agents_back_is_dropped_at_the_next_renewal() {
    let h = Harness::new(2, Duration::from_millis(2)).await;
    h.append(0, 1).await.unwrap();
    h.append(1, 1).await.unwrap();
    let key = LeaseKey {
        tenant: h.topic.spec.tenant.clone(),
        topic_id: h.topic.id,
        partition: 0,
    };
    let mine = h.meta.leases.get(&key).await.unwrap().unwrap();
    h.meta.leases.release(&mine).await.unwrap();
    h.meta
        .leases
        .acquire(&key, "thief", Duration::from_secs(60))
        .await
        .unwrap();
    let p0 = h.partitions.get(h.topic.id, 0).unwrap();
    let generation = p0.generation();
    h.partitions.renew_all().await;
    // The reset runs in a task of its own.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!p0.is_led());
    assert!(p0.generation() > generation, "its pending batches are void");
    assert!(h.partitions.get(h.topic.id, 1).unwrap().lease_valid());
}

/// Four appends to partitions 0 to 3, each in a flush of its own, while another connection
/// holds SQLite's write lock and runs `meanwhile` in its transaction: the first object's
/// commit waits for the lock, the other three are written meanwhile. Returns the appends'
/// results and how many commits they took.
async fn commit_behind_a_lock(
    h: &Harness,
    meanwhile: &str,
) -> (Vec<crate::error::AgentResult<u64>>, u64) {
    use sqlx::Connection as _;
    use streamhouse_core::metered::{MetadataOp, ObjectOp};

    // Leases and next offsets first, so that below only commits need the write lock.
    for p in 0..4 {
        assert_eq!(h.append(p, 1).await.unwrap(), 0);
    }
    let commits = || h.meta_usage.get(MetadataOp::Commit).requests;
    let puts = || h.usage.get(ObjectOp::Put).requests;
    let (commits_before, puts_before) = (commits(), puts());
    let url = format!("sqlite://{}", h.db_path.display());
    let mut blocker = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    sqlx::raw_sql(meanwhile)
        .execute(&mut blocker)
        .await
        .unwrap();
    let appends = futures::future::join_all((0..4u32).map(|p| async move {
        // Each append waits for the previous one's object: one flush each.
        while puts() < puts_before + u64::from(p) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        h.append(p, 2).await
    }));
    let release = async {
        while puts() < puts_before + 4 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    };
    let (results, ()) = tokio::join!(appends, release);
    (results, commits() - commits_before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_written_while_a_commit_waits_are_committed_together() {
    let h = Harness::new(4, Duration::from_millis(1)).await;
    let (results, commits) = commit_behind_a_lock(&h, "SELECT 1").await;
    for r in results {
        assert_eq!(r.unwrap(), 1, "every partition's batch follows its first");
    }
    assert_eq!(
        commits, 2,
        "the first object's commit waited for the lock; the three written meanwhile went in one"
    );
    for p in 0..4 {
        let stored = h.meta.store.partition_offset(h.topic.id, p).await.unwrap();
        assert_eq!(stored.high_watermark, 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_group_is_committed_object_by_object() {
    let h = Harness::new(4, Duration::from_millis(1)).await;
    // While the lock is held, another holder takes partition 2's lease.
    let steal = "UPDATE leases SET holder = 'thief', epoch = epoch + 1 WHERE partition = 2";
    let (results, commits) = commit_behind_a_lock(&h, steal).await;
    let results: Vec<_> = results.into_iter().map(|r| r.ok()).collect();
    assert_eq!(
        results,
        [Some(1), Some(1), None, Some(1)],
        "only the fenced partition fails"
    );
    // The first object alone, the refused group, then its three objects one by one.
    assert_eq!(commits, 5);
    let hws: Vec<_> = h.meta.store.partition_offsets(h.topic.id).await.unwrap();
    let hws: Vec<_> = hws.iter().map(|p| p.high_watermark).collect();
    assert_eq!(hws, [3, 3, 1, 3]);
}
