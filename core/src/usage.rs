//! Usage metering for billing ([`UsageStore`]): per tenant and topic, per UTC hour and day,
//! the bytes and records produced (ingress) and read (egress), the requests made, and the
//! bytes stored over time (byte-hours).
//!
//! Ingress is counted in the commit transaction that makes the records durable
//! ([`crate::metadata::ObjectCommit::meter`]), so a crash neither loses nor double-counts it.
//! Egress and requests are summed in each agent's memory and added every few seconds
//! ([`UsageStore::add_usage`]). Storage is sampled once an hour for the whole cluster
//! ([`UsageStore::sample_storage`]). Every addition goes to the hour's row and the day's row
//! at once: day queries read 24 times fewer rows.

use async_trait::async_trait;

use crate::metadata::{MetadataResult, ObjectCommit, stored_i64};
use crate::stored::StoredRow;
use crate::types::{Record, TenantId, ValidationError};

/// An hour, in ms.
pub const HOUR_MS: i64 = 3_600_000;
/// A day, in ms.
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// The start of the UTC hour holding `ms`.
pub fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// The start of the UTC day holding `ms`.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

/// The bytes a record counts for in usage and quotas: its key, value, and header names and
/// values, as produced (before compression). `headers` are each header's name and value
/// lengths summed.
pub fn usage_bytes(
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: impl Iterator<Item = usize>,
) -> u64 {
    let len = |b: Option<&[u8]>| b.map_or(0, <[u8]>::len);
    (len(key) + len(value) + headers.sum::<usize>()) as u64
}

/// [`usage_bytes`] of a domain record.
pub fn record_usage_bytes(r: &Record) -> u64 {
    let headers = r.headers.iter().map(|h| h.key.len() + h.value.len());
    usage_bytes(r.key.as_deref(), r.value.as_deref(), headers)
}

/// A commit's ingress per topic: `(topic_id, bytes, records)`, each topic once, as the
/// backends add it to the usage rows.
pub fn ingress_by_topic(
    c: &ObjectCommit,
) -> MetadataResult<impl Iterator<Item = (i64, i64, i64)> + use<>> {
    let mut per_topic: std::collections::BTreeMap<i64, (u64, u64)> = Default::default();
    for b in &c.batches {
        let t = per_topic.entry(b.topic_id).or_default();
        t.0 += b.ingress_bytes;
        t.1 += u64::from(b.record_count);
    }
    let rows = per_topic
        .into_iter()
        .map(|(topic, (bytes, records))| {
            Ok((
                topic,
                stored_i64(bytes, "ingress bytes")?,
                stored_i64(records, "records")?,
            ))
        })
        .collect::<MetadataResult<Vec<_>>>()?;
    Ok(rows.into_iter())
}

/// The topic name of a tenant's total rows (no topic name holds `*`); `""` is requests naming
/// no topic.
pub const TOTAL: &str = "*";

/// `deltas` with each tenant's total per hour added, as the backends write them.
pub fn with_totals(deltas: &[UsageDelta]) -> Vec<UsageDelta> {
    let mut totals: std::collections::BTreeMap<(&TenantId, i64), UsageDelta> = Default::default();
    for d in deltas {
        let t = totals
            .entry((&d.tenant, d.hour_ms))
            .or_insert_with(|| UsageDelta {
                tenant: d.tenant.clone(),
                topic: TOTAL.to_owned(),
                hour_ms: d.hour_ms,
                egress_bytes: 0,
                egress_records: 0,
                requests: 0,
            });
        t.egress_bytes += d.egress_bytes;
        t.egress_records += d.egress_records;
        t.requests += d.requests;
    }
    deltas.iter().cloned().chain(totals.into_values()).collect()
}

/// How usage rows are bucketed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// One row per UTC hour.
    Hour,
    /// One row per UTC day.
    Day,
}

impl Granularity {
    /// The length of a bucket, in ms.
    pub fn period_ms(self) -> i64 {
        match self {
            Granularity::Hour => HOUR_MS,
            Granularity::Day => DAY_MS,
        }
    }
}

impl std::str::FromStr for Granularity {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hour" => Ok(Granularity::Hour),
            "day" => Ok(Granularity::Day),
            _ => Err(ValidationError(format!(
                "unknown granularity {s:?}: use hour or day"
            ))),
        }
    }
}

/// Egress and requests one agent counted for a tenant's topic in one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDelta {
    /// The tenant.
    pub tenant: TenantId,
    /// The topic's name; empty for requests that name none (listing topics).
    pub topic: String,
    /// The start of the UTC hour.
    pub hour_ms: i64,
    /// Bytes of records read (see [`record_usage_bytes`]).
    pub egress_bytes: u64,
    /// Records read.
    pub egress_records: u64,
    /// Requests made.
    pub requests: u64,
}

/// Usage of one bucket: of one topic, or of the whole tenant ([`TOTAL`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageRow {
    /// The topic's name, [`TOTAL`] for the tenant's total, or empty for requests naming no
    /// topic.
    pub topic: String,
    /// The bucket's start, ms since the epoch (UTC).
    pub period_ms: i64,
    /// Bytes of records produced.
    pub ingress_bytes: u64,
    /// Records produced.
    pub ingress_records: u64,
    /// Bytes of records read.
    pub egress_bytes: u64,
    /// Records read.
    pub egress_records: u64,
    /// Requests made.
    pub requests: u64,
    /// Bytes stored, summed over the hours sampled (byte-hours; 10^9 of them a GB-hour).
    pub storage_byte_hours: u64,
}

impl UsageRow {
    /// A row from the columns `topic, period_ms, ingress_bytes, ingress_records,
    /// egress_bytes, egress_records, requests, storage_byte_hours`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            topic: row.text("topic")?,
            period_ms: row.int("period_ms")?,
            ingress_bytes: row.num("ingress_bytes")?,
            ingress_records: row.num("ingress_records")?,
            egress_bytes: row.num("egress_bytes")?,
            egress_records: row.num("egress_records")?,
            requests: row.num("requests")?,
            storage_byte_hours: row.num("storage_byte_hours")?,
        })
    }
}

/// Metered usage, kept per hour and per day.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Adds egress and requests.
    async fn add_usage(&self, deltas: &[UsageDelta]) -> MetadataResult<()>;

    /// Samples every tenant's stored bytes per topic for the hour starting at `hour_ms`,
    /// unless some agent did already: `true` when this call did. Exactly once per hour for
    /// the whole cluster, however many agents try.
    async fn sample_storage(&self, hour_ms: i64) -> MetadataResult<bool>;

    /// A tenant's usage in buckets of `granularity` starting in `[from_ms, to_ms)`, by
    /// bucket; per topic (then by bucket and topic) or its totals ([`TOTAL`] rows).
    async fn usage(
        &self,
        tenant: &TenantId,
        granularity: Granularity,
        from_ms: i64,
        to_ms: i64,
        per_topic: bool,
    ) -> MetadataResult<Vec<UsageRow>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_utc_hours_and_days() {
        assert_eq!(hour_of(1_764_658_799_999), 1_764_655_200_000);
        assert_eq!(day_of(1_764_658_799_999), 1_764_633_600_000);
        assert_eq!(hour_of(-1), -HOUR_MS);
        assert_eq!("day".parse::<Granularity>().unwrap(), Granularity::Day);
        assert!("week".parse::<Granularity>().is_err());
    }
}
