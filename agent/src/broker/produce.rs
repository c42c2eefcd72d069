//! The produce path: route each record to its partition, append the partitions this agent
//! leads through the writer, and forward the others to their leaders, one hop only.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

use streamhouse_core::clock::now_ms;
use streamhouse_core::cluster::AgentInfo;
use streamhouse_core::partitioner::partition_for_key;
use streamhouse_core::{ProduceRecord, Record, TenantId, TopicInfo, TopicName};
use streamhouse_proto::TENANT_HEADER;
use streamhouse_proto::v1 as pb;
use tokio::sync::OwnedSemaphorePermit;
use tonic::{Request, Status};

use super::Broker;
use crate::error::{AgentError, AgentResult};
use crate::reader::check_partition;

/// Marks a produce one agent forwarded to another, naming the sender; it is never forwarded
/// again.
pub const FORWARDED_HEADER: &str = "x-streamhouse-forwarded-by";

/// A request's records by partition, in request order.
type Shares = BTreeMap<u32, Vec<Record>>;

/// What became of a produce request: each partition's records succeed or fail together.
#[derive(Debug)]
pub struct Produced {
    /// One per partition the records went to, in partition order.
    pub partitions: Vec<PartitionProduced>,
    /// The partition of each record, in request order; empty when all went to one partition.
    pub record_partitions: Vec<u32>,
}

/// What became of one partition's records of a produce request.
#[derive(Debug)]
pub struct PartitionProduced {
    /// The partition.
    pub partition: u32,
    /// How many of the request's records went to it.
    pub record_count: u32,
    /// The offset of the first of them (the others follow in request order), or why none
    /// was acknowledged.
    pub result: AgentResult<u64>,
}

impl Produced {
    /// The first failure, if any partition failed.
    pub fn first_error(&self) -> Option<&AgentError> {
        self.partitions.iter().find_map(|p| p.result.as_ref().err())
    }
}

impl Broker {
    /// Writes `records` to `topic` and says, per partition, where they landed once they are
    /// durable, or why not. Records are taken as an iterator, so a listener converts them
    /// from its wire format only after their memory is charged to the agent's buffer
    /// budget: `charge` is what the listener charged already (before decoding), else
    /// `memory` (what they take once converted) is charged here. `forwarded` marks a request
    /// another agent forwarded here, which is never forwarded again.
    pub async fn produce(
        &self,
        tenant: &TenantId,
        topic: &TopicName,
        records: impl ExactSizeIterator<Item = ProduceRecord> + Send,
        charge: Option<OwnedSemaphorePermit>,
        memory: usize,
        forwarded: bool,
    ) -> AgentResult<Produced> {
        let started = Instant::now();
        let total = records.len();
        if total == 0 {
            return Err(AgentError::InvalidArgument(
                "a produce request needs at least one record".into(),
            ));
        }
        // Counted again here for listeners that decode before admission can count.
        self.limits
            .request
            .check(total, 0)
            .map_err(AgentError::InvalidArgument)?;
        let topic = self.topic(tenant, topic).await?;
        let _budget = match charge {
            Some(permit) => permit,
            None => self.writer.reserve(memory).await?,
        };
        let (shares, mut record_partitions) = self.route(&topic, records)?;
        if shares.len() == 1 {
            record_partitions = Vec::new();
        }
        let appends = shares
            .into_iter()
            .map(|(partition, records)| self.append(tenant, &topic, partition, records, forwarded));
        let partitions = futures::future::join_all(appends).await;
        self.metrics
            .write_latency
            .observe(started.elapsed().as_secs_f64());
        Ok(Produced {
            partitions,
            record_partitions,
        })
    }

    /// Splits records by partition: an explicit one, else Kafka's murmur2 of the key, else
    /// one partition for the whole request (rotating between requests, so such records form
    /// one batch). Stamps records without a timestamp and checks the record limits. Returns
    /// each partition's records and the partition of each record in request order.
    fn route(
        &self,
        topic: &TopicInfo,
        records: impl Iterator<Item = ProduceRecord>,
    ) -> AgentResult<(Shares, Vec<u32>)> {
        let n = topic.spec.partitions;
        let sticky = self.sticky.fetch_add(1, Ordering::Relaxed) % n;
        let now = now_ms();
        let latest = now.saturating_add(self.limits.max_timestamp_skew_ms);
        let mut routed = Vec::with_capacity(records.size_hint().0);
        let mut placed = Vec::with_capacity(records.size_hint().0);
        let mut headers = 0usize;
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
            } else if record.timestamp_ms > latest {
                return Err(AgentError::InvalidArgument(format!(
                    "record {i} has timestamp {} ms, {} ms ahead of the agent's clock; the \
                     limit is {} ms (agent.max_timestamp_skew_ms): a timestamp in the future \
                     would keep its records from retention",
                    record.timestamp_ms,
                    record.timestamp_ms - now,
                    self.limits.max_timestamp_skew_ms
                )));
            }
            let size = record.encoded_len();
            if size > self.limits.max_record_bytes {
                return Err(AgentError::InvalidArgument(format!(
                    "record {i} is {size} bytes; the limit is {} bytes (agent.max_record_bytes)",
                    self.limits.max_record_bytes
                )));
            }
            headers += record.headers.len();
            self.limits
                .request
                .check(0, headers)
                .map_err(AgentError::InvalidArgument)?;
            placed.push(partition);
            routed.push(record);
        }
        // Each partition's records in a vector of their number: no regrowing per record.
        let mut counts = BTreeMap::<u32, usize>::new();
        for &p in &placed {
            *counts.entry(p).or_insert(0) += 1;
        }
        let mut shares: Shares = counts
            .into_iter()
            .map(|(p, n)| (p, Vec::with_capacity(n)))
            .collect();
        for (p, record) in placed.iter().zip(routed) {
            shares.get_mut(p).expect("counted above").push(record);
        }
        Ok((shares, placed))
    }

    /// Appends one partition's records here if this agent should lead it, else forwards them
    /// to the agent that should.
    async fn append(
        &self,
        tenant: &TenantId,
        topic: &std::sync::Arc<TopicInfo>,
        partition: u32,
        records: Vec<Record>,
        forwarded: bool,
    ) -> PartitionProduced {
        PartitionProduced {
            partition,
            record_count: records.len() as u32,
            result: self
                .append_or_forward(tenant, topic, partition, records, forwarded)
                .await,
        }
    }

    /// Resolves to the offset of the first of `records`.
    async fn append_or_forward(
        &self,
        tenant: &TenantId,
        topic: &std::sync::Arc<TopicInfo>,
        partition: u32,
        records: Vec<Record>,
        forwarded: bool,
    ) -> AgentResult<u64> {
        match self.cluster.leader_elsewhere(topic, partition) {
            None => {
                let p = self.partitions.get_or_insert(topic, partition);
                self.writer.append(p, records).await
            }
            // One hop only: views of the membership disagree for a moment.
            Some(owner) if forwarded => Err(AgentError::Unavailable(format!(
                "partition {partition} of topic {:?} moved to agent {} while this request was \
                 forwarded; retry",
                topic.spec.name.as_str(),
                owner.agent_id
            ))),
            Some(owner) => {
                self.forward(&owner, tenant, topic, partition, records)
                    .await
            }
        }
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
        let reply = match self.cluster.client(&owner.addr)?.produce(req).await {
            Ok(r) => r.into_inner(),
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
        match reply.partitions.as_slice() {
            [p] if p.code == 0 && p.partition == partition && p.record_count as usize == n => {
                Ok(p.base_offset)
            }
            _ => Err(AgentError::Internal(format!(
                "agent {} answered a forwarded produce of {n} records to partition {partition} \
                 with {:?}",
                owner.agent_id, reply.partitions
            ))),
        }
    }
}
