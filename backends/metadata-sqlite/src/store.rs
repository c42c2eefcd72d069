//! `SqliteMetadataStore`: the metadata traits and the lease manager on one SQLite file.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use streamhouse_core::cluster::{AgentInfo, ClusterStore, DEFAULT_GROUP};
use streamhouse_core::lease::ttl_millis;
use streamhouse_core::metadata::{MetadataResult, PoolStats, PoolUsage, stored_i64};
use streamhouse_core::registry::BuildError;
use streamhouse_core::{
    BatchIndexEntry, CommitBatch, IndexStore, Lease, LeaseError, LeaseKey, LeaseManager,
    MetadataError, ObjectCommit, OffsetStore, PartitionInfo, TenantId, TopicId, TopicInfo,
    TopicName, TopicSpec, TopicStore,
};

use crate::config::{SqliteConfig, Synchronous};
use crate::error::{lease as lease_err, meta};

/// Metadata and leases in one SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteMetadataStore {
    pool: SqlitePool,
    /// An exclusive lock on `<path>.lock`, held while the store is open: one agent process
    /// per database. The OS drops it when the process dies, even by `kill -9`.
    _lock: Arc<std::fs::File>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl SqliteMetadataStore {
    /// Opens (creating if needed) the database at `cfg.path` and runs the migrations.
    pub async fn open(cfg: &SqliteConfig) -> Result<Self, BuildError> {
        if let Some(dir) = cfg.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                BuildError(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let lock = lock_database(&cfg.path)?;
        let opts = SqliteConnectOptions::new()
            .filename(&cfg.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match cfg.synchronous {
                Synchronous::Normal => SqliteSynchronous::Normal,
                Synchronous::Full => SqliteSynchronous::Full,
            })
            .busy_timeout(Duration::from_millis(cfg.busy_timeout_ms))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(cfg.max_connections.max(1))
            .connect_with(opts)
            .await
            .map_err(|e| {
                BuildError(format!(
                    "cannot open SQLite database {}: {e}",
                    cfg.path.display()
                ))
            })?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| {
                BuildError(format!(
                    "cannot migrate SQLite database {}: {e}",
                    cfg.path.display()
                ))
            })?;
        Ok(Self {
            pool,
            _lock: Arc::new(lock),
        })
    }

    /// A write transaction that takes the write lock at once (`BEGIN IMMEDIATE`), so two
    /// writers never deadlock upgrading read locks.
    async fn write_tx(&self) -> MetadataResult<Transaction<'static, Sqlite>> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(meta)
    }
}

/// Takes the exclusive lock file of the database at `path`.
///
/// A second agent on the same file would compete for every lease, and a paused one holding
/// SQLite's write lock would stall the other; clusters use the PostgreSQL backend instead.
fn lock_database(path: &std::path::Path) -> Result<std::fs::File, BuildError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = std::path::PathBuf::from(lock_path);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| BuildError(format!("cannot open {}: {e}", lock_path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(BuildError(format!(
            "SQLite database {} is in use by another process: the sqlite backend serves one \
             agent; stop the other agent or give this one another metadata.path",
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(BuildError(format!(
            "cannot lock {}: {e}",
            lock_path.display()
        ))),
    }
}

fn topic_from_row(row: &SqliteRow) -> MetadataResult<TopicInfo> {
    TopicInfo::from_stored(
        row.get("id"),
        row.get("tenant"),
        row.get("name"),
        row.get::<i64, _>("partitions") as u32,
        row.get("retention_ms"),
        row.get::<&str, _>("compression"),
        row.get("created_at_ms"),
    )
    .map_err(|e| MetadataError::Other(format!("corrupt topic row: {e}")))
}

const TOPIC_COLUMNS: &str =
    "id, tenant, name, partitions, retention_ms, compression, created_at_ms";

#[async_trait]
impl TopicStore for SqliteMetadataStore {
    async fn create_topic(&self, spec: &TopicSpec) -> MetadataResult<TopicInfo> {
        if spec.partitions == 0 {
            return Err(MetadataError::InvalidInput(
                "a topic needs at least one partition".into(),
            ));
        }
        let mut tx = self.write_tx().await?;
        let created = now_ms();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO topics (tenant, name, partitions, retention_ms, compression, created_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )
        .bind(spec.tenant.as_str())
        .bind(spec.name.as_str())
        .bind(i64::from(spec.partitions))
        .bind(spec.retention_ms)
        .bind(spec.compression.name())
        .bind(created)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match meta(e) {
            MetadataError::AlreadyExists(_) => MetadataError::AlreadyExists(format!(
                "topic {:?} already exists",
                spec.name.as_str()
            )),
            other => other,
        })?;
        for p in 0..spec.partitions {
            sqlx::query("INSERT INTO partitions (topic_id, partition, tenant) VALUES (?1, ?2, ?3)")
                .bind(id)
                .bind(i64::from(p))
                .bind(spec.tenant.as_str())
                .execute(&mut *tx)
                .await
                .map_err(meta)?;
        }
        tx.commit().await.map_err(meta)?;
        Ok(TopicInfo {
            id,
            spec: spec.clone(),
            created_at_ms: created,
        })
    }

    async fn get_topic(&self, tenant: &TenantId, name: &TopicName) -> MetadataResult<TopicInfo> {
        let row = sqlx::query(&format!(
            "SELECT {TOPIC_COLUMNS} FROM topics WHERE tenant = ?1 AND name = ?2"
        ))
        .bind(tenant.as_str())
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(meta)?;
        match row {
            Some(r) => topic_from_row(&r),
            None => Err(MetadataError::NotFound(format!(
                "topic {:?} does not exist",
                name.as_str()
            ))),
        }
    }

    async fn list_topics(&self, tenant: Option<&TenantId>) -> MetadataResult<Vec<TopicInfo>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOPIC_COLUMNS} FROM topics WHERE ?1 IS NULL OR tenant = ?1 ORDER BY tenant, name"
        ))
        .bind(tenant.map(TenantId::as_str))
        .fetch_all(&self.pool)
        .await
        .map_err(meta)?;
        rows.iter().map(topic_from_row).collect()
    }

    async fn delete_topic(&self, tenant: &TenantId, name: &TopicName) -> MetadataResult<TopicInfo> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(&format!(
            "DELETE FROM topics WHERE tenant = ?1 AND name = ?2 RETURNING {TOPIC_COLUMNS}"
        ))
        .bind(tenant.as_str())
        .bind(name.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(meta)?;
        let Some(row) = row else {
            return Err(MetadataError::NotFound(format!(
                "topic {:?} does not exist",
                name.as_str()
            )));
        };
        let topic = topic_from_row(&row)?;
        for table in ["partitions", "batches", "leases", "group_offsets"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE topic_id = ?1"))
                .bind(topic.id)
                .execute(&mut *tx)
                .await
                .map_err(meta)?;
        }
        tx.commit().await.map_err(meta)?;
        Ok(topic)
    }
}

/// The high watermark of a batch's partition, after checking in the commit's transaction that
/// the partition exists and its lease is held by the committer at the batch's epoch.
async fn fenced_high_watermark(
    tx: &mut Transaction<'static, Sqlite>,
    c: &ObjectCommit,
    b: &CommitBatch,
) -> MetadataResult<u64> {
    let row = sqlx::query(
        "SELECT l.holder, l.epoch, p.high_watermark FROM partitions p \
         LEFT JOIN leases l ON l.topic_id = p.topic_id AND l.partition = p.partition \
         WHERE p.topic_id = ?1 AND p.partition = ?2",
    )
    .bind(b.topic_id)
    .bind(i64::from(b.partition))
    .fetch_optional(&mut **tx)
    .await
    .map_err(meta)?;
    let Some(row) = row else {
        return Err(MetadataError::Fenced(format!(
            "partition {} of topic id {} no longer exists",
            b.partition, b.topic_id
        )));
    };
    let holder: Option<String> = row.get(0);
    let epoch: Option<i64> = row.get(1);
    if holder.as_deref() != Some(c.holder.as_str()) || epoch != Some(b.leader_epoch as i64) {
        return Err(MetadataError::Fenced(format!(
            "partition {} of topic id {}: lease is held by {} at epoch {}, not {} at epoch {}",
            b.partition,
            b.topic_id,
            holder.as_deref().unwrap_or("nobody"),
            epoch.unwrap_or(0),
            c.holder,
            b.leader_epoch
        )));
    }
    Ok(row.get::<i64, _>(2) as u64)
}

#[async_trait]
impl IndexStore for SqliteMetadataStore {
    async fn commit_object(&self, c: &ObjectCommit) -> MetadataResult<()> {
        let mut tx = self.write_tx().await?;
        // Fencing and density are checked inside this transaction; an early return rolls back.
        let mut hw: HashMap<(TopicId, u32), u64> = HashMap::new();
        for b in &c.batches {
            let next = match hw.entry((b.topic_id, b.partition)) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(v) => v.insert(fenced_high_watermark(&mut tx, c, b).await?),
            };
            if b.base_offset != *next {
                return Err(MetadataError::Conflict(format!(
                    "partition {} of topic id {}: batch starts at offset {}, high watermark is {}",
                    b.partition, b.topic_id, b.base_offset, next
                )));
            }
            *next += u64::from(b.record_count);
        }
        let object_id: i64 = sqlx::query_scalar(
            "INSERT INTO objects (key, tenant, size, writer, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        )
        .bind(&c.object_key)
        .bind(c.tenant.as_str())
        .bind(stored_i64(c.object_size, "object size")?)
        .bind(&c.holder)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(meta)?;
        for b in &c.batches {
            sqlx::query(include_str!("../queries/insert_batch.sql"))
                .bind(b.topic_id)
                .bind(i64::from(b.partition))
                .bind(stored_i64(b.base_offset, "offset")?)
                .bind(stored_i64(
                    b.base_offset + u64::from(b.record_count),
                    "offset",
                )?)
                .bind(object_id)
                .bind(stored_i64(b.position, "position")?)
                .bind(i64::from(b.size))
                .bind(b.max_timestamp_ms)
                .execute(&mut *tx)
                .await
                .map_err(meta)?;
        }
        for ((topic_id, partition), new_hw) in &hw {
            sqlx::query(
                "UPDATE partitions SET high_watermark = ?3 WHERE topic_id = ?1 AND partition = ?2",
            )
            .bind(topic_id)
            .bind(i64::from(*partition))
            .bind(stored_i64(*new_hw, "offset")?)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        }
        tx.commit().await.map_err(meta)
    }

    async fn lookup(
        &self,
        topic_id: TopicId,
        partition: u32,
        from_offset: u64,
        limit: u32,
    ) -> MetadataResult<Vec<BatchIndexEntry>> {
        let rows = sqlx::query(include_str!("../queries/lookup.sql"))
            .bind(topic_id)
            .bind(i64::from(partition))
            .bind(stored_i64(from_offset, "offset")?)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(meta)?;
        Ok(rows
            .iter()
            .map(|r| {
                let base = r.get::<i64, _>(3) as u64;
                BatchIndexEntry {
                    object_key: r.get(0),
                    position: r.get::<i64, _>(1) as u64,
                    size: r.get::<i64, _>(2) as u32,
                    base_offset: base,
                    record_count: (r.get::<i64, _>(4) as u64 - base) as u32,
                    max_timestamp_ms: r.get(5),
                }
            })
            .collect())
    }

    async fn partition_offset(
        &self,
        topic_id: TopicId,
        partition: u32,
    ) -> MetadataResult<PartitionInfo> {
        let row = sqlx::query(
            "SELECT log_start_offset, high_watermark FROM partitions \
             WHERE topic_id = ?1 AND partition = ?2",
        )
        .bind(topic_id)
        .bind(i64::from(partition))
        .fetch_optional(&self.pool)
        .await
        .map_err(meta)?;
        let row = row.ok_or_else(|| {
            MetadataError::NotFound(format!(
                "partition {partition} of topic id {topic_id} does not exist"
            ))
        })?;
        Ok(PartitionInfo {
            partition,
            log_start_offset: row.get::<i64, _>(0) as u64,
            high_watermark: row.get::<i64, _>(1) as u64,
        })
    }

    async fn partition_offsets(&self, topic_id: TopicId) -> MetadataResult<Vec<PartitionInfo>> {
        let rows = sqlx::query(
            "SELECT partition, log_start_offset, high_watermark FROM partitions \
             WHERE topic_id = ?1 ORDER BY partition",
        )
        .bind(topic_id)
        .fetch_all(&self.pool)
        .await
        .map_err(meta)?;
        Ok(rows
            .iter()
            .map(|r| PartitionInfo {
                partition: r.get::<i64, _>(0) as u32,
                log_start_offset: r.get::<i64, _>(1) as u64,
                high_watermark: r.get::<i64, _>(2) as u64,
            })
            .collect())
    }

    async fn expire_before(
        &self,
        topic_id: TopicId,
        partition: u32,
        cutoff_ms: i64,
    ) -> MetadataResult<u64> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(include_str!("../queries/expire_keep_from.sql"))
            .bind(topic_id)
            .bind(i64::from(partition))
            .bind(cutoff_ms)
            .fetch_optional(&mut *tx)
            .await
            .map_err(meta)?;
        let Some(row) = row else {
            return Err(MetadataError::NotFound(format!(
                "partition {partition} of topic id {topic_id} does not exist"
            )));
        };
        let keep_from: i64 = row.get(0);
        sqlx::query(
            "DELETE FROM batches WHERE topic_id = ?1 AND partition = ?2 AND base_offset < ?3",
        )
        .bind(topic_id)
        .bind(i64::from(partition))
        .bind(keep_from)
        .execute(&mut *tx)
        .await
        .map_err(meta)?;
        let start: i64 = sqlx::query_scalar(
            "UPDATE partitions SET log_start_offset = MAX(log_start_offset, ?3) \
             WHERE topic_id = ?1 AND partition = ?2 RETURNING log_start_offset",
        )
        .bind(topic_id)
        .bind(i64::from(partition))
        .bind(keep_from)
        .fetch_one(&mut *tx)
        .await
        .map_err(meta)?;
        tx.commit().await.map_err(meta)?;
        Ok(start as u64)
    }

    async fn unreferenced_objects(&self, limit: u32) -> MetadataResult<Vec<String>> {
        sqlx::query_scalar(
            "SELECT key FROM objects o \
             WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.object_id = o.id) \
             ORDER BY o.id LIMIT ?1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(meta)
    }

    async fn forget_object(&self, object_key: &str) -> MetadataResult<()> {
        sqlx::query(
            "DELETE FROM objects WHERE key = ?1 \
             AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.object_id = objects.id)",
        )
        .bind(object_key)
        .execute(&self.pool)
        .await
        .map_err(meta)?;
        Ok(())
    }
}

#[async_trait]
impl OffsetStore for SqliteMetadataStore {
    async fn commit_offsets(
        &self,
        tenant: &TenantId,
        group: &str,
        topic_id: TopicId,
        offsets: &[(u32, u64)],
    ) -> MetadataResult<()> {
        let mut tx = self.write_tx().await?;
        let partitions: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM partitions WHERE topic_id = ?1")
                .bind(topic_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(meta)?;
        let now = now_ms();
        for (p, off) in offsets {
            if i64::from(*p) >= partitions {
                return Err(MetadataError::NotFound(format!(
                    "partition {p} does not exist; the topic has {partitions}"
                )));
            }
            sqlx::query(include_str!("../queries/commit_offset.sql"))
                .bind(tenant.as_str())
                .bind(group)
                .bind(topic_id)
                .bind(i64::from(*p))
                .bind(stored_i64(*off, "offset")?)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(meta)?;
        }
        tx.commit().await.map_err(meta)
    }

    async fn fetch_offsets(
        &self,
        tenant: &TenantId,
        group: &str,
        topic_id: TopicId,
    ) -> MetadataResult<Vec<(u32, u64)>> {
        let rows = sqlx::query(
            "SELECT partition, committed FROM group_offsets \
             WHERE tenant = ?1 AND group_id = ?2 AND topic_id = ?3 ORDER BY partition",
        )
        .bind(tenant.as_str())
        .bind(group)
        .bind(topic_id)
        .fetch_all(&self.pool)
        .await
        .map_err(meta)?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<i64, _>(0) as u32, r.get::<i64, _>(1) as u64))
            .collect())
    }
}

#[async_trait]
impl LeaseManager for SqliteMetadataStore {
    async fn acquire(
        &self,
        key: &LeaseKey,
        holder: &str,
        ttl: Duration,
    ) -> Result<Lease, LeaseError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(lease_err)?;
        let now = now_ms();
        let cur = sqlx::query(
            "SELECT holder, epoch, expires_at_ms FROM leases WHERE topic_id = ?1 AND partition = ?2",
        )
        .bind(key.topic_id)
        .bind(i64::from(key.partition))
        .fetch_optional(&mut *tx)
        .await
        .map_err(lease_err)?;
        let epoch = match cur {
            None => 1,
            Some(r) => {
                let (h, e, exp): (String, i64, i64) = (r.get(0), r.get(1), r.get(2));
                if h == holder {
                    e
                } else if exp <= now {
                    e + 1
                } else {
                    return Err(LeaseError::Held {
                        key: key.to_string(),
                        holder: h,
                        remaining_ms: exp - now,
                    });
                }
            }
        };
        let expires = now.saturating_add(ttl_millis(ttl));
        sqlx::query(
            "INSERT INTO leases (topic_id, partition, tenant, holder, epoch, expires_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (topic_id, partition) DO UPDATE SET holder = excluded.holder, \
             epoch = excluded.epoch, expires_at_ms = excluded.expires_at_ms",
        )
        .bind(key.topic_id)
        .bind(i64::from(key.partition))
        .bind(key.tenant.as_str())
        .bind(holder)
        .bind(epoch)
        .bind(expires)
        .execute(&mut *tx)
        .await
        .map_err(lease_err)?;
        tx.commit().await.map_err(lease_err)?;
        Ok(Lease {
            key: key.clone(),
            holder: holder.to_owned(),
            epoch: epoch as u64,
            expires_at_ms: expires,
        })
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease, LeaseError> {
        let expires = now_ms().saturating_add(ttl_millis(ttl));
        let done = sqlx::query(
            "UPDATE leases SET expires_at_ms = ?5 \
             WHERE topic_id = ?1 AND partition = ?2 AND holder = ?3 AND epoch = ?4",
        )
        .bind(lease.key.topic_id)
        .bind(i64::from(lease.key.partition))
        .bind(&lease.holder)
        .bind(lease.epoch as i64)
        .bind(expires)
        .execute(&self.pool)
        .await
        .map_err(lease_err)?;
        if done.rows_affected() == 0 {
            return Err(LeaseError::Lost(lease.key.to_string()));
        }
        Ok(Lease {
            expires_at_ms: expires,
            ..lease.clone()
        })
    }

    async fn release(&self, lease: &Lease) -> Result<(), LeaseError> {
        // Expire rather than delete: the epoch must survive so the next holder's is higher.
        sqlx::query(
            "UPDATE leases SET expires_at_ms = 0 \
             WHERE topic_id = ?1 AND partition = ?2 AND holder = ?3 AND epoch = ?4",
        )
        .bind(lease.key.topic_id)
        .bind(i64::from(lease.key.partition))
        .bind(&lease.holder)
        .bind(lease.epoch as i64)
        .execute(&self.pool)
        .await
        .map_err(lease_err)?;
        Ok(())
    }

    async fn get(&self, key: &LeaseKey) -> Result<Option<Lease>, LeaseError> {
        let row = sqlx::query(
            "SELECT holder, epoch, expires_at_ms FROM leases WHERE topic_id = ?1 AND partition = ?2",
        )
        .bind(key.topic_id)
        .bind(i64::from(key.partition))
        .fetch_optional(&self.pool)
        .await
        .map_err(lease_err)?;
        Ok(row.map(|r| Lease {
            key: key.clone(),
            holder: r.get(0),
            epoch: r.get::<i64, _>(1) as u64,
            expires_at_ms: r.get(2),
        }))
    }
}

fn agent_from_row(r: &SqliteRow) -> AgentInfo {
    AgentInfo {
        holder: r.get(0),
        agent_id: r.get(1),
        group: r.get(2),
        zone: r.get(3),
        addr: r.get(4),
    }
}

#[async_trait]
impl ClusterStore for SqliteMetadataStore {
    async fn heartbeat(&self, agent: &AgentInfo, ttl: Duration) -> MetadataResult<()> {
        sqlx::query(
            "INSERT INTO agents (holder, agent_id, group_name, zone, addr, expires_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (holder) DO UPDATE SET \
             agent_id = excluded.agent_id, group_name = excluded.group_name, \
             zone = excluded.zone, addr = excluded.addr, expires_at_ms = excluded.expires_at_ms",
        )
        .bind(&agent.holder)
        .bind(&agent.agent_id)
        .bind(&agent.group)
        .bind(&agent.zone)
        .bind(&agent.addr)
        .bind(now_ms().saturating_add(ttl_millis(ttl)))
        .execute(&self.pool)
        .await
        .map_err(meta)?;
        Ok(())
    }

    async fn live_agents(&self) -> MetadataResult<Vec<AgentInfo>> {
        let rows = sqlx::query(
            "SELECT holder, agent_id, group_name, zone, addr FROM agents \
             WHERE expires_at_ms > ?1 ORDER BY holder",
        )
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await
        .map_err(meta)?;
        Ok(rows.iter().map(agent_from_row).collect())
    }

    async fn leave(&self, holder: &str) -> MetadataResult<()> {
        sqlx::query("DELETE FROM agents WHERE holder = ?1")
            .bind(holder)
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        Ok(())
    }

    async fn set_tenant_group(&self, tenant: &TenantId, group: &str) -> MetadataResult<()> {
        sqlx::query(
            "INSERT INTO tenant_groups (tenant, group_name) VALUES (?1, ?2) \
             ON CONFLICT (tenant) DO UPDATE SET group_name = excluded.group_name",
        )
        .bind(tenant.as_str())
        .bind(group)
        .execute(&self.pool)
        .await
        .map_err(meta)?;
        Ok(())
    }

    async fn tenant_group(&self, tenant: &TenantId) -> MetadataResult<String> {
        let group: Option<String> =
            sqlx::query_scalar("SELECT group_name FROM tenant_groups WHERE tenant = ?1")
                .bind(tenant.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(meta)?;
        Ok(group.unwrap_or_else(|| DEFAULT_GROUP.to_owned()))
    }
}

impl PoolStats for SqliteMetadataStore {
    fn pool_usage(&self) -> PoolUsage {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        PoolUsage {
            in_use: self.pool.size().saturating_sub(idle),
            max: self.pool.options().get_max_connections(),
        }
    }
}
