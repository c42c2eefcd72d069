//! Metered usage: ingress, egress, requests and storage per hour or day, per organization
//! and per topic.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use streamhouse_core::clock::{now_ms, rfc3339};
use streamhouse_core::usage::{Granularity, UsageRow, day_of, hour_of};
use utoipa::{IntoParams, ToSchema};

use super::orgs::org_id;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::Shared;

/// Which usage to return.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// `hour` or `day` (UTC buckets); default `hour`.
    pub granularity: Option<String>,
    /// First bucket (RFC 3339), rounded down to its bucket; default: 24 hours (or 30 days)
    /// before `to`.
    pub from: Option<String>,
    /// End, exclusive (RFC 3339); default now.
    pub to: Option<String>,
    /// One row per topic and bucket instead of the organization's total per bucket.
    pub per_topic: Option<bool>,
}

/// Usage in one bucket.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageBucket {
    /// The bucket's start (RFC 3339, UTC).
    pub start: String,
    /// The topic, for per-topic rows; absent for the organization's total (and for
    /// requests naming no topic, in per-topic rows, as an empty string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Bytes of records produced (keys, values and headers, before compression).
    pub ingress_bytes: u64,
    /// Records produced.
    pub ingress_records: u64,
    /// Bytes of records read.
    pub egress_bytes: u64,
    /// Records read.
    pub egress_records: u64,
    /// Requests made.
    pub requests: u64,
    /// Stored data over time, in GB-hours (10^9 byte-hours), sampled hourly.
    pub storage_gb_hours: f64,
}

/// Usage over a time range.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageReport {
    /// `hour` or `day`.
    pub granularity: String,
    /// The first bucket's start.
    pub from: String,
    /// The end, exclusive.
    pub to: String,
    /// The buckets, oldest first; totals list every bucket of the range, zeros included.
    pub buckets: Vec<UsageBucket>,
}

fn time(field: &str, raw: Option<&str>) -> ApiResult<Option<i64>> {
    let Some(raw) = raw else { return Ok(None) };
    let t = humantime::parse_rfc3339_weak(raw)
        .map_err(|e| ApiError::invalid(field, format!("{raw:?} is not an RFC 3339 time: {e}")))?;
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .map(Some)
        .ok_or_else(|| ApiError::invalid(field, "the time is before 1970 or out of range"))
}

fn bucket(r: &UsageRow, per_topic: bool) -> UsageBucket {
    UsageBucket {
        start: rfc3339(r.period_ms),
        topic: per_topic.then(|| r.topic.clone()),
        ingress_bytes: r.ingress_bytes,
        ingress_records: r.ingress_records,
        egress_bytes: r.egress_bytes,
        egress_records: r.egress_records,
        requests: r.requests,
        storage_gb_hours: r.storage_byte_hours as f64 / 1e9,
    }
}

/// The organization's usage per hour or day, in total or per topic.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/usage", tag = "organizations",
    params(("org" = String, Path, description = "Organization id"), UsageQuery),
    responses((status = 200, body = UsageReport), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn usage(
    State(state): State<Shared>,
    caller: Caller,
    Path(org): Path<String>,
    q: Result<Query<UsageQuery>, QueryRejection>,
) -> ApiResult<Json<UsageReport>> {
    let Query(q) = q?;
    let org = org_id(&org)?;
    caller.role_in(&state, &org).await?;
    let granularity: Granularity =
        q.granularity.as_deref().unwrap_or("hour").parse().map_err(
            |e: streamhouse_core::ValidationError| ApiError::invalid("granularity", e.0),
        )?;
    let (round, most, default_span): (fn(i64) -> i64, i64, i64) = match granularity {
        Granularity::Hour => (hour_of, 24 * 93, 24),
        Granularity::Day => (day_of, 400, 30),
    };
    let period = granularity.period_ms();
    let to = time("to", q.to.as_deref())?.unwrap_or_else(now_ms);
    let from = round(time("from", q.from.as_deref())?.unwrap_or(to - default_span * period));
    if from >= to {
        return Err(ApiError::invalid("from", "from must be before to"));
    }
    if (to - from) / period > most {
        return Err(ApiError::invalid(
            "from",
            format!("a report covers at most {most} buckets; narrow the range"),
        ));
    }
    let per_topic = q.per_topic.unwrap_or(false);
    let rows = state
        .store
        .usage(&org, granularity, from, to, per_topic)
        .await?;
    let buckets = if per_topic {
        rows.iter().map(|r| bucket(r, true)).collect()
    } else {
        // Every bucket of the range, so charts need not fill gaps.
        let mut rows = rows.into_iter().peekable();
        let mut out = Vec::new();
        let mut start = from;
        while start < to {
            let r = match rows.peek() {
                Some(r) if r.period_ms == start => rows.next().unwrap_or_default(),
                _ => UsageRow {
                    period_ms: start,
                    ..UsageRow::default()
                },
            };
            out.push(bucket(&r, false));
            start += period;
        }
        out
    };
    Ok(Json(UsageReport {
        granularity: q.granularity.unwrap_or_else(|| "hour".into()),
        from: rfc3339(from),
        to: rfc3339(to),
        buckets,
    }))
}
