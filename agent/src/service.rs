//! The `streamhouse.v1.StreamHouse` gRPC service.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use futures::Stream;
use streamhouse_core::cluster::AgentInfo;
use streamhouse_core::partitioner::partition_for_key;
use streamhouse_core::{
    Codec, Header, MetadataStore, Record, TenantId, TopicInfo, TopicName, TopicSpec,
};
use streamhouse_proto::TENANT_HEADER;
use streamhouse_proto::v1 as pb;
use streamhouse_proto::v1::stream_house_server::StreamHouse;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::cluster::Cluster;
use crate::error::{AgentError, AgentResult};
use crate::partitions::Partitions;
use crate::reader::{Reader, check_partition};
use crate::topics::TopicCache;
use crate::writer::{Writer, now_ms};

/// Default and largest `max_bytes` of a fetch.
const DEFAULT_FETCH_BYTES: usize = 1 << 20;
/// Marks a produce one agent forwarded to another, naming the sender; it is never forwarded
/// again.
const FORWARDED_HEADER: &str = "x-streamhouse-forwarded-by";
/// Longest `max_wait_ms` a fetch may ask for.
const MAX_FETCH_WAIT: Duration = Duration::from_secs(30);

/// Limits checked on every request.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest record, key + value + headers.
    pub max_record_bytes: usize,
    /// Most partitions per topic.
    pub max_partitions_per_topic: u32,
    /// Largest gRPC message; fetches stay below it.
    pub max_message_bytes: usize,
}

/// The service state.
#[derive(Debug, Clone)]
pub struct Service {
    store: Arc<dyn MetadataStore>,
    topics: Arc<TopicCache>,
    partitions: Arc<Partitions>,
    cluster: Arc<Cluster>,
    writer: Arc<Writer>,
    reader: Arc<Reader>,
    limits: Limits,
    sticky: Arc<AtomicU32>,
    shutdown: watch::Receiver<bool>,
}

impl Service {
    /// A service over the agent's parts.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        partitions: Arc<Partitions>,
        cluster: Arc<Cluster>,
        writer: Arc<Writer>,
        reader: Arc<Reader>,
        limits: Limits,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            topics: Arc::new(TopicCache::new(store.clone())),
            store,
            partitions,
            cluster,
            writer,
            reader,
            limits,
            sticky: Arc::new(AtomicU32::new(0)),
            shutdown,
        }
    }

    /// The tenant a request acts for, if this agent's group serves it.
    async fn tenant<T>(&self, req: &Request<T>) -> Result<TenantId, Status> {
        let tenant = tenant_of(req)?;
        self.cluster.check_tenant(&tenant).await?;
        Ok(tenant)
    }

    async fn topic(&self, tenant: &TenantId, name: &str) -> AgentResult<Arc<TopicInfo>> {
        self.topics.get(tenant, &topic_name(name)?).await
    }

    async fn produce(
        &self,
        tenant: TenantId,
        req: pb::ProduceRequest,
        forwarded: bool,
    ) -> AgentResult<pb::ProduceResponse> {
        let topic = self.topic(&tenant, &req.topic).await?;
        if req.records.is_empty() {
            return Err(AgentError::InvalidArgument(
                "a produce request needs at least one record".into(),
            ));
        }
        let n = topic.spec.partitions;
        // Records without key or partition all go to one partition per request (sticky), so
        // they form one batch.
        let sticky = self.sticky.fetch_add(1, Ordering::Relaxed) % n;
        let now = now_ms();
        let mut by_partition: BTreeMap<u32, (Vec<usize>, Vec<Record>)> = BTreeMap::new();
        for (i, r) in req.records.into_iter().enumerate() {
            let partition = match (r.partition, &r.key) {
                (Some(p), _) => {
                    check_partition(&topic, p)?;
                    p
                }
                (None, Some(k)) => partition_for_key(k, n),
                (None, None) => sticky,
            };
            let record = Record {
                key: r.key,
                value: r.value,
                headers: r
                    .headers
                    .into_iter()
                    .map(|h| Header {
                        key: h.key,
                        value: h.value,
                    })
                    .collect(),
                timestamp_ms: if r.timestamp_ms == 0 {
                    now
                } else {
                    r.timestamp_ms
                },
            };
            let size = record.encoded_len();
            if size > self.limits.max_record_bytes {
                return Err(AgentError::InvalidArgument(format!(
                    "record {i} is {size} bytes; the limit is {} bytes (agent.max_record_bytes)",
                    self.limits.max_record_bytes
                )));
            }
            let e = by_partition.entry(partition).or_default();
            e.0.push(i);
            e.1.push(record);
        }
        let total: usize = by_partition.values().map(|(i, _)| i.len()).sum();
        let tenant = &tenant;
        let topic = &topic;
        let appends = by_partition.into_iter().map(|(partition, (idx, records))| {
            let elsewhere = self.cluster.leader_elsewhere(topic, partition);
            async move {
                let base = match elsewhere {
                    None => {
                        let p = self.partitions.get_or_insert(topic, partition);
                        self.writer.append(p, &records).await?
                    }
                    // One hop only: views of the membership disagree for a moment.
                    Some(owner) if forwarded => {
                        return Err(AgentError::Unavailable(format!(
                            "partition {partition} of topic {:?} moved to agent {} while this \
                             request was forwarded; retry",
                            topic.spec.name.as_str(),
                            owner.agent_id
                        )));
                    }
                    Some(owner) => {
                        self.forward(&owner, tenant, topic, partition, records)
                            .await?
                    }
                };
                Ok::<_, AgentError>((partition, idx, base))
            }
        });
        let mut acks = vec![pb::RecordAck::default(); total];
        for r in futures::future::join_all(appends).await {
            let (partition, idx, base) = r?;
            for (k, i) in idx.into_iter().enumerate() {
                acks[i] = pb::RecordAck {
                    partition,
                    offset: base + k as u64,
                };
            }
        }
        Ok(pb::ProduceResponse { acks })
    }

    /// Sends one partition's records to the agent that leads it; resolves to the first
    /// record's offset, as a local append does.
    async fn forward(
        &self,
        owner: &AgentInfo,
        tenant: &TenantId,
        topic: &TopicInfo,
        partition: u32,
        records: Vec<Record>,
    ) -> AgentResult<u64> {
        let n = records.len();
        let mut req = Request::new(pb::ProduceRequest {
            topic: topic.spec.name.to_string(),
            records: records
                .into_iter()
                .map(|r| pb::ProduceRecord {
                    key: r.key,
                    value: r.value,
                    headers: headers_pb(r.headers),
                    partition: Some(partition),
                    timestamp_ms: r.timestamp_ms,
                })
                .collect(),
        });
        let md = req.metadata_mut();
        md.insert(
            TENANT_HEADER,
            tenant.as_str().parse().map_err(|_| {
                AgentError::Internal(format!("tenant {tenant:?} is not a header value"))
            })?,
        );
        crate::logging::inject_trace_context(md);
        md.insert(
            FORWARDED_HEADER,
            self.cluster
                .me
                .agent_id
                .parse()
                .map_err(|_| AgentError::Internal("agent id is not a header value".into()))?,
        );
        let acks = match self.cluster.client(&owner.addr)?.produce(req).await {
            Ok(r) => r.into_inner().acks,
            // Unreachable, frozen past the timeout, or gone mid-call: the next try may find
            // the partition led elsewhere.
            Err(s)
                if matches!(
                    s.code(),
                    tonic::Code::Unavailable
                        | tonic::Code::Unknown
                        | tonic::Code::Cancelled
                        | tonic::Code::DeadlineExceeded
                ) =>
            {
                return Err(AgentError::Unavailable(format!(
                    "partition {partition} of topic {:?} is led by agent {} at {}: {}; retry",
                    topic.spec.name.as_str(),
                    owner.agent_id,
                    owner.addr,
                    s.message()
                )));
            }
            Err(s) => {
                let msg = format!("{} (agent {})", s.message(), owner.agent_id);
                return Err(AgentError::Forwarded(Status::new(s.code(), msg)));
            }
        };
        match acks.first() {
            Some(a) if acks.len() == n && a.partition == partition => Ok(a.offset),
            _ => Err(AgentError::Internal(format!(
                "agent {} acknowledged {} of {n} forwarded records",
                owner.agent_id,
                acks.len()
            ))),
        }
    }

    fn fetch_bytes(&self, requested: u32) -> usize {
        let cap = self.limits.max_message_bytes / 2;
        match requested as usize {
            0 => DEFAULT_FETCH_BYTES.min(cap),
            n => n.min(cap),
        }
    }
}

fn topic_name(name: &str) -> AgentResult<TopicName> {
    TopicName::new(name).map_err(|e| AgentError::InvalidArgument(e.0))
}

fn tenant_of<T>(req: &Request<T>) -> Result<TenantId, Status> {
    match req.metadata().get(TENANT_HEADER) {
        None => Ok(TenantId::default_tenant()),
        Some(v) => {
            let s = v.to_str().map_err(|_| {
                Status::invalid_argument(format!("the {TENANT_HEADER} header is not text"))
            })?;
            TenantId::new(s).map_err(|e| Status::invalid_argument(e.0))
        }
    }
}

fn topic_pb(t: &TopicInfo) -> pb::Topic {
    pb::Topic {
        name: t.spec.name.to_string(),
        partitions: t.spec.partitions,
        retention_ms: t.spec.retention_ms,
        compression: t.spec.compression.name().to_owned(),
        created_at_ms: t.created_at_ms,
    }
}

/// The status code a handler answered with.
fn code_of<T>(r: &Result<T, Status>) -> tonic::Code {
    r.as_ref().map_or_else(Status::code, |_| tonic::Code::Ok)
}

fn records_pb(records: Vec<(u64, Record)>) -> Vec<pb::ConsumedRecord> {
    records
        .into_iter()
        .map(|(offset, r)| pb::ConsumedRecord {
            offset,
            key: r.key,
            value: r.value,
            headers: headers_pb(r.headers),
            timestamp_ms: r.timestamp_ms,
        })
        .collect()
}

fn headers_pb(headers: Vec<Header>) -> Vec<pb::RecordHeader> {
    headers
        .into_iter()
        .map(|h| pb::RecordHeader {
            key: h.key,
            value: h.value,
        })
        .collect()
}

type SubscribeStream = Pin<Box<dyn Stream<Item = Result<pb::FetchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl StreamHouse for Service {
    async fn create_topic(
        &self,
        req: Request<pb::CreateTopicRequest>,
    ) -> Result<Response<pb::CreateTopicResponse>, Status> {
        let tenant = self.tenant(&req).await?;
        let r = req.into_inner();
        let name = topic_name(&r.name)?;
        let max = self.limits.max_partitions_per_topic;
        if r.partitions == 0 || r.partitions > max {
            return Err(AgentError::InvalidArgument(format!(
                "a topic needs 1 to {max} partitions (agent.max_partitions_per_topic); {} requested",
                r.partitions
            ))
            .into());
        }
        if r.retention_ms.is_some_and(|ms| ms <= 0) {
            return Err(Status::invalid_argument(
                "retention_ms must be positive, or absent to keep records forever",
            ));
        }
        let compression: Codec = r
            .compression
            .parse()
            .map_err(|e: streamhouse_core::ValidationError| Status::invalid_argument(e.0))?;
        let topic = self
            .store
            .create_topic(&TopicSpec {
                tenant,
                name,
                partitions: r.partitions,
                retention_ms: r.retention_ms,
                compression,
            })
            .await
            .map_err(AgentError::from)?;
        let topic = Arc::new(topic);
        self.topics.insert(topic.clone());
        Ok(Response::new(pb::CreateTopicResponse {
            topic: Some(topic_pb(&topic)),
        }))
    }

    async fn delete_topic(
        &self,
        req: Request<pb::DeleteTopicRequest>,
    ) -> Result<Response<pb::DeleteTopicResponse>, Status> {
        let tenant = self.tenant(&req).await?;
        let name = topic_name(&req.into_inner().name)?;
        self.store
            .delete_topic(&tenant, &name)
            .await
            .map_err(AgentError::from)?;
        self.topics.remove(&tenant, &name);
        Ok(Response::new(pb::DeleteTopicResponse {}))
    }

    async fn list_topics(
        &self,
        req: Request<pb::ListTopicsRequest>,
    ) -> Result<Response<pb::ListTopicsResponse>, Status> {
        let tenant = self.tenant(&req).await?;
        let topics = self
            .store
            .list_topics(Some(&tenant))
            .await
            .map_err(AgentError::from)?;
        Ok(Response::new(pb::ListTopicsResponse {
            topics: topics.iter().map(topic_pb).collect(),
        }))
    }

    async fn describe_cluster(
        &self,
        req: Request<pb::DescribeClusterRequest>,
    ) -> Result<Response<pb::DescribeClusterResponse>, Status> {
        // No group check: an agent of the wrong group is how a client finds the right one.
        let tenant = tenant_of(&req)?;
        let group = self
            .store
            .tenant_group(&tenant)
            .await
            .map_err(AgentError::from)?;
        let agents = self
            .store
            .live_agents()
            .await
            .map_err(AgentError::from)?
            .into_iter()
            .filter(|a| a.group == group)
            .map(|a| pb::AgentStatus {
                agent_id: a.agent_id,
                address: a.addr,
                group: a.group,
                zone: a.zone,
            })
            .collect();
        Ok(Response::new(pb::DescribeClusterResponse { group, agents }))
    }

    async fn describe_topic(
        &self,
        req: Request<pb::DescribeTopicRequest>,
    ) -> Result<Response<pb::DescribeTopicResponse>, Status> {
        let tenant = self.tenant(&req).await?;
        let name = topic_name(&req.into_inner().name)?;
        let topic = self
            .store
            .get_topic(&tenant, &name)
            .await
            .map_err(AgentError::from)?;
        let parts = self
            .store
            .partition_offsets(topic.id)
            .await
            .map_err(AgentError::from)?;
        Ok(Response::new(pb::DescribeTopicResponse {
            topic: Some(topic_pb(&topic)),
            partitions: parts
                .iter()
                .map(|p| pb::PartitionStatus {
                    partition: p.partition,
                    log_start_offset: p.log_start_offset,
                    high_watermark: p.high_watermark,
                })
                .collect(),
        }))
    }

    async fn produce(
        &self,
        req: Request<pb::ProduceRequest>,
    ) -> Result<Response<pb::ProduceResponse>, Status> {
        let started = Instant::now();
        let span = tracing::info_span!(
            "produce",
            topic = %req.get_ref().topic,
            records = req.get_ref().records.len()
        );
        crate::logging::adopt_trace_context(&span, req.metadata());
        let result = async {
            let tenant = self.tenant(&req).await?;
            let forwarded = req.metadata().contains_key(FORWARDED_HEADER);
            Ok(Response::new(
                self.produce(tenant, req.into_inner(), forwarded).await?,
            ))
        }
        .instrument(span)
        .await;
        let metrics = &self.partitions.metrics;
        metrics.request("produce", code_of(&result));
        if result.is_ok() {
            metrics
                .write_latency
                .observe(started.elapsed().as_secs_f64());
        }
        result
    }

    async fn fetch(
        &self,
        req: Request<pb::FetchRequest>,
    ) -> Result<Response<pb::FetchResponse>, Status> {
        let span = tracing::info_span!(
            "fetch",
            topic = %req.get_ref().topic,
            partition = req.get_ref().partition
        );
        let result = async {
            let tenant = self.tenant(&req).await?;
            let r = req.into_inner();
            let topic = self.topic(&tenant, &r.topic).await?;
            let wait = Duration::from_millis(u64::from(r.max_wait_ms)).min(MAX_FETCH_WAIT);
            let f = self
                .reader
                .fetch(
                    &topic,
                    r.partition,
                    r.offset,
                    self.fetch_bytes(r.max_bytes),
                    wait,
                )
                .await?;
            Ok(Response::new(pb::FetchResponse {
                partition: r.partition,
                records: records_pb(f.records),
                high_watermark: f.high_watermark,
                next_offset: f.next_offset,
            }))
        }
        .instrument(span)
        .await;
        self.partitions.metrics.request("fetch", code_of(&result));
        result
    }

    type SubscribeStream = SubscribeStream;

    async fn subscribe(
        &self,
        req: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let tenant = self.tenant(&req).await?;
        let r = req.into_inner();
        let topic = self.topic(&tenant, &r.topic).await?;
        check_partition(&topic, r.partition)?;
        let max_bytes = self.fetch_bytes(r.max_bytes);
        // Answer errors such as an offset out of range before the stream starts.
        let first = self
            .reader
            .fetch(&topic, r.partition, r.offset, max_bytes, Duration::ZERO)
            .await?;
        let (tx, rx) = mpsc::channel(4);
        let reader = self.reader.clone();
        let mut shutdown = self.shutdown.clone();
        let partition = r.partition;
        tokio::spawn(async move {
            let mut next = Some(first);
            let mut offset = r.offset;
            loop {
                let fetched = match next.take() {
                    Some(f) => Ok(f),
                    None => tokio::select! {
                        f = reader.fetch(&topic, partition, offset, max_bytes, Duration::from_secs(5)) => f,
                        _ = tx.closed() => return,
                        _ = shutdown.changed() => {
                            let _ = tx.send(Err(AgentError::ShuttingDown.into())).await;
                            return;
                        }
                    },
                };
                match fetched {
                    Ok(f) if f.records.is_empty() => {}
                    Ok(f) => {
                        offset = f.next_offset;
                        let msg = pb::FetchResponse {
                            partition,
                            records: records_pb(f.records),
                            high_watermark: f.high_watermark,
                            next_offset: f.next_offset,
                        };
                        if tx.send(Ok(msg)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn commit_offsets(
        &self,
        req: Request<pb::CommitOffsetsRequest>,
    ) -> Result<Response<pb::CommitOffsetsResponse>, Status> {
        let tenant = self.tenant(&req).await?;
        let r = req.into_inner();
        check_group(&r.group)?;
        let topic = self.topic(&tenant, &r.topic).await?;
        let offsets: Vec<(u32, u64)> = r.offsets.iter().map(|o| (o.partition, o.offset)).collect();
        for (p, _) in &offsets {
            check_partition(&topic, *p)?;
        }
        self.store
            .commit_offsets(&tenant, &r.group, topic.id, &offsets)
            .await
            .map_err(AgentError::from)?;
        // The group's lag as of this commit, for the lag metric: off the response path, and at
        // most every 10 s per group, since it costs a metadata query. A failure only leaves
        // the metric as it was.
        let metrics = self.partitions.metrics.clone();
        if metrics.lag_due(tenant.as_str(), topic.spec.name.as_str(), &r.group) {
            let store = self.store.clone();
            tokio::spawn(async move {
                if let Ok(parts) = store.partition_offsets(topic.id).await {
                    let lag = offsets
                        .iter()
                        .filter_map(|(p, o)| {
                            let hw = parts.iter().find(|x| x.partition == *p)?.high_watermark;
                            Some(hw.saturating_sub(*o))
                        })
                        .sum();
                    metrics.consumer_lag(tenant.as_str(), topic.spec.name.as_str(), &r.group, lag);
                }
            });
        }
        Ok(Response::new(pb::CommitOffsetsResponse {}))
    }

    async fn fetch_offsets(
        &self,
        req: Request<pb::FetchOffsetsRequest>,
    ) -> Result<Response<pb::FetchOffsetsResponse>, Status> {
        let tenant = self.tenant(&req).await?;
        let r = req.into_inner();
        check_group(&r.group)?;
        let topic = self.topic(&tenant, &r.topic).await?;
        let offsets = self
            .store
            .fetch_offsets(&tenant, &r.group, topic.id)
            .await
            .map_err(AgentError::from)?;
        Ok(Response::new(pb::FetchOffsetsResponse {
            offsets: offsets
                .into_iter()
                .map(|(partition, offset)| pb::PartitionOffset { partition, offset })
                .collect(),
        }))
    }
}

fn check_group(group: &str) -> Result<(), Status> {
    if group.is_empty() || group.len() > 255 || group.chars().any(char::is_control) {
        return Err(Status::invalid_argument(
            "a consumer group id needs 1 to 255 printable characters",
        ));
    }
    Ok(())
}
