//! `PostgresMetadataStore`: the metadata traits and the lease manager on PostgreSQL.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::query::{Query, QueryScalar};
use sqlx::{Executor, Postgres, Row, Transaction};
use streamhouse_core::cluster::{AgentInfo, ClusterStore, DEFAULT_GROUP};
use streamhouse_core::lease::ttl_millis;
use streamhouse_core::metadata::{MetadataResult, PoolStats, PoolUsage, stored_i64};
use streamhouse_core::registry::BuildError;
use streamhouse_core::{
    BatchIndexEntry, IndexStore, Lease, LeaseError, LeaseKey, LeaseManager, MetadataError,
    ObjectCommit, OffsetStore, PartitionInfo, TenantId, TopicId, TopicInfo, TopicName, TopicSpec,
    TopicStore,
};
use tracing::{info, warn};

use crate::config::PostgresConfig;
use crate::error::{connect_retriable, lease as lease_err, meta, permanent_hint};

/// Metadata and leases in PostgreSQL, with an optional read-only replica endpoint.
#[derive(Debug, Clone)]
pub struct PostgresMetadataStore {
    writer: PgPool,
    /// The reader endpoint's pool (Aurora), if configured.
    reader: Option<PgPool>,
    /// Named (cached, prepared) statements; off behind a transaction pooler.
    persistent: bool,
    /// `SET LOCAL` statement and idle-in-transaction timeouts for each write transaction
    /// (behind a transaction pooler, where startup parameters do not reach the server).
    set_local_timeout: Option<String>,
}

/// A pooled connection, or a transaction on one (see [`PostgresMetadataStore::conn`]).
enum Conn {
    Pooled(PoolConnection<Postgres>),
    Tx(Transaction<'static, Postgres>),
}

impl Conn {
    fn get(&mut self) -> &mut PgConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Tx(t) => t,
        }
    }

    async fn done(self) -> Result<(), sqlx::Error> {
        match self {
            Conn::Pooled(_) => Ok(()),
            Conn::Tx(t) => t.commit().await,
        }
    }
}

/// `host:port/database as user`, for messages: never the password.
fn describe(o: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{} as {}",
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap_or("(default database)"),
        o.get_username()
    )
}

fn connect_options(
    url: &str,
    cfg: &PostgresConfig,
    what: &str,
) -> Result<PgConnectOptions, BuildError> {
    let mut o = url
        .parse::<PgConnectOptions>()
        .map_err(|e| {
            BuildError(format!(
                "[metadata] {what} is not a valid PostgreSQL URL: {e}"
            ))
        })?
        .application_name("streamhouse-agent");
    if cfg.transaction_pooler {
        // A transaction pooler may hand each transaction a different server connection:
        // nothing may be prepared or set per session.
        o = o.statement_cache_capacity(0);
    } else {
        o = o.options([
            (
                "statement_timeout",
                format!("{}ms", cfg.statement_timeout_ms),
            ),
            (
                "idle_in_transaction_session_timeout",
                format!("{}ms", idle_in_transaction_ms(cfg)),
            ),
        ]);
    }
    Ok(o)
}

/// How long the server lets a transaction sit idle before ending its session: twice the
/// statement timeout. An agent frozen mid-commit (a long GC-like pause, SIGSTOP) would
/// otherwise hold its partition and lease row locks, and so block the agent taking over,
/// for as long as it stays frozen.
fn idle_in_transaction_ms(cfg: &PostgresConfig) -> u64 {
    cfg.statement_timeout_ms.saturating_mul(2)
}

/// Opens a pool for `url`: with `iam_auth`, signs a token as the password and keeps the pool
/// supplied with fresh ones.
async fn open_pool(url: &str, what: &str, cfg: &PostgresConfig) -> Result<PgPool, BuildError> {
    let opts = connect_options(url, cfg, what)?;
    if !cfg.iam_auth {
        return open_pool_with(opts, cfg).await;
    }
    #[cfg(feature = "aurora-iam")]
    {
        let tokens = crate::iam::RdsTokenGenerator::from_environment(
            cfg.region.clone(),
            opts.get_host(),
            opts.get_port(),
            opts.get_username(),
        )
        .await?;
        let pool = open_pool_with(opts.clone().password(&tokens.token().await?), cfg).await?;
        let refreshed = pool.clone();
        tokio::spawn(async move {
            while !refreshed.is_closed() {
                tokio::time::sleep(crate::iam::REFRESH_EVERY).await;
                match tokens.token().await {
                    // Only connections opened from now on use it; open ones stay valid.
                    Ok(t) => refreshed.set_connect_options(opts.clone().password(&t)),
                    Err(e) => warn!("cannot refresh the RDS IAM token: {e}"),
                }
            }
        });
        Ok(pool)
    }
    #[cfg(not(feature = "aurora-iam"))]
    Err(BuildError(
        "[metadata] iam_auth needs a binary built with `--features aurora-iam`".into(),
    ))
}

/// Opens a pool, waiting with backoff while the server is unreachable (it may be starting)
/// and failing at once on what a retry cannot fix (credentials, a missing database).
async fn open_pool_with(
    opts: PgConnectOptions,
    cfg: &PostgresConfig,
) -> Result<PgPool, BuildError> {
    let pool = PgPoolOptions::new()
        .max_connections(cfg.max_connections.max(1))
        .acquire_timeout(Duration::from_millis(cfg.acquire_timeout_ms))
        .connect_lazy_with(opts.clone());
    let target = describe(&opts);
    let mut backoff = Duration::from_millis(200);
    loop {
        match pool.acquire().await {
            Ok(_) => return Ok(pool),
            Err(sqlx::Error::Database(db))
                if db.code().as_deref().and_then(permanent_hint).is_some() =>
            {
                let hint = db
                    .code()
                    .as_deref()
                    .and_then(permanent_hint)
                    .unwrap_or_default();
                return Err(BuildError(format!(
                    "cannot use PostgreSQL at {target}: {} ({hint})",
                    db.message()
                )));
            }
            Err(e) if !connect_retriable(&e) => {
                return Err(BuildError(format!(
                    "cannot use PostgreSQL at {target}: {e}"
                )));
            }
            Err(e) => {
                warn!("metadata database {target} is unreachable ({e}); retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

impl PostgresMetadataStore {
    /// Connects (waiting for the server if it is down), migrates unless
    /// `run_migrations = false`, and returns the store.
    pub async fn connect(cfg: &PostgresConfig) -> Result<Self, BuildError> {
        let writer = open_pool(&cfg.url, "url", cfg).await?;
        if cfg.run_migrations {
            migrate(&writer).await?;
        }
        let reader = match &cfg.reader_url {
            Some(url) => Some(open_pool(url, "reader_url", cfg).await?),
            None => None,
        };
        Ok(Self {
            writer,
            reader,
            persistent: !cfg.transaction_pooler,
            set_local_timeout: cfg.transaction_pooler.then(|| {
                format!(
                    "SET LOCAL statement_timeout = {}; \
                     SET LOCAL idle_in_transaction_session_timeout = {}",
                    cfg.statement_timeout_ms,
                    idle_in_transaction_ms(cfg)
                )
            }),
        })
    }

    /// Runs the migrations and returns (`streamhouse-agent migrate`).
    pub async fn migrate_only(cfg: &PostgresConfig) -> Result<(), BuildError> {
        let pool = open_pool(&cfg.url, "url", cfg).await?;
        migrate(&pool).await
    }

    /// A connection of `pool` for statements outside an explicit transaction. Behind a
    /// transaction pooler it is a transaction: an unnamed statement is parsed and executed
    /// in two exchanges, which only a transaction keeps on one server connection.
    async fn conn(&self, pool: &PgPool) -> Result<Conn, sqlx::Error> {
        Ok(if self.persistent {
            Conn::Pooled(pool.acquire().await?)
        } else {
            Conn::Tx(pool.begin().await?)
        })
    }

    /// The pool for read-only queries that tolerate a replica's lag.
    fn reader(&self) -> &PgPool {
        self.reader.as_ref().unwrap_or(&self.writer)
    }

    async fn lookup_on(
        &self,
        pool: &PgPool,
        topic_id: TopicId,
        partition: u32,
        from: i64,
        limit: u32,
    ) -> MetadataResult<Vec<PgRow>> {
        let mut c = self.conn(pool).await.map_err(meta)?;
        let rows = self
            .q(include_str!("../queries/lookup.sql"))
            .bind(topic_id)
            .bind(partition as i32)
            .bind(from)
            .bind(i64::from(limit))
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await.map_err(meta)?;
        Ok(rows)
    }

    fn q<'q>(&self, sql: &'q str) -> Query<'q, Postgres, PgArguments> {
        sqlx::query(sql).persistent(self.persistent)
    }

    fn scalar<'q, T>(&self, sql: &'q str) -> QueryScalar<'q, Postgres, T, PgArguments>
    where
        (T,): for<'r> sqlx::FromRow<'r, PgRow>,
    {
        sqlx::query_scalar(sql).persistent(self.persistent)
    }

    async fn write_tx(&self) -> MetadataResult<Transaction<'static, Postgres>> {
        let mut tx = self.writer.begin().await.map_err(meta)?;
        if let Some(set) = &self.set_local_timeout {
            // No arguments: the simple protocol, which takes both statements at once.
            (&mut *tx).execute(set.as_str()).await.map_err(meta)?;
        }
        Ok(tx)
    }
}

/// Advisory lock key of the migrations ("SHMIGRAT" in ASCII).
const MIGRATION_LOCK: i64 = 0x5348_4d49_4752_4154;

/// Applies the embedded migrations that are not applied yet, all in one transaction under a
/// transaction-level advisory lock, so agents starting together take turns and a failure
/// leaves the schema as it was.
///
/// Not sqlx's migrator: its bookkeeping uses named prepared statements and a session-level
/// advisory lock, neither of which survives a transaction pooler. Everything here is unnamed
/// statements or simple-protocol SQL inside one transaction, which PgBouncer keeps on one
/// server connection.
async fn migrate(pool: &PgPool) -> Result<(), BuildError> {
    let migrations: Vec<(i64, String, String, Vec<u8>)> = sqlx::migrate!("./migrations")
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| {
            (
                m.version,
                m.description.to_string(),
                m.sql.to_string(),
                m.checksum.to_vec(),
            )
        })
        .collect();
    let fail = |e: sqlx::Error| BuildError(format!("cannot migrate the metadata database: {e}"));
    let mut conn = pool.acquire().await.map_err(fail)?;
    let c: &mut PgConnection = &mut conn;
    // Arguments-free statements go out in the simple protocol: nothing is prepared.
    c.execute("BEGIN").await.map_err(fail)?;
    let result = apply(c, &migrations).await;
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    c.execute(end).await.map_err(fail)?;
    let ran = result.map_err(fail)?;
    info!(applied = ran, "metadata schema is up to date");
    Ok(())
}

/// The body of [`migrate`], inside its transaction.
async fn apply(
    c: &mut PgConnection,
    migrations: &[(i64, String, String, Vec<u8>)],
) -> Result<usize, sqlx::Error> {
    c.execute(format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})").as_str())
        .await?;
    c.execute(
        "CREATE TABLE IF NOT EXISTS streamhouse_migrations (\
           version BIGINT PRIMARY KEY, description TEXT NOT NULL, checksum BYTEA NOT NULL, \
           applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await?;
    let applied: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT version, checksum FROM streamhouse_migrations")
            .persistent(false)
            .fetch_all(&mut *c)
            .await?;
    let mut ran = 0;
    for (version, description, sql, checksum) in migrations {
        if let Some((_, done)) = applied.iter().find(|(v, _)| v == version) {
            if done != checksum {
                return Err(sqlx::Error::Protocol(format!(
                    "migration {version} ({description}) differs from the one applied to this \
                     database"
                )));
            }
            continue;
        }
        c.execute(sql.as_str()).await?;
        sqlx::query(
            "INSERT INTO streamhouse_migrations (version, description, checksum) VALUES ($1, $2, $3)",
        )
        .persistent(false)
        .bind(version)
        .bind(description)
        .bind(checksum)
        .execute(&mut *c)
        .await?;
        ran += 1;
    }
    Ok(ran)
}

fn topic_from_row(row: &PgRow) -> MetadataResult<TopicInfo> {
    TopicInfo::from_stored(
        row.get("id"),
        row.get("tenant"),
        row.get("name"),
        row.get::<i32, _>("partitions") as u32,
        row.get("retention_ms"),
        row.get::<&str, _>("compression"),
        row.get("created_at_ms"),
    )
    .map_err(|e| MetadataError::Other(format!("corrupt topic row: {e}")))
}

const TOPIC_COLUMNS: &str =
    "id, tenant, name, partitions, retention_ms, compression, created_at_ms";

#[async_trait]
impl TopicStore for PostgresMetadataStore {
    async fn create_topic(&self, spec: &TopicSpec) -> MetadataResult<TopicInfo> {
        let partitions = i32::try_from(spec.partitions)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                MetadataError::InvalidInput(format!("{} partitions", spec.partitions))
            })?;
        let mut tx = self.write_tx().await?;
        let row = self
            .q(include_str!("../queries/create_topic.sql"))
            .bind(spec.tenant.as_str())
            .bind(spec.name.as_str())
            .bind(partitions)
            .bind(spec.retention_ms)
            .bind(spec.compression.name())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match meta(e) {
                MetadataError::AlreadyExists(_) => MetadataError::AlreadyExists(format!(
                    "topic {:?} already exists",
                    spec.name.as_str()
                )),
                other => other,
            })?;
        let id: i64 = row.get(0);
        self.q(include_str!("../queries/create_partitions.sql"))
            .bind(id)
            .bind(spec.tenant.as_str())
            .bind(partitions)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        tx.commit().await.map_err(meta)?;
        Ok(TopicInfo {
            id,
            spec: spec.clone(),
            created_at_ms: row.get(1),
        })
    }

    async fn get_topic(&self, tenant: &TenantId, name: &TopicName) -> MetadataResult<TopicInfo> {
        // From the writer: a topic created a moment ago through another agent must be found.
        let sql = format!("SELECT {TOPIC_COLUMNS} FROM topics WHERE tenant = $1 AND name = $2");
        let mut c = self.conn(&self.writer).await.map_err(meta)?;
        let row = self
            .q(&sql)
            .bind(tenant.as_str())
            .bind(name.as_str())
            .fetch_optional(c.get())
            .await
            .map_err(meta)?;
        c.done().await.map_err(meta)?;
        match row {
            Some(r) => topic_from_row(&r),
            None => Err(MetadataError::NotFound(format!(
                "topic {:?} does not exist",
                name.as_str()
            ))),
        }
    }

    async fn list_topics(&self, tenant: Option<&TenantId>) -> MetadataResult<Vec<TopicInfo>> {
        let sql = format!(
            "SELECT {TOPIC_COLUMNS} FROM topics WHERE $1::TEXT IS NULL OR tenant = $1 \
             ORDER BY tenant, name"
        );
        let mut c = self.conn(self.reader()).await.map_err(meta)?;
        let rows = self
            .q(&sql)
            .bind(tenant.map(TenantId::as_str))
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await.map_err(meta)?;
        rows.iter().map(topic_from_row).collect()
    }

    async fn delete_topic(&self, tenant: &TenantId, name: &TopicName) -> MetadataResult<TopicInfo> {
        let mut tx = self.write_tx().await?;
        let sql =
            format!("DELETE FROM topics WHERE tenant = $1 AND name = $2 RETURNING {TOPIC_COLUMNS}");
        let row = self
            .q(&sql)
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
        for sql in [
            "DELETE FROM partitions WHERE topic_id = $1",
            "DELETE FROM batches WHERE topic_id = $1",
            "DELETE FROM leases WHERE topic_id = $1",
            "DELETE FROM group_offsets WHERE topic_id = $1",
        ] {
            self.q(sql)
                .bind(topic.id)
                .execute(&mut *tx)
                .await
                .map_err(meta)?;
        }
        tx.commit().await.map_err(meta)?;
        Ok(topic)
    }
}

#[async_trait]
impl IndexStore for PostgresMetadataStore {
    async fn commit_object(&self, c: &ObjectCommit) -> MetadataResult<()> {
        let mut keys: Vec<(i64, i32)> = Vec::new();
        for b in &c.batches {
            let k = (b.topic_id, b.partition as i32);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        let mut tx = self.write_tx().await?;
        let rows = self
            .q(include_str!("../queries/commit_lock.sql"))
            .bind(keys.iter().map(|k| k.0).collect::<Vec<_>>())
            .bind(keys.iter().map(|k| k.1).collect::<Vec<_>>())
            .fetch_all(&mut *tx)
            .await
            .map_err(meta)?;
        let mut current: HashMap<(i64, i32), (u64, String, i64)> = rows
            .iter()
            .map(|r| {
                (
                    (r.get::<i64, _>(0), r.get::<i32, _>(1)),
                    (
                        r.get::<i64, _>(2) as u64,
                        r.get::<String, _>(3),
                        r.get::<i64, _>(4),
                    ),
                )
            })
            .collect();
        // Fencing and density, checked on the locked rows; an early return rolls back.
        let mut next: HashMap<(i64, i32), u64> = HashMap::new();
        for b in &c.batches {
            let k = (b.topic_id, b.partition as i32);
            let hw = match next.entry(k) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(v) => {
                    let Some((hw, holder, epoch)) = current.remove(&k) else {
                        return Err(MetadataError::Fenced(format!(
                            "partition {} of topic id {} has no lease or no longer exists",
                            b.partition, b.topic_id
                        )));
                    };
                    if holder != c.holder || epoch != b.leader_epoch as i64 {
                        return Err(MetadataError::Fenced(format!(
                            "partition {} of topic id {}: lease is held by {holder} at epoch \
                             {epoch}, not {} at epoch {}",
                            b.partition, b.topic_id, c.holder, b.leader_epoch
                        )));
                    }
                    v.insert(hw)
                }
            };
            if b.base_offset != *hw {
                return Err(MetadataError::Conflict(format!(
                    "partition {} of topic id {}: batch starts at offset {}, high watermark is {}",
                    b.partition, b.topic_id, b.base_offset, hw
                )));
            }
            *hw += u64::from(b.record_count);
        }
        let object_id: i64 = self
            .scalar(include_str!("../queries/insert_object.sql"))
            .bind(&c.object_key)
            .bind(c.tenant.as_str())
            .bind(stored_i64(c.object_size, "object size")?)
            .bind(&c.holder)
            .fetch_one(&mut *tx)
            .await
            .map_err(meta)?;
        let n = c.batches.len();
        let (mut t, mut p, mut base, mut end, mut pos, mut size, mut ts) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for b in &c.batches {
            t.push(b.topic_id);
            p.push(b.partition as i32);
            base.push(stored_i64(b.base_offset, "offset")?);
            end.push(stored_i64(
                b.base_offset + u64::from(b.record_count),
                "offset",
            )?);
            pos.push(stored_i64(b.position, "position")?);
            size.push(b.size as i32);
            ts.push(b.max_timestamp_ms);
        }
        self.q(include_str!("../queries/insert_batches.sql"))
            .bind(object_id)
            .bind(t)
            .bind(p)
            .bind(base)
            .bind(end)
            .bind(pos)
            .bind(size)
            .bind(ts)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        let mut hw_t = Vec::with_capacity(next.len());
        let mut hw_p = Vec::with_capacity(next.len());
        let mut hw_v = Vec::with_capacity(next.len());
        for ((topic_id, partition), hw) in next {
            hw_t.push(topic_id);
            hw_p.push(partition);
            hw_v.push(stored_i64(hw, "offset")?);
        }
        self.q(include_str!("../queries/advance_high_watermarks.sql"))
            .bind(hw_t)
            .bind(hw_p)
            .bind(hw_v)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        tx.commit().await.map_err(meta)
    }

    async fn lookup(
        &self,
        topic_id: TopicId,
        partition: u32,
        from_offset: u64,
        limit: u32,
    ) -> MetadataResult<Vec<BatchIndexEntry>> {
        let from = stored_i64(from_offset, "offset")?;
        let mut rows = self
            .lookup_on(self.reader(), topic_id, partition, from, limit)
            .await?;
        // A replica may lag the writer: if it does not have the batch holding the offset yet,
        // ask the writer.
        let covered = rows.first().is_some_and(|r| r.get::<i64, _>(3) <= from);
        if !covered && self.reader.is_some() {
            rows = self
                .lookup_on(&self.writer, topic_id, partition, from, limit)
                .await?;
        }
        Ok(rows
            .iter()
            .map(|r| {
                let base = r.get::<i64, _>(3) as u64;
                BatchIndexEntry {
                    object_key: r.get(0),
                    position: r.get::<i64, _>(1) as u64,
                    size: r.get::<i32, _>(2) as u32,
                    base_offset: base,
                    record_count: (r.get::<i64, _>(4) as u64 - base) as u32,
                    max_timestamp_ms: r.get(5),
                }
            })
            .collect())
    }

    async fn partition_offsets(&self, topic_id: TopicId) -> MetadataResult<Vec<PartitionInfo>> {
        let mut c = self.conn(self.reader()).await.map_err(meta)?;
        let rows = self
            .q(
                "SELECT partition, log_start_offset, high_watermark FROM partitions \
                WHERE topic_id = $1 ORDER BY partition",
            )
            .bind(topic_id)
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await.map_err(meta)?;
        Ok(rows
            .iter()
            .map(|r| PartitionInfo {
                partition: r.get::<i32, _>(0) as u32,
                log_start_offset: r.get::<i64, _>(1) as u64,
                high_watermark: r.get::<i64, _>(2) as u64,
            })
            .collect())
    }

    async fn partition_offset(
        &self,
        topic_id: TopicId,
        partition: u32,
    ) -> MetadataResult<PartitionInfo> {
        // From the writer: a new leader loads its next offset from this.
        let mut c = self.conn(&self.writer).await.map_err(meta)?;
        let row = self
            .q("SELECT log_start_offset, high_watermark FROM partitions \
                WHERE topic_id = $1 AND partition = $2")
            .bind(topic_id)
            .bind(partition as i32)
            .fetch_optional(c.get())
            .await
            .map_err(meta)?;
        c.done().await.map_err(meta)?;
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

    async fn expire_before(
        &self,
        topic_id: TopicId,
        partition: u32,
        cutoff_ms: i64,
    ) -> MetadataResult<u64> {
        let mut tx = self.write_tx().await?;
        let keep_from: Option<i64> = self
            .scalar(include_str!("../queries/expire_keep_from.sql"))
            .bind(topic_id)
            .bind(partition as i32)
            .bind(cutoff_ms)
            .fetch_optional(&mut *tx)
            .await
            .map_err(meta)?;
        let Some(keep_from) = keep_from else {
            return Err(MetadataError::NotFound(format!(
                "partition {partition} of topic id {topic_id} does not exist"
            )));
        };
        self.q("DELETE FROM batches WHERE topic_id = $1 AND partition = $2 AND base_offset < $3")
            .bind(topic_id)
            .bind(partition as i32)
            .bind(keep_from)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        let start: i64 = self
            .scalar(
                "UPDATE partitions SET log_start_offset = GREATEST(log_start_offset, $3) \
                 WHERE topic_id = $1 AND partition = $2 RETURNING log_start_offset",
            )
            .bind(topic_id)
            .bind(partition as i32)
            .bind(keep_from)
            .fetch_one(&mut *tx)
            .await
            .map_err(meta)?;
        tx.commit().await.map_err(meta)?;
        Ok(start as u64)
    }

    async fn unreferenced_objects(&self, limit: u32) -> MetadataResult<Vec<String>> {
        let mut c = self.conn(&self.writer).await.map_err(meta)?;
        let keys = self
            .scalar(include_str!("../queries/unreferenced_objects.sql"))
            .bind(i64::from(limit))
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await.map_err(meta)?;
        Ok(keys)
    }

    async fn forget_object(&self, object_key: &str) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await.map_err(meta)?;
        self.q("DELETE FROM objects o WHERE o.key = $1 \
             AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.object_id = o.id)")
            .bind(object_key)
            .execute(c.get())
            .await
            .map_err(meta)?;
        c.done().await.map_err(meta)?;
        Ok(())
    }
}

#[async_trait]
impl OffsetStore for PostgresMetadataStore {
    async fn commit_offsets(
        &self,
        tenant: &TenantId,
        group: &str,
        topic_id: TopicId,
        offsets: &[(u32, u64)],
    ) -> MetadataResult<()> {
        let mut tx = self.write_tx().await?;
        let partitions: Option<i32> = self
            .scalar("SELECT partitions FROM topics WHERE id = $1")
            .bind(topic_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(meta)?;
        let partitions = partitions.ok_or_else(|| {
            MetadataError::NotFound(format!("topic id {topic_id} does not exist"))
        })?;
        let mut ps = Vec::with_capacity(offsets.len());
        let mut os = Vec::with_capacity(offsets.len());
        for (p, o) in offsets {
            if *p as i64 >= i64::from(partitions) {
                return Err(MetadataError::NotFound(format!(
                    "partition {p} does not exist; the topic has {partitions}"
                )));
            }
            ps.push(*p as i32);
            os.push(stored_i64(*o, "offset")?);
        }
        self.q(include_str!("../queries/commit_offsets.sql"))
            .bind(tenant.as_str())
            .bind(group)
            .bind(topic_id)
            .bind(ps)
            .bind(os)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        tx.commit().await.map_err(meta)
    }

    async fn fetch_offsets(
        &self,
        tenant: &TenantId,
        group: &str,
        topic_id: TopicId,
    ) -> MetadataResult<Vec<(u32, u64)>> {
        // From the writer: a consumer reads back the offsets it just committed.
        let mut c = self.conn(&self.writer).await.map_err(meta)?;
        let rows = self
            .q("SELECT partition, committed FROM group_offsets \
                WHERE tenant = $1 AND group_id = $2 AND topic_id = $3 ORDER BY partition")
            .bind(tenant.as_str())
            .bind(group)
            .bind(topic_id)
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await.map_err(meta)?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<i32, _>(0) as u32, r.get::<i64, _>(1) as u64))
            .collect())
    }
}

#[async_trait]
impl LeaseManager for PostgresMetadataStore {
    async fn acquire(
        &self,
        key: &LeaseKey,
        holder: &str,
        ttl: Duration,
    ) -> Result<Lease, LeaseError> {
        let mut c = self.conn(&self.writer).await.map_err(lease_err)?;
        let row = self
            .q(include_str!("../queries/acquire_lease.sql"))
            .bind(key.topic_id)
            .bind(key.partition as i32)
            .bind(key.tenant.as_str())
            .bind(holder)
            .bind(ttl_millis(ttl))
            .fetch_optional(c.get())
            .await
            .map_err(lease_err)?;
        c.done().await.map_err(lease_err)?;
        if let Some(r) = row {
            return Ok(Lease {
                key: key.clone(),
                holder: holder.to_owned(),
                epoch: r.get::<i64, _>(0) as u64,
                expires_at_ms: r.get(1),
            });
        }
        let mut c = self.conn(&self.writer).await.map_err(lease_err)?;
        let cur = self
            .q(
                "SELECT holder, expires_at_ms - streamhouse_now_ms() FROM leases \
                WHERE topic_id = $1 AND partition = $2",
            )
            .bind(key.topic_id)
            .bind(key.partition as i32)
            .fetch_optional(c.get())
            .await
            .map_err(lease_err)?;
        c.done().await.map_err(lease_err)?;
        match cur {
            Some(r) => Err(LeaseError::Held {
                key: key.to_string(),
                holder: r.get(0),
                remaining_ms: r.get::<i64, _>(1).max(0),
            }),
            // Released or deleted in between: the caller retries.
            None => Err(LeaseError::Unavailable(format!(
                "lease {key} changed while acquiring"
            ))),
        }
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease, LeaseError> {
        let mut c = self.conn(&self.writer).await.map_err(lease_err)?;
        let expires: Option<i64> = self
            .scalar(include_str!("../queries/renew_lease.sql"))
            .bind(lease.key.topic_id)
            .bind(lease.key.partition as i32)
            .bind(&lease.holder)
            .bind(lease.epoch as i64)
            .bind(ttl_millis(ttl))
            .fetch_optional(c.get())
            .await
            .map_err(lease_err)?;
        c.done().await.map_err(lease_err)?;
        match expires {
            Some(expires_at_ms) => Ok(Lease {
                expires_at_ms,
                ..lease.clone()
            }),
            None => Err(LeaseError::Lost(lease.key.to_string())),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<(), LeaseError> {
        // Expire rather than delete: the epoch must survive so the next holder's is higher.
        let mut c = self.conn(&self.writer).await.map_err(lease_err)?;
        self.q("UPDATE leases SET expires_at_ms = 0 \
             WHERE topic_id = $1 AND partition = $2 AND holder = $3 AND epoch = $4")
            .bind(lease.key.topic_id)
            .bind(lease.key.partition as i32)
            .bind(&lease.holder)
            .bind(lease.epoch as i64)
            .execute(c.get())
            .await
            .map_err(lease_err)?;
        c.done().await.map_err(lease_err)?;
        Ok(())
    }

    async fn get(&self, key: &LeaseKey) -> Result<Option<Lease>, LeaseError> {
        let mut c = self.conn(&self.writer).await.map_err(lease_err)?;
        let row = self
            .q("SELECT holder, epoch, expires_at_ms FROM leases \
                WHERE topic_id = $1 AND partition = $2")
            .bind(key.topic_id)
            .bind(key.partition as i32)
            .fetch_optional(c.get())
            .await
            .map_err(lease_err)?;
        c.done().await.map_err(lease_err)?;
        Ok(row.map(|r| Lease {
            key: key.clone(),
            holder: r.get(0),
            epoch: r.get::<i64, _>(1) as u64,
            expires_at_ms: r.get(2),
        }))
    }
}

#[async_trait]
impl ClusterStore for PostgresMetadataStore {
    async fn heartbeat(&self, agent: &AgentInfo, ttl: Duration) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await.map_err(meta)?;
        self.q(
            "INSERT INTO agents (holder, agent_id, group_name, zone, addr, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, streamhouse_now_ms() + $6) \
             ON CONFLICT (holder) DO UPDATE SET agent_id = EXCLUDED.agent_id, \
             group_name = EXCLUDED.group_name, zone = EXCLUDED.zone, addr = EXCLUDED.addr, \
             expires_at_ms = EXCLUDED.expires_at_ms",
        )
        .bind(&agent.holder)
        .bind(&agent.agent_id)
        .bind(&agent.group)
        .bind(&agent.zone)
        .bind(&agent.addr)
        .bind(ttl_millis(ttl))
        .execute(c.get())
        .await
        .map_err(meta)?;
        c.done().await.map_err(meta)
    }

    async fn live_agents(&self) -> MetadataResult<Vec<AgentInfo>> {
        // From the writer: a replica's lag would hide a new agent or resurrect a dead one.
        let mut c = self.conn(&self.writer).await.map_err(meta)?;
        let rows = self
            .q(
                "SELECT holder, agent_id, group_name, zone, addr FROM agents \
                WHERE expires_at_ms > streamhouse_now_ms() ORDER BY holder",
            )
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await.map_err(meta)?;
        Ok(rows
            .iter()
            .map(|r| AgentInfo {
                holder: r.get(0),
                agent_id: r.get(1),
                group: r.get(2),
                zone: r.get(3),
                addr: r.get(4),
            })
            .collect())
    }

    async fn leave(&self, holder: &str) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await.map_err(meta)?;
        self.q("DELETE FROM agents WHERE holder = $1")
            .bind(holder)
            .execute(c.get())
            .await
            .map_err(meta)?;
        c.done().await.map_err(meta)
    }

    async fn set_tenant_group(&self, tenant: &TenantId, group: &str) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await.map_err(meta)?;
        self.q(
            "INSERT INTO tenant_groups (tenant, group_name) VALUES ($1, $2) \
             ON CONFLICT (tenant) DO UPDATE SET group_name = EXCLUDED.group_name",
        )
        .bind(tenant.as_str())
        .bind(group)
        .execute(c.get())
        .await
        .map_err(meta)?;
        c.done().await.map_err(meta)
    }

    async fn tenant_group(&self, tenant: &TenantId) -> MetadataResult<String> {
        let mut c = self.conn(&self.writer).await.map_err(meta)?;
        let group: Option<String> = self
            .scalar("SELECT group_name FROM tenant_groups WHERE tenant = $1")
            .bind(tenant.as_str())
            .fetch_optional(c.get())
            .await
            .map_err(meta)?;
        c.done().await.map_err(meta)?;
        Ok(group.unwrap_or_else(|| DEFAULT_GROUP.to_owned()))
    }
}

impl PoolStats for PostgresMetadataStore {
    fn pool_usage(&self) -> PoolUsage {
        let idle = u32::try_from(self.writer.num_idle()).unwrap_or(u32::MAX);
        PoolUsage {
            in_use: self.writer.size().saturating_sub(idle),
            max: self.writer.options().get_max_connections(),
        }
    }
}
