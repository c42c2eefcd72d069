//! [`UsageStore`] on PostgreSQL: metered usage per hour and per day, each addition one
//! statement over `UNNEST`ed arrays.

use async_trait::async_trait;
use streamhouse_core::TenantId;
use streamhouse_core::clock::now_ms;
use streamhouse_core::metadata::{MetadataResult, stored_i64};
use streamhouse_core::usage::{Granularity, UsageDelta, UsageRow, UsageStore, day_of, with_totals};

use crate::error::meta;
use crate::store::{PostgresMetadataStore, Row};

#[async_trait]
impl UsageStore for PostgresMetadataStore {
    async fn add_usage(&self, deltas: &[UsageDelta]) -> MetadataResult<()> {
        if deltas.is_empty() {
            return Ok(());
        }
        let deltas = &with_totals(deltas);
        let num = |f: fn(&UsageDelta) -> u64, what: &str| {
            deltas
                .iter()
                .map(|d| stored_i64(f(d), what))
                .collect::<MetadataResult<Vec<i64>>>()
        };
        let tenants: Vec<&str> = deltas.iter().map(|d| d.tenant.as_str()).collect();
        let topics: Vec<&str> = deltas.iter().map(|d| d.topic.as_str()).collect();
        let egress = num(|d| d.egress_bytes, "egress bytes")?;
        let records = num(|d| d.egress_records, "egress records")?;
        let requests = num(|d| d.requests, "requests")?;
        let mut tx = self.write_tx().await?;
        for (sql, period) in [
            (
                include_str!("../queries/usage/add_hourly.sql"),
                (|d: &UsageDelta| d.hour_ms) as fn(&UsageDelta) -> i64,
            ),
            (include_str!("../queries/usage/add_daily.sql"), |d| {
                day_of(d.hour_ms)
            }),
        ] {
            self.q(sql)
                .bind(&tenants)
                .bind(&topics)
                .bind(deltas.iter().map(period).collect::<Vec<i64>>())
                .bind(&egress)
                .bind(&records)
                .bind(&requests)
                .execute(&mut *tx)
                .await
                .map_err(meta)?;
        }
        tx.commit().await.map_err(meta)
    }

    async fn sample_storage(&self, hour_ms: i64) -> MetadataResult<bool> {
        let mut tx = self.write_tx().await?;
        let claimed = self
            .q(include_str!("../queries/usage/claim_sample.sql"))
            .bind(hour_ms)
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(meta)?
            .rows_affected()
            == 1;
        if !claimed {
            return Ok(false);
        }
        for (sql, period) in [
            (include_str!("../queries/usage/storage_hourly.sql"), hour_ms),
            (
                include_str!("../queries/usage/storage_total_hourly.sql"),
                hour_ms,
            ),
            (
                include_str!("../queries/usage/storage_daily.sql"),
                day_of(hour_ms),
            ),
            (
                include_str!("../queries/usage/storage_total_daily.sql"),
                day_of(hour_ms),
            ),
        ] {
            self.q(sql)
                .bind(period)
                .execute(&mut *tx)
                .await
                .map_err(meta)?;
        }
        tx.commit().await.map_err(meta)?;
        Ok(true)
    }

    async fn usage(
        &self,
        tenant: &TenantId,
        granularity: Granularity,
        from_ms: i64,
        to_ms: i64,
        per_topic: bool,
    ) -> MetadataResult<Vec<UsageRow>> {
        let sql = match (granularity, per_topic) {
            (Granularity::Hour, true) => include_str!("../queries/usage/by_topic_hourly.sql"),
            (Granularity::Hour, false) => include_str!("../queries/usage/total_hourly.sql"),
            (Granularity::Day, true) => include_str!("../queries/usage/by_topic_daily.sql"),
            (Granularity::Day, false) => include_str!("../queries/usage/total_daily.sql"),
        };
        let mut c = self.conn(self.reader()).await?;
        let rows = self
            .q(sql)
            .bind(tenant.as_str())
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter().map(|r| UsageRow::decode(&Row(r))).collect()
    }
}
