//! [`LeaseManager`] on SQLite, on this process's clock: the database serves one process.

use std::time::Duration;

use async_trait::async_trait;
use streamhouse_core::clock::now_ms;
use streamhouse_core::lease::{LeaseResult, ttl_millis};
use streamhouse_core::metadata::stored_i64;
use streamhouse_core::{Lease, LeaseError, LeaseKey, LeaseManager};

use crate::error::lease as lease_err;
use crate::store::{Row, SqliteMetadataStore};

#[async_trait]
impl LeaseManager for SqliteMetadataStore {
    async fn acquire(&self, key: &LeaseKey, holder: &str, ttl: Duration) -> LeaseResult<Lease> {
        let mut tx = self.write_tx().await?;
        let now = now_ms();
        let cur = sqlx::query(include_str!("../queries/leases/get.sql"))
            .bind(key.topic_id)
            .bind(i64::from(key.partition))
            .fetch_optional(&mut *tx)
            .await
            .map_err(lease_err)?;
        let epoch = match cur {
            None => 1,
            Some(r) => {
                let cur = Lease::decode(key, &Row(&r))?;
                if cur.holder == holder {
                    cur.epoch
                } else if cur.expires_at_ms <= now {
                    cur.epoch + 1
                } else {
                    return Err(LeaseError::Held {
                        key: key.to_string(),
                        holder: cur.holder,
                        remaining_ms: cur.expires_at_ms - now,
                    });
                }
            }
        };
        let expires = now.saturating_add(ttl_millis(ttl));
        sqlx::query(include_str!("../queries/leases/upsert.sql"))
            .bind(key.topic_id)
            .bind(i64::from(key.partition))
            .bind(key.tenant.as_str())
            .bind(holder)
            .bind(stored_i64(epoch, "lease epoch")?)
            .bind(expires)
            .execute(&mut *tx)
            .await
            .map_err(lease_err)?;
        tx.commit().await.map_err(lease_err)?;
        Ok(Lease {
            key: key.clone(),
            holder: holder.to_owned(),
            epoch,
            expires_at_ms: expires,
        })
    }

    async fn renew_all(&self, holder: &str, ttl: Duration) -> LeaseResult<Vec<Lease>> {
        let rows = sqlx::query(include_str!("../queries/leases/renew_all.sql"))
            .bind(holder)
            .bind(now_ms())
            .bind(ttl_millis(ttl))
            .fetch_all(&self.pool)
            .await
            .map_err(lease_err)?;
        Ok(rows
            .iter()
            .map(|r| Lease::decode_keyed(&Row(r)))
            .collect::<Result<_, _>>()?)
    }

    async fn release_all(&self, holder: &str) -> LeaseResult<u64> {
        let done = sqlx::query(include_str!("../queries/leases/release_all.sql"))
            .bind(holder)
            .execute(&self.pool)
            .await
            .map_err(lease_err)?;
        Ok(done.rows_affected())
    }

    async fn release(&self, lease: &Lease) -> LeaseResult<()> {
        sqlx::query(include_str!("../queries/leases/release.sql"))
            .bind(lease.key.topic_id)
            .bind(i64::from(lease.key.partition))
            .bind(&lease.holder)
            .bind(lease.epoch as i64)
            .execute(&self.pool)
            .await
            .map_err(lease_err)?;
        Ok(())
    }

    async fn get(&self, key: &LeaseKey) -> LeaseResult<Option<Lease>> {
        let row = sqlx::query(include_str!("../queries/leases/get.sql"))
            .bind(key.topic_id)
            .bind(i64::from(key.partition))
            .fetch_optional(&self.pool)
            .await
            .map_err(lease_err)?;
        Ok(row.map(|r| Lease::decode(key, &Row(&r))).transpose()?)
    }
}
