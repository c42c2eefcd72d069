//! The produce path: route each record to its partition, append the partitions this agent
//! leads through the writer, and forward the others to their leaders, one hop only.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

use streamhouse_core::clock::now_ms;
use streamhouse_core::cluster::AgentInfo;
use streamhouse_core::partitioner::partition_for_key;
use streamhouse_core::{ProduceRecord, Record, RecordAck, TenantId, TopicInfo, TopicName};
use streamhouse_proto::TENANT_HEADER;
use streamhouse_proto::v1 as pb;
use tonic::{Request, Status};

use super::Broker;
use crate::error::{AgentError, AgentResult};
use crate::reader::check_partition;

/// Marks a produce one agent forwarded to another, naming the sender; it is never forwarded
/// again.
pub const FORWARDED_HEADER: &str = "x-streamhouse-forwarded-by";

/// One partition's share of a produce request: the records and their positions in it.
#[derive(Debug, Default)]
struct Share {
    positions: Vec<usize>,
    records: Vec<Record>,
}

impl Broker {
    /// Writes `records` to `topic` and returns where each landed, in request order, once
    /// every one is durable. Records are taken as an iterator, so a listener converts them
    /// from its wire format as they are routed, without collecting them first. `forwarded` marks a request another agent forwarded here, which
    /// is never forwarded again.
    pub async fn produce(
        &self,
        tenant: &TenantId,
        topic: &TopicName,
        records: impl ExactSizeIterator<Item = ProduceRecord> + Send,
        forwarded: bool,
    ) -> AgentResult<Vec<RecordAck>> {
        let started = Instant::now();
        let topic = self.topic(tenant, topic).await?;
        if records.len() == 0 {
            return Err(AgentError::InvalidArgument(
                "a produce request needs at least one record".into(),
            ));
        }
        let total = records.len();
        let shares = self.route(&topic, records)?;
        let appends = shares
            .into_iter()
            .map(|(partition, share)| self.append(tenant, &topic, partition, share, forwarded));
        let mut acks = vec![RecordAck::default(); total];
        for r in futures::future::join_all(appends).await {
            let (partition, positions, base) = r?;
            for (k, i) in positions.into_iter().enumerate() {
                acks[i] = RecordAck {
                    partition,
                    offset: base + k as u64,
                };
            }
        }
        self.metrics
            .write_latency
            .observe(started.elapsed().as_secs_f64());
        Ok(acks)
    }

    /// Splits records by partition: an explicit one, else Kafka's murmur2 of the key, else
    /// one partition for the whole request (rotating between requests, so such records form
    /// one batch). Stamps records without a timestamp and checks the record size limit.
    fn route(
        &self,
        topic: &TopicInfo,
        records: impl Iterator<Item = ProduceRecord>,
    ) -> AgentResult<BTreeMap<u32, Share>> {
        let n = topic.spec.partitions;
        let sticky = self.sticky.fetch_add(1, Ordering::Relaxed) % n;
        let now = now_ms();
        let mut shares: BTreeMap<u32, Share> = BTreeMap::new();
        for (i, r) in records.enumerate() {
            let mut record = r.record;
            let partition = match (r.partition, &record.key) {
                (Some(p), _) => {
                    check_partition(topic, p)?;
                    p
                }
                (None, Some(k)) => partition_for_key(k, n),
                (None, None) => sticky,
            };
            if record.timestamp_ms == 0 {
                record.timestamp_ms = now;
            }
            let size = record.encoded_len();
            if size > self.limits.max_record_bytes {
                return Err(AgentError::InvalidArgument(format!(
                    "record {i} is {size} bytes; the limit is {} bytes (agent.max_record_bytes)",
                    self.limits.max_record_bytes
                )));
            }
            let share = shares.entry(partition).or_default();
            share.positions.push(i);
            share.records.push(record);
        }
        Ok(shares)
    }

    /// Appends one partition's share here if this agent should lead it, else forwards it to
    /// the agent that should; resolves to the share's first offset.
    async fn append(
        &self,
        tenant: &TenantId,
        topic: &std::sync::Arc<TopicInfo>,
        partition: u32,
        share: Share,
        forwarded: bool,
    ) -> AgentResult<(u32, Vec<usize>, u64)> {
        let base = match self.cluster.leader_elsewhere(topic, partition) {
            None => {
                let p = self.partitions.get_or_insert(topic, partition);
                self.writer.append(p, &share.records).await?
            }
            // One hop only: views of the membership disagree for a moment.
            Some(owner) if forwarded => {
                return Err(AgentError::Unavailable(format!(
                    "partition {partition} of topic {:?} moved to agent {} while this request \
                     was forwarded; retry",
                    topic.spec.name.as_str(),
                    owner.agent_id
                )));
            }
            Some(owner) => {
                self.forward(&owner, tenant, topic, partition, share.records)
                    .await?
            }
        };
        Ok((partition, share.positions, base))
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
                .map(|record| {
                    pb::ProduceRecord::from(ProduceRecord {
                        partition: Some(partition),
                        record,
                    })
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
}
