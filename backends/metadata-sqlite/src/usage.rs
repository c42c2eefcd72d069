//! [`UsageStore`] on SQLite: metered usage per hour and per day.

use async_trait::async_trait;
use streamhouse_core::TenantId;
use streamhouse_core::clock::now_ms;
use streamhouse_core::metadata::{MetadataResult, stored_i64};
use streamhouse_core::usage::{Granularity, UsageDelta, UsageRow, UsageStore, day_of, with_totals};

use crate::error::meta;
use crate::store::{Row, SqliteMetadataStore};

#[async_trait]
impl UsageStore for SqliteMetadataStore {
    async fn add_usage(&self, deltas: &[UsageDelta]) -> MetadataResult<()> {
        if deltas.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        for d in &with_totals(deltas) {
            for (sql, period) in [
                (include_str!("../queries/usage/add_hourly.sql"), d.hour_ms),
                (
                    include_str!("../queries/usage/add_daily.sql"),
                    day_of(d.hour_ms),
                ),
            ] {
                sqlx::query(sql)
                    .bind(d.tenant.as_str())
                    .bind(&d.topic)
                    .bind(period)
                    .bind(stored_i64(d.egress_bytes, "egress bytes")?)
                    .bind(stored_i64(d.egress_records, "egress records")?)
                    .bind(stored_i64(d.requests, "requests")?)
                    .execute(&mut *tx)
                    .await
                    .map_err(meta)?;
            }
        }
        tx.commit().await.map_err(meta)
    }

    async fn sample_storage(&self, hour_ms: i64) -> MetadataResult<bool> {
        let mut tx = self.write_tx().await?;
        let claimed = sqlx::query(include_str!("../queries/usage/claim_sample.sql"))
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
            sqlx::query(sql)
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
        let rows = sqlx::query(sql)
            .bind(tenant.as_str())
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| UsageRow::decode(&Row(r))).collect()
    }
}
