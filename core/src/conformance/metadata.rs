//! The `MetadataStore` conformance suite (topics, offset index with fencing, group offsets).

use std::time::Duration;

use crate::lease::LeaseKey;
use crate::metadata::{CommitBatch, MetadataError, ObjectCommit};
use crate::registry::MetadataParts;
use crate::types::{Codec, TenantId, TopicInfo, TopicName, TopicSpec};

const TTL: Duration = Duration::from_secs(30);

pub(crate) fn tenant(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

pub(crate) fn name(s: &str) -> TopicName {
    TopicName::new(s).unwrap()
}

pub(crate) fn spec(t: &str, n: &str, partitions: u32) -> TopicSpec {
    TopicSpec {
        retention_ms: Some(86_400_000),
        compression: Codec::Lz4,
        ..TopicSpec::new(tenant(t), name(n), partitions)
    }
}

pub(crate) fn batch(
    t: &TopicInfo,
    partition: u32,
    base: u64,
    count: u32,
    epoch: u64,
) -> CommitBatch {
    CommitBatch {
        topic_id: t.id,
        partition,
        base_offset: base,
        record_count: count,
        position: 100 * base,
        size: 100 * count,
        max_timestamp_ms: 1_000 + base as i64,
        leader_epoch: epoch,
        ingress_bytes: 10 * u64::from(count),
    }
}

pub(crate) fn commit(
    t: &TopicInfo,
    key: &str,
    holder: &str,
    batches: Vec<CommitBatch>,
) -> ObjectCommit {
    ObjectCommit {
        tenant: t.spec.tenant.clone(),
        object_key: key.into(),
        object_size: 1 << 20,
        holder: holder.into(),
        batches,
        meter: true,
        deadline_ms: i64::MAX,
    }
}

pub(crate) async fn lead(m: &MetadataParts, t: &TopicInfo, partition: u32, holder: &str) -> u64 {
    let key = LeaseKey {
        tenant: t.spec.tenant.clone(),
        topic_id: t.id,
        partition,
    };
    m.leases.acquire(&key, holder, TTL).await.unwrap().epoch
}

async fn hws(m: &MetadataParts, t: &TopicInfo) -> Vec<u64> {
    m.store
        .partition_offsets(t.id)
        .await
        .unwrap()
        .iter()
        .map(|p| p.high_watermark)
        .collect()
}

/// Topics are created with all partitions at 0, listed sorted, and deleted.
pub async fn topics_create_get_list_delete(m: &MetadataParts) {
    let s = &m.store;
    let t = s.create_topic(&spec("acme", "orders", 3)).await.unwrap();
    assert_eq!(t.spec, spec("acme", "orders", 3));
    assert!(t.created_at_ms > 0);
    let again = s
        .create_topic(&spec("acme", "orders", 5))
        .await
        .unwrap_err();
    assert!(
        matches!(again, MetadataError::AlreadyExists(_)),
        "{again:?}"
    );
    assert_eq!(
        s.get_topic(&tenant("acme"), &name("orders")).await.unwrap(),
        t
    );
    s.create_topic(&spec("acme", "audit", 1)).await.unwrap();
    let names: Vec<_> = s
        .list_topics(Some(&tenant("acme")))
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.spec.name.to_string())
        .collect();
    assert_eq!(names, ["audit", "orders"]);
    let parts = s.partition_offsets(t.id).await.unwrap();
    assert_eq!(parts.len(), 3);
    assert!(
        parts
            .iter()
            .enumerate()
            .all(|(i, p)| p.partition == i as u32
                && p.high_watermark == 0
                && p.log_start_offset == 0)
    );
    assert_eq!(s.partition_offset(t.id, 2).await.unwrap(), parts[2]);
    let e = s.partition_offset(t.id, 3).await.unwrap_err();
    assert!(matches!(e, MetadataError::NotFound(_)), "{e:?}");
    s.delete_topic(&tenant("acme"), &name("orders"))
        .await
        .unwrap();
    let e = s.partition_offset(t.id, 0).await.unwrap_err();
    assert!(matches!(e, MetadataError::NotFound(_)), "{e:?}");
    let gone = s
        .get_topic(&tenant("acme"), &name("orders"))
        .await
        .unwrap_err();
    assert!(matches!(gone, MetadataError::NotFound(_)), "{gone:?}");
    let gone = s
        .delete_topic(&tenant("acme"), &name("orders"))
        .await
        .unwrap_err();
    assert!(matches!(gone, MetadataError::NotFound(_)), "{gone:?}");
    assert_eq!(s.list_topics(Some(&tenant("acme"))).await.unwrap().len(), 1);
}

/// The same topic name in two tenants is two topics; listing all shows both.
pub async fn tenants_are_isolated(m: &MetadataParts) {
    let s = &m.store;
    let a = s.create_topic(&spec("acme", "events", 1)).await.unwrap();
    let b = s.create_topic(&spec("globex", "events", 2)).await.unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(
        s.list_topics(Some(&tenant("globex"))).await.unwrap(),
        vec![b.clone()]
    );
    assert_eq!(s.list_topics(None).await.unwrap(), vec![a.clone(), b]);
    s.delete_topic(&tenant("globex"), &name("events"))
        .await
        .unwrap();
    assert_eq!(
        s.get_topic(&tenant("acme"), &name("events")).await.unwrap(),
        a
    );
}

/// A commit for a partition nobody leases, or that another holder leases, is fenced.
pub async fn commit_requires_the_lease(m: &MetadataParts) {
    let t = m.store.create_topic(&spec("acme", "t", 2)).await.unwrap();
    let e = m
        .store
        .commit_object(&commit(&t, "o1", "agent-a", vec![batch(&t, 0, 0, 10, 1)]))
        .await
        .unwrap_err();
    assert!(matches!(e, MetadataError::Fenced(_)), "{e:?}");
    let epoch = lead(m, &t, 0, "agent-a").await;
    let e = m
        .store
        .commit_object(&commit(
            &t,
            "o1",
            "agent-b",
            vec![batch(&t, 0, 0, 10, epoch)],
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, MetadataError::Fenced(_)), "{e:?}");
    m.store
        .commit_object(&commit(
            &t,
            "o1",
            "agent-a",
            vec![batch(&t, 0, 0, 10, epoch)],
        ))
        .await
        .unwrap();
    assert_eq!(hws(m, &t).await, [10, 0]);
}

/// A commit under a lease that lapsed is fenced even though no one took the lease over (its
/// holder was frozen or cut off past it); once the holder takes the lease again it commits.
pub async fn commit_under_a_lapsed_lease_is_fenced(m: &MetadataParts) {
    let t = m
        .store
        .create_topic(&spec("acme", "lapsed", 1))
        .await
        .unwrap();
    let key = LeaseKey {
        tenant: t.spec.tenant.clone(),
        topic_id: t.id,
        partition: 0,
    };
    let short = Duration::from_millis(100);
    let epoch = m.leases.acquire(&key, "a", short).await.unwrap().epoch;
    tokio::time::sleep(short * 3).await;
    let e = m
        .store
        .commit_object(&commit(&t, "o1", "a", vec![batch(&t, 0, 0, 5, epoch)]))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, MetadataError::Fenced(msg) if msg.contains("lapsed")),
        "{e:?}"
    );
    assert_eq!(hws(m, &t).await, [0]);
    let again = m.leases.acquire(&key, "a", TTL).await.unwrap();
    assert_eq!(again.epoch, epoch, "the same holder keeps its epoch");
    m.store
        .commit_object(&commit(&t, "o1", "a", vec![batch(&t, 0, 0, 5, epoch)]))
        .await
        .unwrap();
    assert_eq!(hws(m, &t).await, [5]);
}

/// A former leader's commit with an old epoch is rejected as a whole, even for partitions
/// it still leads, and changes nothing.
pub async fn zombie_commit_is_fenced_and_changes_nothing(m: &MetadataParts) {
    let t = m.store.create_topic(&spec("acme", "z", 2)).await.unwrap();
    let e0 = lead(m, &t, 0, "old").await;
    let e1 = lead(m, &t, 1, "old").await;
    m.store
        .commit_object(&commit(
            &t,
            "o1",
            "old",
            vec![batch(&t, 0, 0, 5, e0), batch(&t, 1, 0, 5, e1)],
        ))
        .await
        .unwrap();
    // Partition 1 moves to a new leader (the old lease was released, as after a pause).
    let key = LeaseKey {
        tenant: t.spec.tenant.clone(),
        topic_id: t.id,
        partition: 1,
    };
    let old = m.leases.get(&key).await.unwrap().unwrap();
    m.leases.release(&old).await.unwrap();
    let new_epoch = lead(m, &t, 1, "new").await;
    assert!(new_epoch > e1);
    m.store
        .commit_object(&commit(
            &t,
            "o2",
            "new",
            vec![batch(&t, 1, 5, 3, new_epoch)],
        ))
        .await
        .unwrap();
    // The zombie commits partition 0 (still its own) and 1 (no longer) together.
    let e = m
        .store
        .commit_object(&commit(
            &t,
            "o3",
            "old",
            vec![batch(&t, 0, 5, 5, e0), batch(&t, 1, 8, 5, e1)],
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, MetadataError::Fenced(_)), "{e:?}");
    assert_eq!(hws(m, &t).await, [5, 8]);
    // The old holder leads partition 1 again (A, B, A): its commits from before still carry
    // the first epoch and stay fenced, even though the holder name matches.
    let newer = m.leases.get(&key).await.unwrap().unwrap();
    m.leases.release(&newer).await.unwrap();
    let again = lead(m, &t, 1, "old").await;
    assert!(again > new_epoch);
    let e = m
        .store
        .commit_object(&commit(&t, "o4", "old", vec![batch(&t, 1, 8, 5, e1)]))
        .await
        .unwrap_err();
    assert!(matches!(e, MetadataError::Fenced(_)), "{e:?}");
    assert_eq!(hws(m, &t).await, [5, 8]);
    let p0 = m.store.lookup(t.id, 0, 0, 100).await.unwrap();
    assert_eq!(p0.len(), 1);
    let p1 = m.store.lookup(t.id, 1, 0, 100).await.unwrap();
    assert_eq!(
        p1.iter().map(|e| e.object_key.as_str()).collect::<Vec<_>>(),
        ["o1", "o2"]
    );
}

/// A batch that does not start at the high watermark conflicts and nothing is applied.
pub async fn commit_with_a_gap_conflicts(m: &MetadataParts) {
    let t = m.store.create_topic(&spec("acme", "g", 2)).await.unwrap();
    let e0 = lead(m, &t, 0, "a").await;
    let e1 = lead(m, &t, 1, "a").await;
    for bad in [
        vec![batch(&t, 0, 0, 5, e0), batch(&t, 1, 1, 5, e1)],
        vec![batch(&t, 0, 0, 5, e0), batch(&t, 0, 6, 5, e0)],
        vec![batch(&t, 0, 0, 5, e0), batch(&t, 0, 0, 5, e0)],
    ] {
        let e = m
            .store
            .commit_object(&commit(&t, "o", "a", bad))
            .await
            .unwrap_err();
        assert!(matches!(e, MetadataError::Conflict(_)), "{e:?}");
        assert_eq!(hws(m, &t).await, [0, 0]);
        assert!(m.store.lookup(t.id, 0, 0, 10).await.unwrap().is_empty());
    }
}

/// One commit may hold several batches per partition and a thousand partitions.
pub async fn commit_many_batches_and_partitions(m: &MetadataParts) {
    let t = m
        .store
        .create_topic(&spec("acme", "wide", 1000))
        .await
        .unwrap();
    let mut batches = Vec::new();
    for p in 0..1000 {
        let e = lead(m, &t, p, "a").await;
        batches.push(batch(&t, p, 0, 2, e));
        batches.push(batch(&t, p, 2, 3, e));
    }
    m.store
        .commit_object(&commit(&t, "big", "a", batches))
        .await
        .unwrap();
    assert!(hws(m, &t).await.iter().all(|h| *h == 5));
    assert_eq!(m.store.lookup(t.id, 999, 0, 10).await.unwrap().len(), 2);
}

/// Several objects commit in one transaction, a later one continuing an earlier one's
/// partition; a group with one bad object commits nothing at all.
pub async fn group_commit_is_all_or_nothing(m: &MetadataParts) {
    let t = m.store.create_topic(&spec("acme", "grp", 2)).await.unwrap();
    let e0 = lead(m, &t, 0, "a").await;
    let e1 = lead(m, &t, 1, "a").await;
    let group = [
        commit(
            &t,
            "g1",
            "a",
            vec![batch(&t, 0, 0, 5, e0), batch(&t, 1, 0, 2, e1)],
        ),
        commit(&t, "g2", "a", vec![batch(&t, 0, 5, 3, e0)]),
    ];
    m.store.commit_objects(&group).await.unwrap();
    assert_eq!(hws(m, &t).await, [8, 2]);
    let keys: Vec<_> = m.store.lookup(t.id, 0, 0, 10).await.unwrap();
    let keys: Vec<_> = keys.iter().map(|e| e.object_key.as_str()).collect();
    assert_eq!(keys, ["g1", "g2"]);

    // The second object's batch leaves a gap: the first object is not committed either.
    let bad = [
        commit(&t, "g3", "a", vec![batch(&t, 0, 8, 1, e0)]),
        commit(&t, "g4", "a", vec![batch(&t, 1, 3, 1, e1)]),
    ];
    let e = m.store.commit_objects(&bad).await.unwrap_err();
    assert!(matches!(e, MetadataError::Conflict(_)), "{e:?}");
    assert_eq!(hws(m, &t).await, [8, 2]);
    assert_eq!(m.store.lookup(t.id, 0, 8, 10).await.unwrap().len(), 0);
    // A fenced object fails its group the same way.
    let theirs = lead_after_release(m, &t, 1, "b").await;
    let fenced = [
        commit(&t, "g5", "a", vec![batch(&t, 0, 8, 1, e0)]),
        commit(&t, "g6", "a", vec![batch(&t, 1, 2, 1, e1)]),
    ];
    let e = m.store.commit_objects(&fenced).await.unwrap_err();
    assert!(matches!(e, MetadataError::Fenced(_)), "{e:?}");
    assert!(theirs > e1);
    assert_eq!(hws(m, &t).await, [8, 2]);
    // Alone, the healthy object commits.
    m.store.commit_objects(&fenced[..1]).await.unwrap();
    assert_eq!(hws(m, &t).await, [9, 2]);
}

/// Another holder takes a partition's lease once its holder released it; its epoch.
async fn lead_after_release(m: &MetadataParts, t: &TopicInfo, partition: u32, holder: &str) -> u64 {
    let key = LeaseKey {
        tenant: t.spec.tenant.clone(),
        topic_id: t.id,
        partition,
    };
    let mine = m.leases.get(&key).await.unwrap().unwrap();
    m.leases.release(&mine).await.unwrap();
    m.leases.acquire(&key, holder, TTL).await.unwrap().epoch
}

/// `lookup` starts at the batch containing the offset and honours the limit.
pub async fn lookup_finds_the_containing_batch(m: &MetadataParts) {
    let t = m.store.create_topic(&spec("acme", "l", 1)).await.unwrap();
    let e = lead(m, &t, 0, "a").await;
    for (i, base) in [0u64, 10, 20, 30].iter().enumerate() {
        m.store
            .commit_object(&commit(
                &t,
                &format!("o{i}"),
                "a",
                vec![batch(&t, 0, *base, 10, e)],
            ))
            .await
            .unwrap();
    }
    let bases = |v: Vec<crate::metadata::BatchIndexEntry>| {
        v.iter().map(|e| e.base_offset).collect::<Vec<_>>()
    };
    assert_eq!(
        bases(m.store.lookup(t.id, 0, 0, 100).await.unwrap()),
        [0, 10, 20, 30]
    );
    assert_eq!(
        bases(m.store.lookup(t.id, 0, 15, 100).await.unwrap()),
        [10, 20, 30]
    );
    assert_eq!(
        bases(m.store.lookup(t.id, 0, 19, 2).await.unwrap()),
        [10, 20]
    );
    assert_eq!(bases(m.store.lookup(t.id, 0, 39, 1).await.unwrap()), [30]);
    assert!(m.store.lookup(t.id, 0, 40, 10).await.unwrap().is_empty());
    let e = &m.store.lookup(t.id, 0, 25, 1).await.unwrap()[0];
    assert_eq!(
        (e.object_key.as_str(), e.position, e.size, e.record_count),
        ("o2", 2000, 1000, 10)
    );
    assert_eq!(e.max_timestamp_ms, 1_020);
    assert_eq!(e.object_size, 1 << 20, "the committed object's size");
    assert_eq!(e.end_offset(), 30);
}

/// A deleted and recreated topic has a new id and none of the old data or offsets.
pub async fn recreated_topic_starts_empty(m: &MetadataParts) {
    let old = m.store.create_topic(&spec("acme", "r", 1)).await.unwrap();
    let e = lead(m, &old, 0, "a").await;
    m.store
        .commit_object(&commit(&old, "o", "a", vec![batch(&old, 0, 0, 7, e)]))
        .await
        .unwrap();
    m.store
        .commit_offsets(&tenant("acme"), "g", old.id, &[(0, 7)])
        .await
        .unwrap();
    m.store
        .delete_topic(&tenant("acme"), &name("r"))
        .await
        .unwrap();
    let new = m.store.create_topic(&spec("acme", "r", 1)).await.unwrap();
    assert_ne!(new.id, old.id);
    assert_eq!(hws(m, &new).await, [0]);
    assert!(m.store.lookup(new.id, 0, 0, 10).await.unwrap().is_empty());
    assert!(
        m.store
            .fetch_offsets(&tenant("acme"), "g", new.id)
            .await
            .unwrap()
            .is_empty()
    );
    // The old incarnation's lease is gone with it: a zombie cannot commit into the old id.
    let z = m
        .store
        .commit_object(&commit(&old, "o2", "a", vec![batch(&old, 0, 7, 1, e)]))
        .await;
    assert!(z.is_err());
}

/// Group offsets are stored per group and partition, replaced on commit.
pub async fn consumer_offsets(m: &MetadataParts) {
    let t = m.store.create_topic(&spec("acme", "o", 3)).await.unwrap();
    let acme = tenant("acme");
    assert!(
        m.store
            .fetch_offsets(&acme, "g1", t.id)
            .await
            .unwrap()
            .is_empty()
    );
    m.store
        .commit_offsets(&acme, "g1", t.id, &[(0, 5), (2, 9)])
        .await
        .unwrap();
    m.store
        .commit_offsets(&acme, "g1", t.id, &[(0, 6)])
        .await
        .unwrap();
    m.store
        .commit_offsets(&acme, "g2", t.id, &[(1, 1)])
        .await
        .unwrap();
    assert_eq!(
        m.store.fetch_offsets(&acme, "g1", t.id).await.unwrap(),
        [(0, 6), (2, 9)]
    );
    assert_eq!(
        m.store.fetch_offsets(&acme, "g2", t.id).await.unwrap(),
        [(1, 1)]
    );
    let e = m
        .store
        .commit_offsets(&acme, "g1", t.id, &[(3, 1)])
        .await
        .unwrap_err();
    assert!(matches!(e, MetadataError::NotFound(_)), "{e:?}");
    assert_eq!(
        m.store.fetch_offsets(&acme, "g1", t.id).await.unwrap(),
        [(0, 6), (2, 9)]
    );
}
