//! The `streamhouse.v1.StreamHouse` gRPC service: each handler authenticates the request
//! (the [`Principal`] it acts as, see [`crate::auth`]), checks the permission the call needs
//! on the topic it names, converts its message to domain types (the conversions live in
//! `streamhouse_proto`'s `domain` feature), calls the [`Broker`], and converts the answer
//! back. Requests are counted by RPC and status code.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use streamhouse_core::tenancy::Permissions;
use streamhouse_core::usage::{record_usage_bytes, usage_bytes};
use streamhouse_core::{Header, ProduceRecord, TopicName};
use streamhouse_proto::v1 as pb;
use streamhouse_proto::v1::stream_house_server::StreamHouse;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::admission::DecodeCharge;
use crate::auth::{Authenticator, CLUSTER_AUTH_HEADER, Principal};
use crate::broker::{Broker, FORWARDED_HEADER, Produced};
use crate::error::{AgentError, AgentResult};
use crate::metering::Meter;
use crate::metrics::Metrics;
use crate::quota::Quotas;

/// The gRPC face of the [`Broker`].
#[derive(Debug, Clone)]
pub struct GrpcService {
    broker: Arc<Broker>,
    auth: Arc<Authenticator>,
    quotas: Arc<Quotas>,
    meter: Arc<Meter>,
    metrics: Arc<Metrics>,
}

impl GrpcService {
    /// Serves `broker` over gRPC to the requests `auth` admits, within their tenants'
    /// `quotas`, metering their usage.
    pub fn new(
        broker: Arc<Broker>,
        auth: Arc<Authenticator>,
        quotas: Arc<Quotas>,
        meter: Arc<Meter>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            broker,
            auth,
            quotas,
            meter,
            metrics,
        }
    }

    /// Who `req` acts as: a client by its key (or, in development mode, the tenant it
    /// names), or a member of the cluster (another agent forwarding a produce, the control
    /// plane reading for its message browser), which must prove it is one.
    async fn principal<T>(&self, req: &Request<T>) -> AgentResult<Principal> {
        let md = req.metadata();
        if md.contains_key(FORWARDED_HEADER) || md.contains_key(CLUSTER_AUTH_HEADER) {
            return self.auth.agent_principal(req.metadata());
        }
        self.auth.principal(req.metadata(), req.remote_addr()).await
    }

    /// Records a change an RPC made in the audit log.
    fn audit<T>(&self, p: &Principal, req: &Request<T>, action: &str, target: &TopicName) {
        self.auth.audit().record(
            Some(p.tenant()),
            &p.actor(),
            action,
            target.as_str(),
            req.remote_addr(),
            "",
        );
    }
}

fn topic_name(name: String) -> AgentResult<TopicName> {
    Ok(TopicName::new(name)?)
}

/// The bytes of a record that quotas count: key, value and headers.
fn record_bytes(r: &pb::ProduceRecord) -> u64 {
    let headers = r.headers.iter().map(|h| h.key.len() + h.value.len());
    usage_bytes(r.key.as_deref(), r.value.as_deref(), headers)
}

/// The bytes of the records of `produced`'s acknowledged partitions, `sizes` being each
/// record's in request order.
fn acknowledged_bytes(produced: &Produced, sizes: &[u64]) -> u64 {
    let ok = |partition: u32| {
        produced
            .partitions
            .iter()
            .any(|p| p.partition == partition && p.result.is_ok())
    };
    match (
        produced.record_partitions.as_slice(),
        produced.partitions.as_slice(),
    ) {
        // All went to one partition.
        ([], [only]) if only.result.is_ok() => sizes.iter().sum(),
        ([], _) => 0,
        (each, _) => each
            .iter()
            .zip(sizes)
            .filter(|(p, _)| ok(**p))
            .map(|(_, s)| s)
            .sum(),
    }
}

/// The record bytes a fetch answers with, as the tenant's read rate counts them.
/// Bytes (as metered) and records of a fetch's answer.
fn usage_of(f: &streamhouse_core::Fetched) -> (u64, u64) {
    let bytes = f.records.iter().map(|(_, r)| record_usage_bytes(r)).sum();
    (bytes, f.records.len() as u64)
}

fn fetched_bytes(f: &streamhouse_core::Fetched) -> u64 {
    f.records.iter().map(|(_, r)| r.encoded_len() as u64).sum()
}

/// Memory a produce request's records take once converted to domain records, beside their
/// wire form: the record and header structs of both (their bytes are shared, not copied).
fn produce_memory(records: &[pb::ProduceRecord]) -> usize {
    use prost::Message;
    const RECORD: usize = size_of::<pb::ProduceRecord>() + size_of::<ProduceRecord>();
    const HEADER: usize = size_of::<pb::RecordHeader>() + size_of::<Header>();
    records
        .iter()
        .map(|r| r.encoded_len() + RECORD + r.headers.len() * HEADER)
        .sum()
}

/// The reply to a produce: the acknowledged partitions, or the failure. When some
/// partitions were acknowledged and others failed, the failure's status carries the reply in
/// its details, so a client retries only the failed partitions' records.
fn produce_reply(produced: Produced) -> Result<pb::ProduceResponse, Status> {
    let total = produced.partitions.len();
    let mut failures: Vec<(u32, Status)> = Vec::new();
    let partitions = produced
        .partitions
        .into_iter()
        .map(|p| {
            let mut result = pb::PartitionResult {
                partition: p.partition,
                record_count: p.record_count,
                ..Default::default()
            };
            match p.result {
                Ok(base) => result.base_offset = base,
                Err(e) => {
                    let s = Status::from(e);
                    result.code = s.code() as i32;
                    result.message = s.message().to_owned();
                    failures.push((p.partition, s));
                }
            }
            result
        })
        .collect();
    let reply = pb::ProduceResponse {
        partitions,
        record_partitions: produced.record_partitions,
    };
    let Some((partition, first)) = failures.first() else {
        return Ok(reply);
    };
    if failures.len() == total {
        return Err(first.clone());
    }
    let message = format!(
        "the records of {} of the request's {total} partitions were not written and the \
         others were (the status details list which): retry only the failed ones. Partition \
         {partition}: {}",
        failures.len(),
        first.message()
    );
    Err(reply.into_status(first.code(), message))
}

/// The status code a handler answered with.
fn code_of<T>(r: &Result<T, Status>) -> tonic::Code {
    r.as_ref().map_or_else(Status::code, |_| tonic::Code::Ok)
}

type SubscribeStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<pb::FetchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl StreamHouse for GrpcService {
    async fn create_topic(
        &self,
        req: Request<pb::CreateTopicRequest>,
    ) -> Result<Response<pb::CreateTopicResponse>, Status> {
        let p = self.principal(&req).await?;
        let spec = req
            .get_ref()
            .clone()
            .into_spec(p.tenant().clone())
            .map_err(AgentError::from)?;
        self.meter.request(&p, spec.name.as_str());
        p.check(Permissions::ADMIN, Some(&spec.name))?;
        let topic = self.broker.create_topic(spec).await?;
        self.audit(&p, &req, "topic.create", &topic.spec.name);
        Ok(Response::new(pb::CreateTopicResponse {
            topic: Some(topic.as_ref().into()),
        }))
    }

    async fn delete_topic(
        &self,
        req: Request<pb::DeleteTopicRequest>,
    ) -> Result<Response<pb::DeleteTopicResponse>, Status> {
        let p = self.principal(&req).await?;
        let name = topic_name(req.get_ref().name.clone())?;
        self.meter.request(&p, name.as_str());
        p.check(Permissions::ADMIN, Some(&name))?;
        self.broker.delete_topic(p.tenant(), &name).await?;
        self.audit(&p, &req, "topic.delete", &name);
        Ok(Response::new(pb::DeleteTopicResponse {}))
    }

    async fn list_topics(
        &self,
        req: Request<pb::ListTopicsRequest>,
    ) -> Result<Response<pb::ListTopicsResponse>, Status> {
        let p = self.principal(&req).await?;
        self.meter.request(&p, "");
        p.check(Permissions::READ, None)?;
        let topics = self.broker.list_topics(p.tenant()).await?;
        Ok(Response::new(pb::ListTopicsResponse {
            topics: topics
                .iter()
                .filter(|t| p.sees(&t.spec.name))
                .map(Into::into)
                .collect(),
        }))
    }

    async fn describe_cluster(
        &self,
        req: Request<pb::DescribeClusterRequest>,
    ) -> Result<Response<pb::DescribeClusterResponse>, Status> {
        // Any valid key: producers and consumers both find their agents this way.
        let p = self.principal(&req).await?;
        self.meter.request(&p, "");
        let (group, agents) = self.broker.describe_cluster(p.tenant()).await?;
        Ok(Response::new(pb::DescribeClusterResponse {
            group,
            agents: agents.into_iter().map(Into::into).collect(),
        }))
    }

    async fn describe_topic(
        &self,
        req: Request<pb::DescribeTopicRequest>,
    ) -> Result<Response<pb::DescribeTopicResponse>, Status> {
        let p = self.principal(&req).await?;
        let name = topic_name(req.into_inner().name)?;
        self.meter.request(&p, name.as_str());
        // Producers describe topics too (partition counts); either permission will do.
        if p.check(Permissions::READ, Some(&name)).is_err() {
            p.check(Permissions::WRITE, Some(&name))?;
        }
        let (topic, partitions) = self.broker.describe_topic(p.tenant(), &name).await?;
        Ok(Response::new(pb::DescribeTopicResponse {
            topic: Some((&topic).into()),
            partitions: partitions.into_iter().map(Into::into).collect(),
        }))
    }

    async fn alter_topic(
        &self,
        req: Request<pb::AlterTopicRequest>,
    ) -> Result<Response<pb::AlterTopicResponse>, Status> {
        let p = self.principal(&req).await?;
        let name = topic_name(req.get_ref().name.clone())?;
        self.meter.request(&p, name.as_str());
        p.check(Permissions::ADMIN, Some(&name))?;
        let topic = self
            .broker
            .alter_topic(p.tenant(), &name, |current| {
                req.get_ref().apply(current).map_err(AgentError::from)
            })
            .await?;
        self.audit(&p, &req, "topic.alter", &name);
        Ok(Response::new(pb::AlterTopicResponse {
            topic: Some(topic.as_ref().into()),
        }))
    }

    async fn produce(
        &self,
        req: Request<pb::ProduceRequest>,
    ) -> Result<Response<pb::ProduceResponse>, Status> {
        let span = tracing::info_span!(
            "produce",
            topic = %req.get_ref().topic,
            records = req.get_ref().records.len()
        );
        crate::logging::adopt_trace_context(&span, req.metadata());
        let result = async {
            let p = self.principal(&req).await?;
            let forwarded = matches!(p, Principal::Agent(_));
            let charge = req
                .extensions()
                .get::<DecodeCharge>()
                .and_then(DecodeCharge::take);
            let r = req.into_inner();
            let topic = topic_name(r.topic)?;
            self.meter.request(&p, topic.as_str());
            p.check(Permissions::WRITE, Some(&topic))?;
            // A forwarded request was admitted, and will be counted, by the agent it came to.
            let counted = !forwarded
                && self
                    .quotas
                    .admit_produce(p.tenant(), r.records.iter().map(record_bytes).sum())
                    .await?;
            // Each record's size, to count those acknowledged: only for tenants with a plan.
            let sizes: Vec<u64> = match counted {
                true => r.records.iter().map(record_bytes).collect(),
                false => Vec::new(),
            };
            let memory = produce_memory(&r.records);
            let records = r.records.into_iter().map(ProduceRecord::from);
            let produced = self
                .broker
                .produce(p.tenant(), &topic, records, charge, memory, forwarded)
                .await?;
            if counted {
                let acked = acknowledged_bytes(&produced, &sizes);
                self.quotas.acknowledged(p.tenant(), acked).await;
            }
            produce_reply(produced).map(Response::new)
        }
        .instrument(span)
        .await;
        self.metrics.request("produce", code_of(&result));
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
            let p = self.principal(&req).await?;
            let r = req.into_inner();
            let topic = topic_name(r.topic)?;
            self.meter.request(&p, topic.as_str());
            p.check(Permissions::READ, Some(&topic))?;
            let wait = Duration::from_millis(u64::from(r.max_wait_ms));
            let fetched = self
                .broker
                .fetch(p.tenant(), &topic, r.partition, r.offset, r.max_bytes, wait)
                .await?;
            let (bytes, records) = usage_of(&fetched);
            self.meter.egress(&p, topic.as_str(), bytes, records);
            // Over the tenant's read rate, the answer waits: reads are slowed, not refused.
            let bytes = || fetched_bytes(&fetched);
            tokio::time::sleep(self.quotas.read_delay(p.tenant(), bytes).await).await;
            Ok(Response::new((r.partition, fetched).into()))
        }
        .instrument(span)
        .await;
        self.metrics.request("fetch", code_of(&result));
        result
    }

    type SubscribeStream = SubscribeStream;

    async fn subscribe(
        &self,
        req: Request<pb::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let p = self.principal(&req).await?;
        let r = req.into_inner();
        let topic = topic_name(r.topic)?;
        self.meter.request(&p, topic.as_str());
        p.check(Permissions::READ, Some(&topic))?;
        let partition = r.partition;
        let stream = self
            .broker
            .subscribe(p.tenant(), &topic, partition, r.offset, r.max_bytes)
            .await?;
        let (quotas, tenant) = (self.quotas.clone(), p.tenant().clone());
        let (meter, name) = (self.meter.clone(), topic.as_str().to_owned());
        let stream = stream.then(move |f| {
            let (quotas, tenant) = (quotas.clone(), tenant.clone());
            let (meter, p, name) = (meter.clone(), p.clone(), name.clone());
            async move {
                let f = f.map_err(Status::from)?;
                let (bytes, records) = usage_of(&f);
                meter.egress(&p, &name, bytes, records);
                let bytes = || fetched_bytes(&f);
                tokio::time::sleep(quotas.read_delay(&tenant, bytes).await).await;
                Ok(pb::FetchResponse::from((partition, f)))
            }
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn commit_offsets(
        &self,
        req: Request<pb::CommitOffsetsRequest>,
    ) -> Result<Response<pb::CommitOffsetsResponse>, Status> {
        let p = self.principal(&req).await?;
        let r = req.into_inner();
        let topic = topic_name(r.topic)?;
        self.meter.request(&p, topic.as_str());
        p.check(Permissions::READ, Some(&topic))?;
        let offsets = r.offsets.into_iter().map(Into::into).collect();
        self.broker
            .commit_offsets(p.tenant(), &r.group, &topic, offsets)
            .await?;
        Ok(Response::new(pb::CommitOffsetsResponse {}))
    }

    async fn fetch_offsets(
        &self,
        req: Request<pb::FetchOffsetsRequest>,
    ) -> Result<Response<pb::FetchOffsetsResponse>, Status> {
        let p = self.principal(&req).await?;
        let r = req.into_inner();
        let topic = topic_name(r.topic)?;
        self.meter.request(&p, topic.as_str());
        p.check(Permissions::READ, Some(&topic))?;
        let offsets = self
            .broker
            .fetch_offsets(p.tenant(), &r.group, &topic)
            .await?;
        Ok(Response::new(pb::FetchOffsetsResponse {
            offsets: offsets.into_iter().map(Into::into).collect(),
        }))
    }
}
