//! What the bucket holds besides record objects, so that the metadata can be rebuilt from it
//! (`streamhouse-agent rebuild-metadata`):
//!
//! - `tenants/<tenant>/tenant.json`: the tenant's name, plan and standing;
//! - `tenants/<tenant>/topics/<topic id>.json`: a topic's settings, written when it is
//!   created or altered and deleted with it;
//! - `tenants/<tenant>/offsets/<UUIDv7>.json`: a snapshot of the tenant's consumer-group
//!   offsets, written every `backup.snapshot_interval_ms` (the newest few are kept).
//!
//! The `snapshots` job (a singleton, see [`crate::jobs`]) writes the offset snapshots and the
//! tenant files, and repairs topic manifests that a failed write or the control plane (which
//! has no object store) left missing or stale.

pub mod commands;
mod rebuild;
mod snapshots;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use streamhouse_core::tenancy::Tenant;
use streamhouse_core::{
    CleanupPolicy, ObjectKey, ObjectStore, PutMode, TenantId, TopicId, TopicInfo, TopicName,
    TopicSpec,
};

pub use rebuild::{RebuildReport, rebuild_metadata};
pub use snapshots::Snapshots;

use crate::error::AgentResult;

/// A topic's manifest: everything its metadata row holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicManifest {
    /// Topic id, which its batches carry.
    pub id: TopicId,
    /// Name.
    pub name: String,
    /// Partitions.
    pub partitions: u32,
    /// Retention by time.
    pub retention_ms: Option<i64>,
    /// Retention by size per partition.
    pub retention_bytes: Option<i64>,
    /// `delete`, `compact` or `compact,delete`.
    pub cleanup_policy: String,
    /// How long tombstones are kept.
    pub delete_retention_ms: i64,
    /// `none`, `lz4` or `zstd`.
    pub compression: String,
    /// Creation time.
    pub created_at_ms: i64,
}

impl TopicManifest {
    /// The manifest of `t`.
    pub fn of(t: &TopicInfo) -> Self {
        Self {
            id: t.id,
            name: t.spec.name.to_string(),
            partitions: t.spec.partitions,
            retention_ms: t.spec.retention_ms,
            retention_bytes: t.spec.retention_bytes,
            cleanup_policy: t.spec.cleanup_policy.name().to_owned(),
            delete_retention_ms: t.spec.delete_retention_ms,
            compression: t.spec.compression.name().to_owned(),
            created_at_ms: t.created_at_ms,
        }
    }

    /// The topic of `tenant` it describes, validated.
    pub fn topic(&self, tenant: &TenantId) -> anyhow::Result<TopicInfo> {
        let spec = TopicSpec {
            retention_ms: self.retention_ms,
            compression: self.compression.parse()?,
            retention_bytes: self.retention_bytes,
            cleanup_policy: self.cleanup_policy.parse::<CleanupPolicy>()?,
            delete_retention_ms: self.delete_retention_ms,
            ..TopicSpec::new(
                tenant.clone(),
                TopicName::new(&*self.name)?,
                self.partitions,
            )
        };
        spec.validate_settings()?;
        Ok(TopicInfo {
            id: self.id,
            spec,
            created_at_ms: self.created_at_ms,
        })
    }
}

/// A tenant's file: its row, but for keys, users and billing (which are not in the bucket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantManifest {
    /// Display name.
    pub name: String,
    /// `starter`, `growth`, `business` or `enterprise`.
    pub plan: String,
    /// `active`, `past_due` or `suspended`.
    pub status: String,
    /// Creation time.
    pub created_at_ms: i64,
}

impl TenantManifest {
    /// The file of `t`.
    pub fn of(t: &Tenant) -> Self {
        Self {
            name: t.name.clone(),
            plan: t.plan.as_str().to_owned(),
            status: t.status.as_str().to_owned(),
            created_at_ms: t.created_at_ms,
        }
    }

    /// The tenant `id` it describes.
    pub fn tenant(&self, id: TenantId) -> anyhow::Result<Tenant> {
        Ok(Tenant {
            id,
            name: self.name.clone(),
            plan: self.plan.parse().map_err(|e| anyhow::anyhow!("{e}"))?,
            status: self.status.parse().map_err(|e| anyhow::anyhow!("{e}"))?,
            created_at_ms: self.created_at_ms,
        })
    }
}

/// One committed offset in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotOffset {
    /// Consumer group.
    pub group: String,
    /// Topic id.
    pub topic_id: TopicId,
    /// Partition.
    pub partition: u32,
    /// The next offset the group reads.
    pub committed: u64,
}

/// A snapshot of a tenant's consumer-group offsets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetSnapshot {
    /// When it was taken.
    pub taken_at_ms: i64,
    /// Every committed offset.
    pub offsets: Vec<SnapshotOffset>,
}

/// `tenants/<tenant>/tenant.json`.
pub fn tenant_key(tenant: &TenantId) -> String {
    format!("tenants/{tenant}/tenant.json")
}

/// `tenants/<tenant>/topics/<id>.json`.
pub fn topic_key(tenant: &TenantId, id: TopicId) -> String {
    format!("tenants/{tenant}/topics/{id}.json")
}

/// The prefix of a tenant's offset snapshots.
pub fn offsets_prefix(tenant: &TenantId) -> String {
    format!("tenants/{tenant}/offsets")
}

/// Writes `value` as JSON at `key`, replacing what is there.
pub async fn put_json<T: Serialize>(
    objects: &dyn ObjectStore,
    key: &str,
    value: &T,
) -> AgentResult<()> {
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| crate::error::AgentError::Internal(format!("encoding {key}: {e}")))?;
    objects
        .put(
            &ObjectKey::new(key)?,
            Bytes::from(bytes),
            PutMode::Overwrite,
        )
        .await?;
    Ok(())
}

/// The topic manifests this agent knows to be in the bucket, as it wrote or read them: the
/// `snapshots` job rewrites only those that differ from the metadata store.
#[derive(Debug, Default)]
pub struct Manifests(std::sync::Mutex<std::collections::HashMap<TopicId, TopicManifest>>);

impl Manifests {
    /// Whether the bucket is known to hold exactly `m`.
    pub(crate) fn holds(&self, m: &TopicManifest) -> bool {
        self.0.lock().expect("poisoned").get(&m.id) == Some(m)
    }

    /// Records that the bucket holds `m`.
    pub(crate) fn remember(&self, m: TopicManifest) {
        self.0.lock().expect("poisoned").insert(m.id, m);
    }

    /// Writes a topic's manifest (on create and alter) and remembers it.
    pub async fn write(&self, objects: &dyn ObjectStore, t: &TopicInfo) -> AgentResult<()> {
        let m = TopicManifest::of(t);
        put_json(objects, &topic_key(&t.spec.tenant, t.id), &m).await?;
        self.remember(m);
        Ok(())
    }
}

/// Deletes a topic's manifest (with the topic).
pub async fn delete_topic_manifest(objects: &dyn ObjectStore, t: &TopicInfo) -> AgentResult<()> {
    objects
        .delete(&ObjectKey::new(topic_key(&t.spec.tenant, t.id))?)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_survives_its_manifest() {
        let t = TopicInfo {
            id: 42,
            spec: TopicSpec {
                retention_ms: Some(60_000),
                retention_bytes: Some(1 << 30),
                cleanup_policy: CleanupPolicy::CompactDelete,
                delete_retention_ms: 5,
                compression: streamhouse_core::Codec::Zstd,
                ..TopicSpec::new(
                    TenantId::new("acme").unwrap(),
                    TopicName::new("orders").unwrap(),
                    6,
                )
            },
            created_at_ms: 99,
        };
        let json = serde_json::to_string(&TopicManifest::of(&t)).unwrap();
        let back: TopicManifest = serde_json::from_str(&json).unwrap();
        assert_eq!(back.topic(&t.spec.tenant).unwrap(), t);
        let bad = TopicManifest {
            cleanup_policy: "shred".into(),
            ..back
        };
        assert!(bad.topic(&t.spec.tenant).is_err());
    }
}
