//! The storage-lifecycle conformance suite: retention by time and size, topic settings, the
//! grace period of unreferenced objects, orphan claims and compaction's fenced swap.

use std::time::Duration;

use super::metadata::{batch, commit, lead, name, spec, tenant};
use crate::clock::now_ms;
use crate::lease::LeaseKey;
use crate::lifecycle::{CompactionSwap, OrphanCandidate, RestoredObject, SwapBatch};
use crate::metadata::{CommitBatch, MetadataError};
use crate::registry::MetadataParts;
use crate::types::{CleanupPolicy, TopicInfo, TopicSettings, TopicSpec};

/// Sorted keys of the objects unreferenced for at least `grace_ms`.
async fn free(m: &MetadataParts, grace_ms: i64) -> Vec<String> {
    let mut keys = m.store.unreferenced_objects(grace_ms, 100).await.unwrap();
    keys.sort();
    keys
}

/// Retention drops a prefix of old batches, raises the log start, and frees objects once no
/// batch of any partition references them, after the grace period.
pub async fn retention_expires_a_prefix_and_frees_objects(m: &MetadataParts) {
    let t = m.store.create_topic(&spec("acme", "ret", 2)).await.unwrap();
    let e0 = lead(m, &t, 0, "a").await;
    let e1 = lead(m, &t, 1, "a").await;
    let ts = |mut b: CommitBatch, ts: i64| {
        b.max_timestamp_ms = ts;
        b
    };
    // o1 holds old batches of both partitions; o2 an old one of p0; o3 a new one of p0.
    let old = vec![
        ts(batch(&t, 0, 0, 5, e0), 1_000),
        ts(batch(&t, 1, 0, 5, e1), 1_000),
    ];
    m.store
        .commit_object(&commit(&t, "o1", "a", old))
        .await
        .unwrap();
    let o2 = vec![ts(batch(&t, 0, 5, 5, e0), 2_000)];
    m.store
        .commit_object(&commit(&t, "o2", "a", o2))
        .await
        .unwrap();
    let o3 = vec![ts(batch(&t, 0, 10, 5, e0), 9_000)];
    m.store
        .commit_object(&commit(&t, "o3", "a", o3))
        .await
        .unwrap();
    assert!(free(m, 0).await.is_empty());

    assert_eq!(m.store.expire_before(t.id, 0, 5_000).await.unwrap(), 10);
    let p = m.store.partition_offsets(t.id).await.unwrap();
    assert_eq!((p[0].log_start_offset, p[0].high_watermark), (10, 15));
    assert_eq!((p[1].log_start_offset, p[1].high_watermark), (0, 5));
    let left: Vec<_> = m.store.lookup(t.id, 0, 0, 10).await.unwrap();
    assert_eq!(left.iter().map(|e| e.base_offset).collect::<Vec<_>>(), [10]);
    // o2 is unreferenced from now on; a minute's grace keeps it from deletion.
    assert!(free(m, 60_000).await.is_empty());
    // o1 still holds partition 1's batch.
    assert_eq!(free(m, 0).await, ["o2"]);

    // Everything of partition 1 expires: the log starts at the high watermark.
    assert_eq!(m.store.expire_before(t.id, 1, 5_000).await.unwrap(), 5);
    assert_eq!(free(m, 0).await, ["o1", "o2"]);
    // Expiring again changes nothing; the log start never moves back.
    assert_eq!(m.store.expire_before(t.id, 1, 0).await.unwrap(), 5);

    m.store.forget_object("o1").await.unwrap();
    m.store.forget_object("o1").await.unwrap();
    assert_eq!(free(m, 0).await, ["o2"]);
    // A deleted topic's objects are freed too.
    m.store
        .delete_topic(&tenant("acme"), &name("ret"))
        .await
        .unwrap();
    assert_eq!(free(m, 0).await, ["o2", "o3"]);
}

/// Retention by size keeps the newest batches that fit the limit, and always the newest one.
pub async fn retention_by_size_keeps_the_newest_bytes(m: &MetadataParts) {
    let t = m
        .store
        .create_topic(&spec("acme", "size", 1))
        .await
        .unwrap();
    let e = lead(m, &t, 0, "a").await;
    // Four batches of 500 bytes each (size is 100 per record).
    for (i, key) in ["s1", "s2", "s3", "s4"].iter().enumerate() {
        let b = vec![batch(&t, 0, 5 * i as u64, 5, e)];
        m.store
            .commit_object(&commit(&t, key, "a", b))
            .await
            .unwrap();
    }
    // 1,200 bytes keep the two newest batches.
    assert_eq!(m.store.expire_to_size(t.id, 0, 1_200).await.unwrap(), 10);
    // Nothing more goes while they fit.
    assert_eq!(m.store.expire_to_size(t.id, 0, 1_000).await.unwrap(), 10);
    // A limit smaller than one batch keeps the newest batch.
    assert_eq!(m.store.expire_to_size(t.id, 0, 1).await.unwrap(), 15);
    let left = m.store.lookup(t.id, 0, 15, 10).await.unwrap();
    assert_eq!(left.iter().map(|e| e.base_offset).collect::<Vec<_>>(), [15]);
    assert_eq!(free(m, 0).await, ["s1", "s2", "s3"]);
    let e = m.store.expire_to_size(t.id, 9, 1).await.unwrap_err();
    assert!(matches!(e, MetadataError::NotFound(_)), "{e}");
}

/// Retention and cleanup settings are stored at creation and can be altered.
pub async fn topic_settings_are_created_and_altered(m: &MetadataParts) {
    let created = m
        .store
        .create_topic(&TopicSpec {
            retention_bytes: Some(1 << 30),
            cleanup_policy: CleanupPolicy::CompactDelete,
            delete_retention_ms: 60_000,
            ..spec("acme", "settings", 1)
        })
        .await
        .unwrap();
    let got = m
        .store
        .get_topic(&tenant("acme"), &name("settings"))
        .await
        .unwrap();
    assert_eq!(got, created);
    assert_eq!(got.spec.cleanup_policy, CleanupPolicy::CompactDelete);
    assert_eq!(got.spec.retention_bytes, Some(1 << 30));

    let settings = TopicSettings {
        retention_ms: None,
        retention_bytes: Some(4096),
        cleanup_policy: CleanupPolicy::Compact,
        delete_retention_ms: 0,
    };
    let altered = m
        .store
        .alter_topic(&tenant("acme"), &name("settings"), &settings)
        .await
        .unwrap();
    assert_eq!(altered.spec.settings(), settings);
    assert_eq!(altered.id, created.id);
    let listed = m.store.list_topics(Some(&tenant("acme"))).await.unwrap();
    assert_eq!(listed, [altered]);

    let e = m
        .store
        .alter_topic(&tenant("acme"), &name("nope"), &settings)
        .await
        .unwrap_err();
    assert!(matches!(e, MetadataError::NotFound(_)), "{e}");
    let bad = TopicSettings {
        retention_bytes: Some(0),
        ..settings
    };
    let e = m
        .store
        .alter_topic(&tenant("acme"), &name("settings"), &bad)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, MetadataError::InvalidInput(m) if m.contains("retention_bytes")),
        "{e}"
    );
}

/// Orphans are claimed only when the store does not know them and they are past the grace
/// period; a claimed object, or any commit past its deadline, is never committed.
pub async fn orphans_are_claimed_only_when_unknown_and_old(m: &MetadataParts) {
    let t = m
        .store
        .create_topic(&spec("acme", "orphans", 1))
        .await
        .unwrap();
    let e = lead(m, &t, 0, "a").await;
    m.store
        .commit_object(&commit(&t, "known", "a", vec![batch(&t, 0, 0, 5, e)]))
        .await
        .unwrap();
    let now = now_ms();
    let candidate = |key: &str, key_time_ms: i64| OrphanCandidate {
        object_key: key.into(),
        size: 10,
        key_time_ms,
    };
    let candidates = [
        candidate("known", now - 120_000),
        candidate("old", now - 120_000),
        candidate("young", now),
    ];
    let claimed = m
        .store
        .claim_orphans(&tenant("acme"), &candidates, 60_000)
        .await
        .unwrap();
    assert_eq!(claimed, ["old"]);
    // Claiming again finds it known.
    let again = m
        .store
        .claim_orphans(&tenant("acme"), &candidates, 60_000)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    // A claimed orphan is collectable at once, whatever the grace.
    assert_eq!(free(m, 3_600_000).await, ["old"]);

    // Its writer's late commit is refused, and so is any commit past its deadline.
    let late = commit(&t, "old", "a", vec![batch(&t, 0, 5, 5, e)]);
    let err = m.store.commit_object(&late).await.unwrap_err();
    assert!(
        matches!(&err, MetadataError::Conflict(m) if m.contains("orphan")),
        "{err}"
    );
    let mut expired = commit(&t, "young", "a", vec![batch(&t, 0, 5, 5, e)]);
    expired.deadline_ms = now_ms() - 1;
    let err = m.store.commit_object(&expired).await.unwrap_err();
    assert!(
        matches!(&err, MetadataError::Conflict(m) if m.contains("deadline")),
        "{err}"
    );
    let p = m.store.partition_offset(t.id, 0).await.unwrap();
    assert_eq!(p.high_watermark, 5);
    m.store.forget_object("old").await.unwrap();
    assert!(free(m, 0).await.is_empty());
}

/// A compaction's swap replaces exactly the rows it read, under the job's lease, and the
/// objects it replaced become unreferenced.
pub async fn compaction_swaps_rows_under_the_job_lease(m: &MetadataParts) {
    let t = m
        .store
        .create_topic(&spec("acme", "compact", 2))
        .await
        .unwrap();
    let e0 = lead(m, &t, 0, "a").await;
    let e1 = lead(m, &t, 1, "a").await;
    let both = vec![batch(&t, 0, 0, 5, e0), batch(&t, 1, 0, 5, e1)];
    m.store
        .commit_object(&commit(&t, "f1", "a", both))
        .await
        .unwrap();
    let f2 = vec![batch(&t, 0, 5, 5, e0)];
    m.store
        .commit_object(&commit(&t, "f2", "a", f2))
        .await
        .unwrap();
    let f3 = vec![batch(&t, 0, 10, 5, e0)];
    m.store
        .commit_object(&commit(&t, "f3", "a", f3))
        .await
        .unwrap();
    let rows = m.store.partition_batches(t.id, 0, 0, 10).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| !r.compacted));
    // Partition 0 has three rows in flush objects (1,500 bytes), partition 1 one.
    let candidates = m.store.compaction_candidates(3, 1 << 40).await.unwrap();
    assert_eq!(candidates, [(t.id, 0)]);
    let candidates = m.store.compaction_candidates(9, 500).await.unwrap();
    assert_eq!(candidates, [(t.id, 0), (t.id, 1)]);

    let job = LeaseKey {
        tenant: tenant("streamhouse-jobs"),
        topic_id: -2,
        partition: 0,
    };
    let lease = m
        .leases
        .acquire(&job, "compactor", Duration::from_secs(30))
        .await
        .unwrap();
    let sb = |base, end, position| SwapBatch {
        base_offset: base,
        end_offset: end,
        position,
        size: 300,
        max_timestamp_ms: 2_000,
    };
    let swap = CompactionSwap {
        tenant: tenant("acme"),
        topic_id: t.id,
        partition: 0,
        start_offset: 0,
        end_offset: 10,
        replaced: vec![(0, "f1".into()), (5, "f2".into())],
        object_key: "c1".into(),
        object_size: 700,
        batches: vec![sb(0, 7, 20), sb(7, 10, 320)],
        lease: lease.clone(),
        deadline_ms: i64::MAX,
    };
    m.store.swap_batches(&swap).await.unwrap();
    let rows = m.store.partition_batches(t.id, 0, 0, 10).await.unwrap();
    let seen: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.entry.base_offset,
                r.entry.end_offset(),
                r.entry.object_key.as_str(),
                r.compacted,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (0, 7, "c1", true),
            (7, 10, "c1", true),
            (10, 15, "f3", false)
        ]
    );
    let found = m.store.lookup(t.id, 0, 8, 10).await.unwrap();
    assert_eq!((found[0].base_offset, found[0].object_size), (7, 700));
    assert_eq!(
        m.store
            .partition_offset(t.id, 0)
            .await
            .unwrap()
            .high_watermark,
        15
    );
    // f1 still holds partition 1's batch; f2 is free.
    assert_eq!(free(m, 0).await, ["f2"]);

    // The same swap again finds other rows.
    let again = CompactionSwap {
        object_key: "c2".into(),
        ..swap.clone()
    };
    let err = m.store.swap_batches(&again).await.unwrap_err();
    assert!(matches!(err, MetadataError::Conflict(_)), "{err}");
    // Another holder's job lease fences it.
    m.leases.release(&lease).await.unwrap();
    let thief = m
        .leases
        .acquire(&job, "other", Duration::from_secs(30))
        .await
        .unwrap();
    let fenced = CompactionSwap {
        start_offset: 10,
        end_offset: 15,
        replaced: vec![(10, "f3".into())],
        object_key: "c3".into(),
        batches: vec![sb(10, 15, 20)],
        ..swap.clone()
    };
    let err = m.store.swap_batches(&fenced).await.unwrap_err();
    assert!(matches!(err, MetadataError::Fenced(_)), "{err}");
    let ok = CompactionSwap {
        lease: thief,
        ..fenced
    };
    m.store.swap_batches(&ok).await.unwrap();
    // Only partition 1's row is left in a flush object.
    let candidates = m.store.compaction_candidates(1, 1 << 40).await.unwrap();
    assert_eq!(candidates, [(t.id, 1)]);

    let stats = m.store.storage_stats().await.unwrap();
    let ours: Vec<_> = stats.iter().filter(|s| s.topic == t.spec.name).collect();
    assert_eq!(ours.len(), 1, "{stats:?}");
    // Partition 0: 600 bytes in c1, 300 in c3; partition 1: 500 in f1, still a flush object.
    assert_eq!(
        (
            ours[0].bytes,
            ours[0].objects,
            ours[0].backlog_bytes,
            ours[0].backlog_objects
        ),
        (1_400, 3, 500, 1)
    );
}

/// Rebuilding metadata restores topics under their ids, objects with their rows, and
/// partitions' offsets; later topics get new ids above them.
pub async fn metadata_is_restored_under_its_ids(m: &MetadataParts) {
    let live = m
        .store
        .create_topic(&spec("acme", "live", 1))
        .await
        .unwrap();
    let back = TopicInfo {
        id: live.id + 100,
        spec: TopicSpec {
            cleanup_policy: CleanupPolicy::Compact,
            ..spec("acme", "back", 2)
        },
        created_at_ms: 1_234,
    };
    m.store.restore_topic(&back).await.unwrap();
    let got = m
        .store
        .get_topic(&tenant("acme"), &name("back"))
        .await
        .unwrap();
    assert_eq!(got, back);
    let again = m.store.restore_topic(&back).await.unwrap_err();
    assert!(matches!(again, MetadataError::AlreadyExists(_)), "{again}");

    let sb = |base, end, position| SwapBatch {
        base_offset: base,
        end_offset: end,
        position,
        size: 100,
        max_timestamp_ms: 7,
    };
    let object = RestoredObject {
        tenant: tenant("acme"),
        object_key: "r1".into(),
        object_size: 400,
        writer: "agent-1/0".into(),
        compacted: false,
        batches: vec![
            (back.id, 0, sb(0, 5, 20)),
            (back.id, 0, sb(5, 8, 120)),
            (back.id, 1, sb(0, 3, 220)),
        ],
    };
    m.store.restore_object(&object).await.unwrap();
    m.store.restore_partition(back.id, 0, 0, 8).await.unwrap();
    m.store.restore_partition(back.id, 1, 0, 3).await.unwrap();
    let offsets = m.store.partition_offsets(back.id).await.unwrap();
    let hws: Vec<_> = offsets
        .iter()
        .map(|p| (p.log_start_offset, p.high_watermark))
        .collect();
    assert_eq!(hws, [(0, 8), (0, 3)]);
    let found = m.store.lookup(back.id, 0, 6, 10).await.unwrap();
    assert_eq!((found[0].base_offset, found[0].position), (5, 120));
    assert_eq!(
        m.store.known_objects().await.unwrap(),
        [("r1".to_owned(), true)]
    );
    let e = m
        .store
        .restore_partition(back.id, 5, 0, 1)
        .await
        .unwrap_err();
    assert!(matches!(e, MetadataError::NotFound(_)), "{e}");

    let next = m
        .store
        .create_topic(&spec("acme", "next", 1))
        .await
        .unwrap();
    assert!(next.id > back.id, "{} after {}", next.id, back.id);
}
