//! [`LeaseManager`] on PostgreSQL, on the database's clock (`streamhouse_now_ms()`), so
//! agents' clocks never matter.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row as _;
use streamhouse_core::lease::{LeaseResult, ttl_millis};
use streamhouse_core::{Lease, LeaseError, LeaseKey, LeaseManager};

use crate::error::lease as lease_err;
use crate::store::{PostgresMetadataStore, Row};

#[async_trait]
impl LeaseManager for PostgresMetadataStore {
    async fn acquire(&self, key: &LeaseKey, holder: &str, ttl: Duration) -> LeaseResult<Lease> {
        let mut c = self.conn(&self.writer).await?;
        let row = self
            .q(include_str!("../queries/leases/acquire.sql"))
            .bind(key.topic_id)
            .bind(key.partition as i32)
            .bind(key.tenant.as_str())
            .bind(holder)
            .bind(ttl_millis(ttl))
            .fetch_optional(c.get())
            .await
            .map_err(lease_err)?;
        c.done().await?;
        if let Some(r) = row {
            return Ok(Lease::decode(key, &Row(&r))?);
        }
        let mut c = self.conn(&self.writer).await?;
        let cur = self
            .q(include_str!("../queries/leases/holder.sql"))
            .bind(key.topic_id)
            .bind(key.partition as i32)
            .fetch_optional(c.get())
            .await
            .map_err(lease_err)?;
        c.done().await?;
        match cur {
            Some(r) => Err(LeaseError::Held {
                key: key.to_string(),
                holder: r.get(0),
                remaining_ms: r.get::<i64, _>(1).max(0),
            }),
            // Released or deleted in between: the caller retries.
            None => Err(LeaseError::unavailable(format!(
                "lease {key} changed while acquiring"
            ))),
        }
    }

    async fn renew_all(&self, holder: &str, ttl: Duration) -> LeaseResult<Vec<Lease>> {
        let mut c = self.conn(&self.writer).await?;
        let rows = self
            .q(include_str!("../queries/leases/renew_all.sql"))
            .bind(holder)
            .bind(ttl_millis(ttl))
            .fetch_all(c.get())
            .await
            .map_err(lease_err)?;
        c.done().await?;
        Ok(rows
            .iter()
            .map(|r| Lease::decode_keyed(&Row(r)))
            .collect::<Result<_, _>>()?)
    }

    async fn release_all(&self, holder: &str) -> LeaseResult<u64> {
        let mut c = self.conn(&self.writer).await?;
        let done = self
            .q(include_str!("../queries/leases/release_all.sql"))
            .bind(holder)
            .execute(c.get())
            .await
            .map_err(lease_err)?;
        c.done().await?;
        Ok(done.rows_affected())
    }

    async fn release(&self, lease: &Lease) -> LeaseResult<()> {
        let mut c = self.conn(&self.writer).await?;
        self.q(include_str!("../queries/leases/release.sql"))
            .bind(lease.key.topic_id)
            .bind(lease.key.partition as i32)
            .bind(&lease.holder)
            .bind(lease.epoch as i64)
            .execute(c.get())
            .await
            .map_err(lease_err)?;
        Ok(c.done().await?)
    }

    async fn get(&self, key: &LeaseKey) -> LeaseResult<Option<Lease>> {
        let mut c = self.conn(&self.writer).await?;
        let row = self
            .q(include_str!("../queries/leases/get.sql"))
            .bind(key.topic_id)
            .bind(key.partition as i32)
            .fetch_optional(c.get())
            .await
            .map_err(lease_err)?;
        c.done().await?;
        Ok(row.map(|r| Lease::decode(key, &Row(&r))).transpose()?)
    }
}
