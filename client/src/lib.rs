//! Rust client for StreamHouse agents.
//!
//! ```no_run
//! # async fn demo() -> Result<(), streamhouse_client::ClientError> {
//! use streamhouse_client::{Client, ProduceRecord};
//! let client = Client::connect("http://127.0.0.1:9090").await?;
//! client.create_topic("orders", 6, None, "none").await?;
//! let acks = client
//!     .produce("orders", vec![ProduceRecord::new("hello").with_key("customer-1")])
//!     .await?;
//! let fetched = client.fetch("orders", acks[0].partition, acks[0].offset, 0, 0).await?;
//! # Ok(()) }
//! ```
//!
//! With an API key, connect with [`ConnectOptions`]: every request then carries
//! `authorization: Bearer <key>`.
//!
//! Produces are retried on `UNAVAILABLE` (leadership moving, a failed flush) with backoff,
//! which gives at-least-once delivery: a produce whose acknowledgement was lost may be
//! written twice.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::transport::channel::Change;
pub use tonic::transport::{Certificate, ClientTlsConfig, Identity};
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

pub use streamhouse_proto::v1 as proto;
pub use streamhouse_proto::v1::{
    ConsumedRecord, FetchResponse, PartitionStatus, ProduceRecord, RecordHeader, Topic,
};

/// Where an acknowledged record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordAck {
    /// The partition.
    pub partition: u32,
    /// The record's offset in it.
    pub offset: u64,
}

use streamhouse_proto::TENANT_HEADER;
use streamhouse_proto::v1::stream_house_client::StreamHouseClient;

mod error;
pub use error::{ClientError, ClientResult};

/// How long produces are retried on retriable errors.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Give up after this long. Zero disables retries.
    pub timeout: Duration,
    /// First backoff; doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 30 s, enough to ride out a lease moving after an agent died (one lease TTL, 10 s by
    /// default).
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
        }
    }
}

/// Whom a client authenticates as.
#[derive(Clone, Default)]
pub struct ConnectOptions {
    /// An API key (`shk_...`), sent as `authorization: Bearer <key>` on every request; the
    /// agent then acts for the key's tenant.
    pub api_key: Option<String>,
    /// The tenant to act for without a key (development mode); with a key it must be the
    /// key's tenant or absent.
    pub tenant: Option<String>,
    /// TLS: the CA to check the agents' certificates against and, for mutual TLS, this
    /// client's certificate. `https://` addresses without it are checked against the
    /// system's roots.
    pub tls: Option<ClientTlsConfig>,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("tenant", &self.tenant)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// A connection to one agent, or to several ([`Client::connect_cluster`]); cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    inner: StreamHouseClient<Channel>,
    /// The agents requests go to; a cluster client's refresher keeps it current.
    agents: Arc<Mutex<Vec<String>>>,
    tenant: Option<MetadataValue<tonic::metadata::Ascii>>,
    /// `Bearer <key>`, marked sensitive (never indexed by HPACK; its `Debug` hides it).
    authorization: Option<AsciiMetadataValue>,
    /// TLS settings for the connections a cluster client opens as agents come and go.
    tls: Option<ClientTlsConfig>,
    retry: RetryPolicy,
    /// Keeps a cluster client's refresher running while any clone lives.
    alive: Arc<()>,
}

/// How often a cluster client re-reads the list of agents.
const CLUSTER_REFRESH: Duration = Duration::from_secs(10);

/// The addresses of the agents to use: those in `zone` when it is set and any is there.
fn pick(agents: &[proto::AgentStatus], zone: &str) -> Vec<String> {
    let local: Vec<String> = agents
        .iter()
        .filter(|a| !zone.is_empty() && a.zone == zone)
        .map(|a| a.address.clone())
        .collect();
    let mut picked = if local.is_empty() {
        agents.iter().map(|a| a.address.clone()).collect()
    } else {
        local
    };
    picked.sort_unstable();
    picked.dedup();
    picked
}

/// Brings the balancer's endpoints from `current` to `want`.
async fn apply(
    tx: &tokio::sync::mpsc::Sender<Change<String, Endpoint>>,
    current: &mut Vec<String>,
    want: Vec<String>,
    tls: Option<&ClientTlsConfig>,
) -> ClientResult<()> {
    for gone in current.iter().filter(|a| !want.contains(a)) {
        let _ = tx.send(Change::Remove(gone.clone())).await;
    }
    for new in want.iter().filter(|a| !current.contains(a)) {
        let _ = tx
            .send(Change::Insert(new.clone(), endpoint(new, tls)?))
            .await;
    }
    *current = want;
    Ok(())
}

fn endpoint(addr: &str, tls: Option<&ClientTlsConfig>) -> ClientResult<Endpoint> {
    let invalid = |e: tonic::transport::Error| {
        ClientError::Invalid(format!("invalid agent address {addr:?}: {e}"))
    };
    let mut e = Endpoint::from_shared(addr.to_owned())
        .map_err(invalid)?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);
    let tls = match tls {
        Some(t) => Some(t.clone()),
        None if addr.starts_with("https://") => Some(ClientTlsConfig::new().with_native_roots()),
        None => None,
    };
    if let Some(t) = tls {
        e = e.tls_config(t).map_err(invalid)?;
    }
    Ok(e)
}

/// A stream of fetched batches from [`Client::subscribe`].
pub type Subscription = Pin<Box<dyn Stream<Item = ClientResult<FetchResponse>> + Send>>;

impl Client {
    /// Connects to an agent, such as `http://127.0.0.1:9090`.
    pub async fn connect(addr: &str) -> ClientResult<Self> {
        Self::connect_over(addr, None).await
    }

    async fn connect_over(addr: &str, tls: Option<&ClientTlsConfig>) -> ClientResult<Self> {
        let channel =
            endpoint(addr, tls)?
                .connect()
                .await
                .map_err(|source| ClientError::Connect {
                    addr: addr.to_owned(),
                    source,
                })?;
        let mut c = Self::over(channel, vec![addr.to_owned()]);
        c.tls = tls.cloned();
        Ok(c)
    }

    fn over(channel: Channel, agents: Vec<String>) -> Self {
        Self {
            inner: StreamHouseClient::new(channel)
                .max_decoding_message_size(256 << 20)
                .max_encoding_message_size(256 << 20),
            agents: Arc::new(Mutex::new(agents)),
            tenant: None,
            authorization: None,
            tls: None,
            retry: RetryPolicy::default(),
            alive: Arc::new(()),
        }
    }

    /// Connects to a cluster: asks the first reachable agent of `seeds` (such as a load
    /// balancer's address) which agents serve `tenant` (`None`: `default`), then spreads
    /// requests over them — over those in `zone` only, when `zone` is not empty and any is
    /// there, since cross-zone traffic is billed. Any agent accepts any request; a produce
    /// for a partition led elsewhere is forwarded to its leader. The list is read again every
    /// 10 s, so agents that join or leave are followed.
    pub async fn connect_cluster(
        seeds: &[&str],
        tenant: Option<&str>,
        zone: &str,
    ) -> ClientResult<Self> {
        let options = ConnectOptions {
            tenant: tenant.map(str::to_owned),
            ..ConnectOptions::default()
        };
        Self::connect_cluster_with(seeds, &options, zone).await
    }

    /// Connects to an agent as `options` say.
    pub async fn connect_with(addr: &str, options: &ConnectOptions) -> ClientResult<Self> {
        Self::connect_over(addr, options.tls.as_ref())
            .await?
            .with_options(options)
    }

    /// Connects to a cluster as [`Client::connect_cluster`] does, authenticating as
    /// `options` say.
    pub async fn connect_cluster_with(
        seeds: &[&str],
        options: &ConnectOptions,
        zone: &str,
    ) -> ClientResult<Self> {
        let mut last = ClientError::Invalid("connect_cluster needs at least one address".into());
        for seed in seeds {
            let client = match Self::connect_with(seed, options).await {
                Ok(c) => c,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            let picked = pick(&client.describe_cluster().await?.agents, zone);
            if picked.is_empty() {
                // An agent without membership (SQLite): just that one.
                return Ok(client);
            }
            let (channel, tx) = Channel::balance_channel::<String>(64);
            let mut current = Vec::new();
            apply(&tx, &mut current, picked, options.tls.as_ref()).await?;
            let balanced = Self {
                tenant: client.tenant,
                authorization: client.authorization,
                tls: client.tls,
                ..Self::over(channel, current.clone())
            };
            let alive = Arc::downgrade(&balanced.alive);
            // Holds no `alive` of the client's: it stops once every clone of it is gone.
            let refresher = Client {
                inner: balanced.inner.clone(),
                agents: balanced.agents.clone(),
                tenant: balanced.tenant.clone(),
                authorization: balanced.authorization.clone(),
                tls: balanced.tls.clone(),
                retry: balanced.retry,
                alive: Arc::new(()),
            };
            let zone = zone.to_owned();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(CLUSTER_REFRESH).await;
                    if alive.upgrade().is_none() {
                        return;
                    }
                    let Ok(cluster) = refresher.describe_cluster().await else {
                        continue;
                    };
                    let want = pick(&cluster.agents, &zone);
                    if !want.is_empty() && want != current {
                        let _ = apply(&tx, &mut current, want, refresher.tls.as_ref()).await;
                        *refresher.agents.lock().expect("poisoned") = current.clone();
                    }
                }
            });
            return Ok(balanced);
        }
        Err(last)
    }

    /// The agents this client sends requests to.
    pub fn agents(&self) -> Vec<String> {
        self.agents.lock().expect("poisoned").clone()
    }

    /// The live agents serving this client's tenant, with their zones.
    pub async fn describe_cluster(&self) -> ClientResult<proto::DescribeClusterResponse> {
        Ok(self
            .inner
            .clone()
            .describe_cluster(self.req(proto::DescribeClusterRequest {}))
            .await?
            .into_inner())
    }

    /// Acts for `tenant` instead of `default`.
    pub fn with_tenant(mut self, tenant: &str) -> ClientResult<Self> {
        self.tenant = Some(
            tenant
                .parse()
                .map_err(|_| ClientError::Invalid(format!("invalid tenant {tenant:?}")))?,
        );
        Ok(self)
    }

    /// Sends `key` as `authorization: Bearer <key>` on every request.
    pub fn with_api_key(mut self, key: &str) -> ClientResult<Self> {
        let mut v: AsciiMetadataValue = format!("Bearer {}", key.trim()).parse().map_err(|_| {
            ClientError::Invalid("the API key holds characters a header cannot carry".into())
        })?;
        v.set_sensitive(true);
        self.authorization = Some(v);
        Ok(self)
    }

    /// Applies `options`' key and tenant.
    pub fn with_options(mut self, options: &ConnectOptions) -> ClientResult<Self> {
        if let Some(k) = &options.api_key {
            self = self.with_api_key(k)?;
        }
        if let Some(t) = &options.tenant {
            self = self.with_tenant(t)?;
        }
        Ok(self)
    }

    /// Uses this retry policy for produces.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    fn req<T>(&self, msg: T) -> Request<T> {
        let mut r = Request::new(msg);
        if let Some(t) = &self.tenant {
            r.metadata_mut().insert(TENANT_HEADER, t.clone());
        }
        if let Some(a) = &self.authorization {
            r.metadata_mut().insert("authorization", a.clone());
        }
        r
    }

    /// Creates a topic. `compression` is `none`, `lz4` or `zstd`.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        retention_ms: Option<i64>,
        compression: &str,
    ) -> ClientResult<Topic> {
        self.create_topic_with(proto::CreateTopicRequest {
            name: name.to_owned(),
            partitions,
            retention_ms,
            compression: compression.to_owned(),
            ..Default::default()
        })
        .await
    }

    /// Creates a topic with every setting the request carries (retention by size, cleanup
    /// policy, ...).
    pub async fn create_topic_with(
        &self,
        request: proto::CreateTopicRequest,
    ) -> ClientResult<Topic> {
        let r = self.inner.clone().create_topic(self.req(request)).await?;
        r.into_inner()
            .topic
            .ok_or_else(|| ClientError::Invalid("agent returned no topic".into()))
    }

    /// Changes a topic's retention and cleanup policy; fields the request leaves out keep
    /// their value.
    pub async fn alter_topic(&self, request: proto::AlterTopicRequest) -> ClientResult<Topic> {
        let r = self.inner.clone().alter_topic(self.req(request)).await?;
        r.into_inner()
            .topic
            .ok_or_else(|| ClientError::Invalid("agent returned no topic".into()))
    }

    /// Deletes a topic.
    pub async fn delete_topic(&self, name: &str) -> ClientResult<()> {
        self.inner
            .clone()
            .delete_topic(self.req(proto::DeleteTopicRequest {
                name: name.to_owned(),
            }))
            .await?;
        Ok(())
    }

    /// Lists topics.
    pub async fn list_topics(&self) -> ClientResult<Vec<Topic>> {
        Ok(self
            .inner
            .clone()
            .list_topics(self.req(proto::ListTopicsRequest {}))
            .await?
            .into_inner()
            .topics)
    }

    /// A topic and each partition's offsets.
    pub async fn describe_topic(&self, name: &str) -> ClientResult<(Topic, Vec<PartitionStatus>)> {
        let r = self
            .inner
            .clone()
            .describe_topic(self.req(proto::DescribeTopicRequest {
                name: name.to_owned(),
            }))
            .await?
            .into_inner();
        let topic = r
            .topic
            .ok_or_else(|| ClientError::Invalid("agent returned no topic".into()))?;
        Ok((topic, r.partitions))
    }

    /// Appends records, retrying retriable errors per the retry policy; returns where each
    /// landed, in order. A retry sends only the records not yet acknowledged: when some
    /// partitions of a request fail, the agent says which were written.
    pub async fn produce(
        &self,
        topic: &str,
        records: Vec<ProduceRecord>,
    ) -> ClientResult<Vec<RecordAck>> {
        let started = Instant::now();
        let mut backoff = self.retry.initial_backoff;
        let mut acks: Vec<Option<RecordAck>> = vec![None; records.len()];
        // Indices of the records still to be acknowledged.
        let mut pending: Vec<usize> = (0..records.len()).collect();
        loop {
            let msg = proto::ProduceRequest {
                topic: topic.to_owned(),
                records: pending.iter().map(|&i| records[i].clone()).collect(),
            };
            let (reply, status) = match self.inner.clone().produce(self.req(msg)).await {
                Ok(r) => (Some(r.into_inner()), None),
                Err(s) => (proto::ProduceResponse::from_status(&s), Some(s)),
            };
            if let Some(reply) = reply {
                let results = reply
                    .record_results(pending.len())
                    .map_err(|e| ClientError::Invalid(format!("malformed produce reply: {e}")))?;
                let mut failed = Vec::new();
                for (i, r) in pending.iter().zip(results) {
                    match r {
                        Ok((partition, offset)) => acks[*i] = Some(RecordAck { partition, offset }),
                        Err(_) => failed.push(*i),
                    }
                }
                pending = failed;
            }
            let status = match status {
                None if pending.is_empty() => {
                    return Ok(acks.into_iter().flatten().collect());
                }
                None => {
                    Status::internal("the agent answered OK but did not acknowledge every record")
                }
                Some(s) => s,
            };
            let e = ClientError::from(status);
            if !e.is_retriable() || started.elapsed() + backoff > self.retry.timeout {
                return Err(match e {
                    ClientError::Status(status) if acks.iter().any(Option::is_some) => {
                        ClientError::PartlyWritten { acks, status }
                    }
                    e => e,
                });
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.retry.max_backoff);
        }
    }

    /// Reads records of one partition from `offset`. `max_bytes` 0 means 1 MiB; with
    /// `max_wait_ms` above 0 the agent waits that long for new records at the end of the log.
    pub async fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        max_bytes: u32,
        max_wait_ms: u32,
    ) -> ClientResult<FetchResponse> {
        Ok(self
            .inner
            .clone()
            .fetch(self.req(proto::FetchRequest {
                topic: topic.to_owned(),
                partition,
                offset,
                max_bytes,
                max_wait_ms,
            }))
            .await?
            .into_inner())
    }

    /// Streams records of one partition from `offset`, following the log.
    pub async fn subscribe(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        max_bytes: u32,
    ) -> ClientResult<Subscription> {
        let stream = self
            .inner
            .clone()
            .subscribe(self.req(proto::SubscribeRequest {
                topic: topic.to_owned(),
                partition,
                offset,
                max_bytes,
            }))
            .await?
            .into_inner();
        Ok(Box::pin(stream.map(|r| r.map_err(ClientError::from))))
    }

    /// Stores a consumer group's next offsets.
    pub async fn commit_offsets(
        &self,
        group: &str,
        topic: &str,
        offsets: &[(u32, u64)],
    ) -> ClientResult<()> {
        self.inner
            .clone()
            .commit_offsets(
                self.req(proto::CommitOffsetsRequest {
                    group: group.to_owned(),
                    topic: topic.to_owned(),
                    offsets: offsets
                        .iter()
                        .map(|(partition, offset)| proto::PartitionOffset {
                            partition: *partition,
                            offset: *offset,
                        })
                        .collect(),
                }),
            )
            .await?;
        Ok(())
    }

    /// A consumer group's committed offsets, by partition.
    pub async fn fetch_offsets(&self, group: &str, topic: &str) -> ClientResult<Vec<(u32, u64)>> {
        Ok(self
            .inner
            .clone()
            .fetch_offsets(self.req(proto::FetchOffsetsRequest {
                group: group.to_owned(),
                topic: topic.to_owned(),
            }))
            .await?
            .into_inner()
            .offsets
            .into_iter()
            .map(|o| (o.partition, o.offset))
            .collect())
    }
}
