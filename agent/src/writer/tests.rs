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
