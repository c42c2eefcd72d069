//! Topics, the latest messages of a partition, and consumer groups with their lag.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use streamhouse_core::accounts::Role;
use streamhouse_core::clock::rfc3339;
use streamhouse_core::{
    Codec, MetadataError, TenantId, TopicInfo, TopicName, TopicSettings, TopicSpec,
};
use utoipa::{IntoParams, ToSchema};

use super::orgs::org_id;
use crate::auth::{Caller, Source};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::{Body, Shared};

/// A topic.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopicView {
    /// Its name.
    pub name: String,
    /// Its number of partitions.
    pub partitions: u32,
    /// How long records are kept, in ms; absent for ever.
    pub retention_ms: Option<i64>,
    /// none, lz4 or zstd.
    pub compression: String,
    /// Bytes kept per partition; absent whatever their size.
    pub retention_bytes: Option<i64>,
    /// delete, compact or compact,delete (set with `streamhouse topic alter`).
    pub cleanup_policy: String,
    /// Bytes of its records in the object store, as indexed.
    pub stored_bytes: u64,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

fn topic_view(t: &TopicInfo, stored_bytes: u64) -> TopicView {
    TopicView {
        name: t.spec.name.to_string(),
        partitions: t.spec.partitions,
        retention_ms: t.spec.retention_ms,
        compression: t.spec.compression.name().to_owned(),
        retention_bytes: t.spec.retention_bytes,
        cleanup_policy: t.spec.cleanup_policy.name().to_owned(),
        stored_bytes,
        created_at: rfc3339(t.created_at_ms),
    }
}

/// A partition's offsets.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartitionView {
    /// The partition number.
    pub partition: u32,
    /// The first offset still readable.
    pub log_start_offset: u64,
    /// The offset the next record gets.
    pub high_watermark: u64,
}

/// A topic with its partitions.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopicDetail {
    /// The topic.
    #[serde(flatten)]
    pub topic: TopicView,
    /// Its partitions' offsets.
    pub partition_offsets: Vec<PartitionView>,
}

/// A topic to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTopic {
    /// 1 to 249 characters of [a-zA-Z0-9._-].
    pub name: String,
    /// Number of partitions (default 1).
    pub partitions: Option<u32>,
    /// How long records are kept, in ms (default: for ever).
    pub retention_ms: Option<i64>,
    /// none, lz4 or zstd (default lz4).
    pub compression: Option<String>,
}

/// A topic's new retention.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicChange {
    /// How long records are kept, in ms; null keeps them for ever.
    pub retention_ms: Option<i64>,
}

fn topic_name(raw: &str) -> ApiResult<TopicName> {
    TopicName::new(raw).map_err(|e| ApiError::invalid("name", e.0))
}

/// The topic named in a path; a name that cannot exist is answered as a missing topic.
fn path_topic(raw: &str) -> ApiResult<TopicName> {
    TopicName::new(raw).map_err(|_| ApiError::not_found(format!("topic {raw:?} not found")))
}

fn retention(ms: Option<i64>) -> ApiResult<Option<i64>> {
    match ms {
        Some(ms) if ms < 1000 => Err(ApiError::invalid(
            "retention_ms",
            "retention is at least 1000 ms; leave it out to keep records for ever",
        )),
        ms => Ok(ms),
    }
}

async fn topic(state: &Shared, org: &TenantId, name: &TopicName) -> ApiResult<TopicInfo> {
    match state.store.get_topic(org, name).await {
        Err(MetadataError::NotFound(_)) => {
            Err(ApiError::not_found(format!("topic {name} not found")))
        }
        t => Ok(t?),
    }
}

/// The organization's topics, by name, with their stored bytes.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/topics", tag = "topics",
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = [TopicView]), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<Shared>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<Vec<TopicView>>> {
    let org = org_id(&org)?;
    caller.role_in(&state, &org).await?;
    let topics = state.store.list_topics(Some(&org)).await?;
    let bytes: HashMap<i64, u64> = state.store.topic_bytes(&org).await?.into_iter().collect();
    Ok(Json(
        topics
            .iter()
            .map(|t| topic_view(t, bytes.get(&t.id).copied().unwrap_or(0)))
            .collect(),
    ))
}

/// Creates a topic (members).
#[utoipa::path(post, path = "/api/v1/orgs/{org}/topics", tag = "topics",
    params(("org" = String, Path, description = "Organization id")), request_body = NewTopic,
    responses((status = 201, body = TopicView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<Shared>,
    caller: Caller,
    Source(from): Source,
    Path(org): Path<String>,
    Body(req): Body<NewTopic>,
) -> ApiResult<(StatusCode, Json<TopicView>)> {
    let org = org_id(&org)?;
    caller.require(&state, &org, Role::Member).await?;
    let name = topic_name(&req.name)?;
    let partitions = req.partitions.unwrap_or(1);
    let max = state.config.control_plane.max_partitions_per_topic;
    if partitions == 0 || partitions > max {
        return Err(ApiError::invalid(
            "partitions",
            format!("a topic has 1 to {max} partitions"),
        ));
    }
    let compression = req
        .compression
        .as_deref()
        .unwrap_or("lz4")
        .parse::<Codec>()
        .map_err(|e| ApiError::invalid("compression", e.0))?;
    let spec = TopicSpec {
        retention_ms: retention(req.retention_ms)?,
        compression,
        ..TopicSpec::new(org.clone(), name.clone(), partitions)
    };
    let t = state.store.create_topic(&spec).await?;
    state
        .audit_change(&caller, &org, "topic.create", name.as_str(), &from)
        .await?;
    Ok((StatusCode::CREATED, Json(topic_view(&t, 0))))
}

/// A topic with its partitions' offsets.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/topics/{topic}", tag = "topics",
    params(("org" = String, Path, description = "Organization id"),
           ("topic" = String, Path, description = "Topic name")),
    responses((status = 200, body = TopicDetail), (status = 404, body = ErrorBody)))]
pub async fn describe(
    State(state): State<Shared>,
    caller: Caller,
    Path((org, name)): Path<(String, String)>,
) -> ApiResult<Json<TopicDetail>> {
    let org = org_id(&org)?;
    caller.role_in(&state, &org).await?;
    let t = topic(&state, &org, &path_topic(&name)?).await?;
    let bytes = state
        .store
        .topic_bytes(&org)
        .await?
        .into_iter()
        .find(|(id, _)| *id == t.id)
        .map_or(0, |(_, b)| b);
    let offsets = state.store.partition_offsets(t.id).await?;
    Ok(Json(TopicDetail {
        topic: topic_view(&t, bytes),
        partition_offsets: offsets
            .into_iter()
            .map(|p| PartitionView {
                partition: p.partition,
                log_start_offset: p.log_start_offset,
                high_watermark: p.high_watermark,
            })
            .collect(),
    }))
}

/// Changes a topic's retention (members).
#[utoipa::path(patch, path = "/api/v1/orgs/{org}/topics/{topic}", tag = "topics",
    params(("org" = String, Path, description = "Organization id"),
           ("topic" = String, Path, description = "Topic name")), request_body = TopicChange,
    responses((status = 200, body = TopicView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<Shared>,
    caller: Caller,
    Source(from): Source,
    Path((org, name)): Path<(String, String)>,
    Body(req): Body<TopicChange>,
) -> ApiResult<Json<TopicView>> {
    let org = org_id(&org)?;
    caller.require(&state, &org, Role::Member).await?;
    let name = path_topic(&name)?;
    let ms = retention(req.retention_ms)?;
    let current = topic(&state, &org, &name).await?;
    let settings = TopicSettings {
        retention_ms: ms,
        ..current.spec.settings()
    };
    let t = match state.store.alter_topic(&org, &name, &settings).await {
        Err(MetadataError::NotFound(_)) => {
            return Err(ApiError::not_found(format!("topic {name} not found")));
        }
        t => t?,
    };
    let detail = ms.map_or_else(
        || "retention=forever".to_owned(),
        |ms| format!("retention_ms={ms}"),
    );
    state
        .audit(
            &caller.actor(),
            Some(&org),
            "topic.retention",
            name.as_str(),
            &from,
            detail,
        )
        .await?;
    Ok(Json(topic_view(&t, 0)))
}

/// Deletes a topic (members); its objects are collected later.
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/topics/{topic}", tag = "topics",
    params(("org" = String, Path, description = "Organization id"),
           ("topic" = String, Path, description = "Topic name")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<Shared>,
    caller: Caller,
    Source(from): Source,
    Path((org, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let org = org_id(&org)?;
    caller.require(&state, &org, Role::Member).await?;
    let name = path_topic(&name)?;
    match state.store.delete_topic(&org, &name).await {
        Err(MetadataError::NotFound(_)) => {
            return Err(ApiError::not_found(format!("topic {name} not found")));
        }
        r => r?,
    };
    state
        .audit_change(&caller, &org, "topic.delete", name.as_str(), &from)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which messages to show.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessagesQuery {
    /// How many of the latest messages, 1 to 100 (default 20).
    pub limit: Option<u32>,
}

/// A message, with its key and value as UTF-8 text where they are (else base64).
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    /// Its offset.
    pub offset: u64,
    /// Its timestamp (RFC 3339).
    pub timestamp: String,
    /// Its key, absent when it has none.
    pub key: Option<String>,
    /// Its value, absent for a tombstone.
    pub value: Option<String>,
    /// `utf8` or `base64`: how `key` and `value` are written.
    pub encoding: &'static str,
    /// Its headers (values written as `encoding` says).
    pub headers: BTreeMap<String, String>,
}

/// The latest messages of a partition, newest last (members), read through an agent.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/topics/{topic}/partitions/{partition}/messages",
    tag = "topics",
    params(("org" = String, Path, description = "Organization id"),
           ("topic" = String, Path, description = "Topic name"),
           ("partition" = u32, Path, description = "Partition number"), MessagesQuery),
    responses((status = 200, body = [MessageView]), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn messages(
    State(state): State<Shared>,
    caller: Caller,
    Path((org, name, partition)): Path<(String, String, String)>,
    q: Result<Query<MessagesQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<MessageView>>> {
    let Query(q) = q?;
    let org = org_id(&org)?;
    let partition: u32 = partition
        .parse()
        .map_err(|_| ApiError::not_found(format!("partition {partition:?} not found")))?;
    caller.require(&state, &org, Role::Member).await?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit is 1 to 100"));
    }
    let t = topic(&state, &org, &path_topic(&name)?).await?;
    if partition >= t.spec.partitions {
        return Err(ApiError::not_found(format!(
            "topic {name} has partitions 0 to {}",
            t.spec.partitions - 1
        )));
    }
    let p = state.store.partition_offset(t.id, partition).await?;
    let from = p
        .high_watermark
        .saturating_sub(u64::from(limit))
        .max(p.log_start_offset);
    if from >= p.high_watermark {
        return Ok(Json(Vec::new()));
    }
    let group = state.store.tenant_group(&org).await?;
    let addrs: Vec<String> = state
        .store
        .live_agents()
        .await?
        .into_iter()
        .filter(|a| a.group == group)
        .map(|a| a.addr)
        .collect();
    let mut out = Vec::new();
    let mut offset = from;
    // A fetch returns at most about 1 MiB; a few cover the latest 100 messages of any size.
    while offset < p.high_watermark && out.len() < limit as usize {
        let records = state
            .agents
            .fetch(&addrs, &org, name.as_str(), partition, offset, 1 << 20)
            .await?;
        let Some(last) = records.last() else { break };
        offset = last.offset + 1;
        out.extend(records.into_iter().map(message_view));
    }
    out.truncate(limit as usize);
    Ok(Json(out))
}

fn message_view(r: streamhouse_proto::v1::ConsumedRecord) -> MessageView {
    let text = r
        .key
        .iter()
        .chain(r.value.iter())
        .all(|b| std::str::from_utf8(b).is_ok())
        && r.headers
            .iter()
            .all(|h| std::str::from_utf8(&h.value).is_ok());
    let show = |b: &[u8]| match text {
        true => String::from_utf8_lossy(b).into_owned(),
        false => base64(b),
    };
    MessageView {
        offset: r.offset,
        timestamp: rfc3339(r.timestamp_ms),
        key: r.key.as_deref().map(show),
        value: r.value.as_deref().map(show),
        encoding: if text { "utf8" } else { "base64" },
        headers: r
            .headers
            .iter()
            .map(|h| (h.key.clone(), show(&h.value)))
            .collect(),
    }
}

/// Standard base64 with padding.
fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A consumer group's position on one partition.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupPartitionView {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: u32,
    /// The next offset the group reads.
    pub committed: u64,
    /// The partition's high watermark.
    pub high_watermark: u64,
    /// Records the group has yet to read.
    pub lag: u64,
    /// When the group last committed here (RFC 3339).
    pub updated_at: String,
}

/// A consumer group with its lag.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    /// The group's id.
    pub group: String,
    /// Records it has yet to read, over every partition it committed on.
    pub lag: u64,
    /// Its position on each partition.
    pub partitions: Vec<GroupPartitionView>,
}

/// The organization's consumer groups with their lag.
#[utoipa::path(get, path = "/api/v1/orgs/{org}/groups", tag = "topics",
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = [GroupView]), (status = 404, body = ErrorBody)))]
pub async fn groups(
    State(state): State<Shared>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<Vec<GroupView>>> {
    let org = org_id(&org)?;
    caller.role_in(&state, &org).await?;
    let offsets = state.store.group_offsets(&org).await?;
    let topics: HashMap<i64, TopicInfo> = state
        .store
        .list_topics(Some(&org))
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let mut watermarks: HashMap<(i64, u32), u64> = HashMap::new();
    let mut out: Vec<GroupView> = Vec::new();
    for g in offsets {
        // Offsets of a deleted topic's incarnation are gone with it; skip stragglers.
        let Some(t) = topics.get(&g.topic_id) else {
            continue;
        };
        if !watermarks.keys().any(|(id, _)| *id == t.id) {
            for p in state.store.partition_offsets(t.id).await? {
                watermarks.insert((t.id, p.partition), p.high_watermark);
            }
        }
        let hw = watermarks.get(&(t.id, g.partition)).copied().unwrap_or(0);
        let view = GroupPartitionView {
            topic: t.spec.name.to_string(),
            partition: g.partition,
            committed: g.committed,
            high_watermark: hw,
            lag: hw.saturating_sub(g.committed),
            updated_at: rfc3339(g.updated_at_ms),
        };
        match out.last_mut() {
            Some(last) if last.group == g.group => {
                last.lag += view.lag;
                last.partitions.push(view);
            }
            _ => out.push(GroupView {
                group: g.group,
                lag: view.lag,
                partitions: vec![view],
            }),
        }
    }
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xff, 0xfe, 0x00, 0x01]), "//4AAQ==");
    }
}
