//! The rule every metadata backend applies to a flush commit, written once: each batch's
//! partition must be leased to the committer at the batch's epoch, by a lease that has not
//! lapsed (fencing), and must start exactly at the partition's high watermark, batches of one
//! partition following each other (offset continuity).
//!
//! A backend reads the state of every partition the commit touches inside the commit's
//! transaction, with the rows locked so that no lease can move and no other commit can
//! advance a high watermark until the transaction ends ([`LockedPartition`]); passes it to
//! [`check_commit`]; and, if the rule holds, writes the index rows and the high watermarks it
//! returns in the same transaction. On an error nothing is written.

use std::collections::BTreeMap;

use crate::lease::Lease;
use crate::lifecycle::CompactionSwap;
use crate::metadata::{MetadataError, MetadataResult, ObjectCommit};
use crate::types::TopicId;

/// A partition's row and its lease row, read and locked inside a commit's transaction.
/// Backends return only partitions that exist and have a lease row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPartition {
    /// Topic incarnation.
    pub topic_id: TopicId,
    /// Partition.
    pub partition: u32,
    /// Offset the next committed record gets.
    pub high_watermark: u64,
    /// The lease's holder.
    pub holder: String,
    /// The lease's epoch.
    pub epoch: u64,
    /// When the lease lapses, on the store's clock.
    pub expires_at_ms: i64,
}

/// A partition's high watermark once the commit is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advance {
    /// Topic incarnation.
    pub topic_id: TopicId,
    /// Partition.
    pub partition: u32,
    /// The new high watermark.
    pub high_watermark: u64,
}

/// Checks `commit` against the locked state of its partitions at `now_ms` (the store's
/// clock) and returns the new high watermark of every partition it touches, in key order.
///
/// `Fenced` when a partition is gone or unleased, leased to another holder, leased at another
/// epoch than the batch was written at, or leased by a lease that lapsed (its holder was
/// frozen or cut off past it, even if no one has taken it over yet). `Conflict` when a batch
/// leaves a gap after the high watermark or overlaps offsets already committed, or when the
/// commit comes after its deadline (its object may be collected as an orphan by then).
pub fn check_commit(
    commit: &ObjectCommit,
    locked: &[LockedPartition],
    now_ms: i64,
) -> MetadataResult<Vec<Advance>> {
    check_deadline(&commit.object_key, commit.deadline_ms, now_ms)?;
    let rows: BTreeMap<(TopicId, u32), &LockedPartition> = locked
        .iter()
        .map(|r| ((r.topic_id, r.partition), r))
        .collect();
    let mut next: BTreeMap<(TopicId, u32), u64> = BTreeMap::new();
    for b in &commit.batches {
        let key = (b.topic_id, b.partition);
        let what = || format!("partition {} of topic id {}", b.partition, b.topic_id);
        let hw = match next.get_mut(&key) {
            Some(hw) => hw,
            None => {
                let Some(row) = rows.get(&key) else {
                    return Err(MetadataError::Fenced(format!(
                        "{} has no lease or no longer exists",
                        what()
                    )));
                };
                if row.holder != commit.holder {
                    return Err(MetadataError::Fenced(format!(
                        "{}: lease is held by {} at epoch {}, not by {}",
                        what(),
                        row.holder,
                        row.epoch,
                        commit.holder
                    )));
                }
                if row.epoch != b.leader_epoch {
                    return Err(MetadataError::Fenced(format!(
                        "{}: the batch was written at lease epoch {}, the lease is at epoch {}",
                        what(),
                        b.leader_epoch,
                        row.epoch
                    )));
                }
                if row.expires_at_ms <= now_ms {
                    return Err(MetadataError::Fenced(format!(
                        "{}: the lease of {} at epoch {} lapsed {} ms ago",
                        what(),
                        row.holder,
                        row.epoch,
                        now_ms - row.expires_at_ms
                    )));
                }
                next.entry(key).or_insert(row.high_watermark)
            }
        };
        if b.base_offset != *hw {
            let how = if b.base_offset > *hw {
                "leaving a gap after"
            } else {
                "overlapping offsets below"
            };
            return Err(MetadataError::Conflict(format!(
                "{}: a batch starts at offset {}, {how} the high watermark {}",
                what(),
                b.base_offset,
                hw
            )));
        }
        *hw += u64::from(b.record_count);
    }
    Ok(next
        .into_iter()
        .map(|((topic_id, partition), high_watermark)| Advance {
            topic_id,
            partition,
            high_watermark,
        })
        .collect())
}

/// `Conflict` when an object's commit comes after its deadline: orphan collection may have
/// deleted the object by then, so it must never be referenced.
pub fn check_deadline(object_key: &str, deadline_ms: i64, now_ms: i64) -> MetadataResult<()> {
    if now_ms > deadline_ms {
        return Err(MetadataError::Conflict(format!(
            "object {object_key} is committed {} ms after its deadline (write.commit_deadline_ms \
             after it was named); it is left to orphan collection",
            now_ms - deadline_ms
        )));
    }
    Ok(())
}

/// Checks a compaction's swap at `now_ms` (the store's clock): the compaction job's lease
/// `current` (as read inside the swap's transaction) must be the one the job holds and must
/// not have lapsed (else `Fenced`), the swap must come before its deadline, and the rows it
/// replaces, `found` as `(base_offset, object_key)` in offset order, must be exactly the ones
/// it read (else `Conflict`).
pub fn check_swap(
    swap: &CompactionSwap,
    current: Option<&Lease>,
    found: &[(u64, String)],
    now_ms: i64,
) -> MetadataResult<()> {
    let held = &swap.lease;
    match current {
        Some(l) if l.holder == held.holder && l.epoch == held.epoch => {
            if l.expires_at_ms <= now_ms {
                return Err(MetadataError::Fenced(format!(
                    "the compaction lease of {} lapsed {} ms ago",
                    l.holder,
                    now_ms - l.expires_at_ms
                )));
            }
        }
        Some(l) => {
            return Err(MetadataError::Fenced(format!(
                "the compaction lease is held by {} at epoch {}, not by {} at epoch {}",
                l.holder, l.epoch, held.holder, held.epoch
            )));
        }
        None => return Err(MetadataError::Fenced("no compaction lease is held".into())),
    }
    check_deadline(&swap.object_key, swap.deadline_ms, now_ms)?;
    if found != swap.replaced.as_slice() {
        return Err(MetadataError::Conflict(format!(
            "the index of partition {} of topic id {} changed over offsets {}..{} while it was \
             compacted",
            swap.partition, swap.topic_id, swap.start_offset, swap.end_offset
        )));
    }
    let mut next = swap.start_offset;
    for b in &swap.batches {
        if b.base_offset != next || b.end_offset <= b.base_offset {
            return Err(MetadataError::InvalidInput(format!(
                "compacted batches must cover offsets {}..{} without gaps; one spans {}..{}",
                swap.start_offset, swap.end_offset, b.base_offset, b.end_offset
            )));
        }
        next = b.end_offset;
    }
    if next != swap.end_offset {
        return Err(MetadataError::InvalidInput(format!(
            "compacted batches end at offset {next}, not {}",
            swap.end_offset
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::metadata::CommitBatch;
    use crate::types::TenantId;

    const NOW: i64 = 1_000_000;

    fn batch(partition: u32, base: u64, count: u32, epoch: u64) -> CommitBatch {
        CommitBatch {
            topic_id: 7,
            partition,
            base_offset: base,
            record_count: count,
            position: 0,
            size: 10,
            max_timestamp_ms: 0,
            leader_epoch: epoch,
            ingress_bytes: 10,
        }
    }

    fn commit(batches: Vec<CommitBatch>) -> ObjectCommit {
        ObjectCommit {
            tenant: TenantId::default_tenant(),
            object_key: "o".into(),
            object_size: 100,
            holder: "a".into(),
            batches,
            meter: false,
            deadline_ms: NOW,
        }
    }

    fn row(partition: u32, hw: u64, holder: &str, epoch: u64, expires: i64) -> LockedPartition {
        LockedPartition {
            topic_id: 7,
            partition,
            high_watermark: hw,
            holder: holder.into(),
            epoch,
            expires_at_ms: expires,
        }
    }

    fn live(partition: u32, hw: u64) -> LockedPartition {
        row(partition, hw, "a", 3, NOW + 5_000)
    }

    #[test]
    fn current_lease_and_continuous_offsets_advance_every_partition() {
        let c = commit(vec![
            batch(1, 10, 5, 3),
            batch(0, 0, 2, 3),
            batch(1, 15, 1, 3),
        ]);
        let advances = check_commit(&c, &[live(0, 0), live(1, 10)], NOW).unwrap();
        assert_eq!(
            advances,
            [
                Advance {
                    topic_id: 7,
                    partition: 0,
                    high_watermark: 2
                },
                Advance {
                    topic_id: 7,
                    partition: 1,
                    high_watermark: 16
                },
            ]
        );
    }

    #[rstest]
    #[case::stale_epoch(row(0, 0, "a", 4, NOW + 5_000), "written at lease epoch 3, the lease is at epoch 4")]
    #[case::another_holder(row(0, 0, "b", 3, NOW + 5_000), "lease is held by b at epoch 3, not by a")]
    #[case::lapsed_lease(row(0, 0, "a", 3, NOW - 250), "lapsed 250 ms ago")]
    #[case::released_lease(row(0, 0, "a", 3, 0), "lease of a at epoch 3 lapsed")]
    #[case::expiring_now(row(0, 0, "a", 3, NOW), "lapsed 0 ms ago")]
    fn a_lease_that_is_not_current_is_fenced(#[case] locked: LockedPartition, #[case] why: &str) {
        let e = check_commit(&commit(vec![batch(0, 0, 1, 3)]), &[locked], NOW).unwrap_err();
        assert!(
            matches!(&e, MetadataError::Fenced(m) if m.contains(why)),
            "{e}"
        );
    }

    #[test]
    fn a_partition_without_lease_or_row_is_fenced() {
        let e = check_commit(&commit(vec![batch(0, 0, 1, 3)]), &[], NOW).unwrap_err();
        assert!(
            matches!(&e, MetadataError::Fenced(m) if m.contains("has no lease or no longer exists")),
            "{e}"
        );
    }

    #[test]
    fn one_fenced_partition_fences_the_whole_commit() {
        let c = commit(vec![batch(0, 0, 1, 3), batch(1, 0, 1, 3)]);
        let e = check_commit(&c, &[live(0, 0), row(1, 0, "b", 4, NOW + 1)], NOW).unwrap_err();
        assert!(matches!(e, MetadataError::Fenced(_)), "{e}");
    }

    #[rstest]
    #[case::gap_after_the_high_watermark(vec![batch(0, 11, 1, 3)], "starts at offset 11, leaving a gap after the high watermark 10")]
    #[case::overlap_below_the_high_watermark(vec![batch(0, 9, 1, 3)], "starts at offset 9, overlapping offsets below the high watermark 10")]
    #[case::gap_between_batches(vec![batch(0, 10, 2, 3), batch(0, 13, 1, 3)], "starts at offset 13, leaving a gap")]
    #[case::overlap_between_batches(vec![batch(0, 10, 2, 3), batch(0, 10, 2, 3)], "starts at offset 10, overlapping")]
    fn offsets_that_do_not_continue_the_log_conflict(
        #[case] batches: Vec<CommitBatch>,
        #[case] why: &str,
    ) {
        let e = check_commit(&commit(batches), &[live(0, 10)], NOW).unwrap_err();
        assert!(
            matches!(&e, MetadataError::Conflict(m) if m.contains(why)),
            "{e}"
        );
    }

    #[test]
    fn a_commit_after_its_deadline_conflicts() {
        let mut c = commit(vec![batch(0, 10, 1, 3)]);
        c.deadline_ms = NOW - 1;
        let e = check_commit(&c, &[live(0, 10)], NOW).unwrap_err();
        assert!(
            matches!(&e, MetadataError::Conflict(m) if m.contains("1 ms after its deadline")),
            "{e}"
        );
    }

    fn swap() -> CompactionSwap {
        let swap_batch = |base, end| crate::lifecycle::SwapBatch {
            base_offset: base,
            end_offset: end,
            position: 0,
            size: 1,
            max_timestamp_ms: 0,
        };
        CompactionSwap {
            tenant: TenantId::default_tenant(),
            topic_id: 7,
            partition: 0,
            start_offset: 10,
            end_offset: 30,
            replaced: vec![(10, "a".into()), (20, "b".into())],
            object_key: "c".into(),
            object_size: 10,
            batches: vec![swap_batch(10, 25), swap_batch(25, 30)],
            lease: job_lease("j", 2, NOW + 1),
            deadline_ms: NOW,
        }
    }

    fn job_lease(holder: &str, epoch: u64, expires_at_ms: i64) -> Lease {
        Lease {
            key: crate::lease::LeaseKey {
                tenant: TenantId::new("streamhouse-jobs").unwrap(),
                topic_id: -1,
                partition: 0,
            },
            holder: holder.into(),
            epoch,
            expires_at_ms,
        }
    }

    #[test]
    fn a_swap_of_the_rows_it_read_under_its_lease_passes() {
        let s = swap();
        check_swap(&s, Some(&s.lease), &s.replaced, NOW).unwrap();
    }

    #[rstest]
    #[case::no_lease(None, "no compaction lease")]
    #[case::moved(Some(job_lease("k", 3, NOW + 1)), "held by k at epoch 3")]
    #[case::lapsed(Some(job_lease("j", 2, NOW)), "lapsed 0 ms ago")]
    fn a_swap_without_its_lease_is_fenced(#[case] current: Option<Lease>, #[case] why: &str) {
        let s = swap();
        let e = check_swap(&s, current.as_ref(), &s.replaced, NOW).unwrap_err();
        assert!(
            matches!(&e, MetadataError::Fenced(m) if m.contains(why)),
            "{e}"
        );
    }

    #[test]
    fn a_swap_of_rows_that_changed_conflicts() {
        let s = swap();
        let e = check_swap(&s, Some(&s.lease), &s.replaced[1..], NOW).unwrap_err();
        assert!(
            matches!(&e, MetadataError::Conflict(m) if m.contains("changed")),
            "{e}"
        );
    }

    #[test]
    fn compacted_batches_must_cover_the_range() {
        let mut s = swap();
        s.batches[1].base_offset = 26;
        let e = check_swap(&s, Some(&s.lease), &s.replaced, NOW).unwrap_err();
        assert!(
            matches!(&e, MetadataError::InvalidInput(m) if m.contains("without gaps")),
            "{e}"
        );
        let mut s = swap();
        s.end_offset = 31;
        let e = check_swap(&s, Some(&s.lease), &s.replaced, NOW).unwrap_err();
        assert!(
            matches!(&e, MetadataError::InvalidInput(m) if m.contains("not 31")),
            "{e}"
        );
    }
}
