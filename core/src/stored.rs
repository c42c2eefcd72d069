//! Decoding the rows of the SQL backends, written once. Each backend exposes its driver's
//! row as a [`StoredRow`] (three accessors); the decoders here read the columns by name and
//! refuse values no write produces (a negative offset, a partition past `u32`), naming the
//! column, so a corrupt row is an error rather than a wrapped-around number.

use crate::cluster::{AgentInfo, AgentLoad};
use crate::fencing::LockedPartition;
use crate::lease::{Lease, LeaseKey};
use crate::lifecycle::{StoredBatch, TopicStorage};
use crate::metadata::{BatchIndexEntry, GroupOffset, MetadataError, MetadataResult, from_stored};
use crate::types::{PartitionInfo, TenantId, TopicInfo, TopicName, TopicSettings};

/// A row of a SQL backend's result, read by column name.
pub trait StoredRow {
    /// An integer column (any integer width the backend stores).
    fn int(&self, column: &str) -> MetadataResult<i64>;

    /// A nullable integer column.
    fn opt_int(&self, column: &str) -> MetadataResult<Option<i64>>;

    /// A text column.
    fn text(&self, column: &str) -> MetadataResult<String>;

    /// An integer column that must fit `T`: never negative for offsets, sizes, partitions.
    fn num<T: TryFrom<i64>>(&self, column: &str) -> MetadataResult<T> {
        from_stored(self.int(column)?, column)
    }
}

impl TopicInfo {
    /// A topic from the columns `id, tenant, name, partitions, retention_ms, compression,
    /// retention_bytes, cleanup_policy, delete_retention_ms, created_at_ms`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        let corrupt = |e| MetadataError::other_from("corrupt topic row", e);
        let settings = TopicSettings {
            retention_ms: row.opt_int("retention_ms")?,
            retention_bytes: row.opt_int("retention_bytes")?,
            cleanup_policy: row.text("cleanup_policy")?.parse().map_err(corrupt)?,
            delete_retention_ms: row.int("delete_retention_ms")?,
        };
        TopicInfo::from_stored(
            row.int("id")?,
            row.text("tenant")?,
            row.text("name")?,
            row.num("partitions")?,
            &row.text("compression")?,
            settings,
            row.int("created_at_ms")?,
        )
        .map_err(corrupt)
    }
}

impl PartitionInfo {
    /// A partition's offsets from the columns `partition, log_start_offset, high_watermark`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            partition: row.num("partition")?,
            log_start_offset: row.num("log_start_offset")?,
            high_watermark: row.num("high_watermark")?,
        })
    }
}

impl BatchIndexEntry {
    /// An index entry from the columns `key, object_size, position, size, base_offset,
    /// end_offset (exclusive), max_timestamp_ms`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        let base = row.int("base_offset")?;
        Ok(Self {
            object_key: row.text("key")?,
            object_size: row.num("object_size")?,
            position: row.num("position")?,
            size: row.num("size")?,
            base_offset: from_stored(base, "base_offset")?,
            record_count: from_stored(row.int("end_offset")?.saturating_sub(base), "end_offset")?,
            max_timestamp_ms: row.int("max_timestamp_ms")?,
        })
    }
}

impl StoredBatch {
    /// An index row for compaction: the columns of [`BatchIndexEntry::decode`] and
    /// `compacted` (0 or 1).
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            entry: BatchIndexEntry::decode(row)?,
            compacted: row.int("compacted")? != 0,
        })
    }
}

impl TopicStorage {
    /// A topic's storage from the columns `tenant, name, bytes, objects, batches,
    /// backlog_bytes, backlog_objects`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        let corrupt = |e| MetadataError::other_from("corrupt storage row", e);
        Ok(Self {
            tenant: TenantId::new(row.text("tenant")?).map_err(corrupt)?,
            topic: TopicName::new(row.text("name")?).map_err(corrupt)?,
            bytes: row.num("bytes")?,
            objects: row.num("objects")?,
            batches: row.num("batches")?,
            backlog_bytes: row.num("backlog_bytes")?,
            backlog_objects: row.num("backlog_objects")?,
        })
    }
}

impl LockedPartition {
    /// A commit's view of a partition from the columns `topic_id, partition,
    /// high_watermark, holder, epoch, expires_at_ms`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            topic_id: row.int("topic_id")?,
            partition: row.num("partition")?,
            high_watermark: row.num("high_watermark")?,
            holder: row.text("holder")?,
            epoch: row.num("epoch")?,
            expires_at_ms: row.int("expires_at_ms")?,
        })
    }
}

impl LeaseKey {
    /// A lease's key from the columns `tenant, topic_id, partition`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            tenant: TenantId::new(row.text("tenant")?)
                .map_err(|e| MetadataError::other_from("corrupt lease row", e))?,
            topic_id: row.int("topic_id")?,
            partition: row.num("partition")?,
        })
    }
}

impl Lease {
    /// A lease with its key, from the columns `tenant, topic_id, partition, holder, epoch,
    /// expires_at_ms`.
    pub fn decode_keyed(row: &impl StoredRow) -> MetadataResult<Self> {
        Self::decode(&LeaseKey::decode(row)?, row)
    }

    /// The lease of `key` from the columns `holder, epoch, expires_at_ms`.
    pub fn decode(key: &LeaseKey, row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            key: key.clone(),
            holder: row.text("holder")?,
            epoch: row.num("epoch")?,
            expires_at_ms: row.int("expires_at_ms")?,
        })
    }
}

impl AgentInfo {
    /// A live agent from the columns `holder, agent_id, group_name, zone, addr`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            holder: row.text("holder")?,
            agent_id: row.text("agent_id")?,
            group: row.text("group_name")?,
            zone: row.text("zone")?,
            addr: row.text("addr")?,
        })
    }
}

/// A consumer group's committed offset from the columns `partition, committed`.
pub fn committed_offset(row: &impl StoredRow) -> MetadataResult<(u32, u64)> {
    Ok((row.num("partition")?, row.num("committed")?))
}

impl GroupOffset {
    /// A committed offset from the columns `group_id, topic_id, partition, committed,
    /// updated_at_ms`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            group: row.text("group_id")?,
            topic_id: row.int("topic_id")?,
            partition: row.num("partition")?,
            committed: row.num("committed")?,
            updated_at_ms: row.int("updated_at_ms")?,
        })
    }
}

/// A topic's indexed bytes from the columns `topic_id, bytes`.
pub fn topic_bytes(row: &impl StoredRow) -> MetadataResult<(i64, u64)> {
    Ok((row.int("topic_id")?, row.num("bytes")?))
}

impl AgentLoad {
    /// An agent's load from the columns `holder, heartbeat_at_ms, leases`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            holder: row.text("holder")?,
            heartbeat_at_ms: row.int("heartbeat_at_ms")?,
            leases: row.num("leases")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A row as a map, as a backend's driver would present it.
    struct Map(HashMap<&'static str, Option<String>>);

    impl StoredRow for Map {
        fn int(&self, column: &str) -> MetadataResult<i64> {
            self.opt_int(column)?
                .ok_or_else(|| MetadataError::other(format!("{column} is NULL")))
        }

        fn opt_int(&self, column: &str) -> MetadataResult<Option<i64>> {
            Ok(self.0[column].as_ref().map(|v| v.parse().unwrap()))
        }

        fn text(&self, column: &str) -> MetadataResult<String> {
            Ok(self.0[column].clone().unwrap())
        }
    }

    fn row(cells: &[(&'static str, &str)]) -> Map {
        Map(cells
            .iter()
            .map(|(k, v)| (*k, Some(v.to_string())))
            .collect())
    }

    #[test]
    fn index_rows_decode_and_corrupt_ones_name_the_column() {
        let cells = [
            ("key", "o"),
            ("object_size", "4096"),
            ("position", "100"),
            ("size", "50"),
            ("base_offset", "10"),
            ("end_offset", "15"),
            ("max_timestamp_ms", "7"),
        ];
        let e = BatchIndexEntry::decode(&row(&cells)).unwrap();
        assert_eq!((e.base_offset, e.record_count, e.end_offset()), (10, 5, 15));
        assert_eq!(e.object_size, 4096);
        let mut bad = cells;
        bad[2] = ("position", "-1");
        let err = BatchIndexEntry::decode(&row(&bad)).unwrap_err();
        assert!(err.to_string().contains("position is -1"), "{err}");
    }

    #[test]
    fn partitions_past_u32_are_refused() {
        let r = row(&[
            ("partition", "4294967296"),
            ("log_start_offset", "0"),
            ("high_watermark", "0"),
        ]);
        assert!(PartitionInfo::decode(&r).is_err());
    }

    #[test]
    fn a_topic_row_with_a_bad_name_is_corrupt() {
        let mut r = row(&[
            ("id", "1"),
            ("tenant", "acme"),
            ("name", "a b"),
            ("partitions", "3"),
            ("compression", "lz4"),
            ("cleanup_policy", "delete"),
            ("delete_retention_ms", "0"),
            ("created_at_ms", "0"),
        ]);
        r.0.insert("retention_ms", None);
        r.0.insert("retention_bytes", None);
        let err = TopicInfo::decode(&r).unwrap_err();
        assert!(err.to_string().contains("corrupt topic row"), "{err}");
        r.0.insert("name", Some("ab".into()));
        assert_eq!(TopicInfo::decode(&r).unwrap().spec.name.as_str(), "ab");
        r.0.insert("cleanup_policy", Some("shred".into()));
        let err = TopicInfo::decode(&r).unwrap_err();
        assert!(err.to_string().contains("corrupt topic row"), "{err}");
    }
}
