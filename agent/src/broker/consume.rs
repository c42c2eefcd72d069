//! Reads: one fetch, with a long poll at the high watermark, and subscriptions that follow
//! the log. Reads are stateless: any agent serves any partition.

use std::pin::Pin;
use std::time::Duration;

use futures::Stream;
use streamhouse_core::{Fetched, TenantId, TopicName};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::Broker;
use crate::error::{AgentError, AgentResult};
use crate::reader::check_partition;

/// Default and largest `max_bytes` of a fetch.
const DEFAULT_FETCH_BYTES: usize = 1 << 20;
/// Longest `max_wait` a fetch may ask for.
const MAX_FETCH_WAIT: Duration = Duration::from_secs(30);
/// How long a subscription waits at the high watermark before it asks again.
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(5);

/// The batches of records a subscription delivers, until an error or the agent's shutdown
/// ends it.
pub type FetchStream = Pin<Box<dyn Stream<Item = AgentResult<Fetched>> + Send>>;

impl Broker {
    /// Up to `max_bytes` of records of one partition from `offset` (at least one record
    /// when there is any), waiting up to `max_wait` at the high watermark.
    pub async fn fetch(
        &self,
        tenant: &TenantId,
        topic: &TopicName,
        partition: u32,
        offset: u64,
        max_bytes: u32,
        max_wait: Duration,
    ) -> AgentResult<Fetched> {
        let topic = self.topic(tenant, topic).await?;
        let max_bytes = self.fetch_bytes(max_bytes);
        self.reader
            .fetch(
                &topic,
                partition,
                offset,
                max_bytes,
                max_wait.min(MAX_FETCH_WAIT),
            )
            .await
    }

    /// Records of one partition from `offset` on, as they are committed. Errors such as an
    /// offset out of range are returned before the stream starts.
    pub async fn subscribe(
        &self,
        tenant: &TenantId,
        topic: &TopicName,
        partition: u32,
        offset: u64,
        max_bytes: u32,
    ) -> AgentResult<FetchStream> {
        let topic = self.topic(tenant, topic).await?;
        check_partition(&topic, partition)?;
        // Held by the stream until it ends.
        let slot = self
            .subscriptions
            .clone()
            .try_acquire_owned()
            .map_err(|_| {
                AgentError::ResourceExhausted(format!(
                    "this agent streams {} subscriptions, its limit (agent.max_subscriptions); \
                 retry later or on another agent, or read with Fetch",
                    self.limits.max_subscriptions
                ))
            })?;
        // One message waits in the channel, one is being sent and one being read: a
        // subscription holds at most three of these however slowly its client reads.
        let max_bytes = self
            .fetch_bytes(max_bytes)
            .min(self.limits.subscribe_buffer_bytes);
        let first = self
            .reader
            .fetch(&topic, partition, offset, max_bytes, Duration::ZERO)
            .await?;
        let (tx, rx) = mpsc::channel(1);
        let reader = self.reader.clone();
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut next = Some(first);
            let mut offset = offset;
            loop {
                let fetched = match next.take() {
                    Some(f) => Ok(f),
                    None => tokio::select! {
                        f = reader.fetch(&topic, partition, offset, max_bytes, SUBSCRIBE_WAIT) => f,
                        _ = tx.closed() => return,
                        _ = shutdown.changed() => {
                            let _ = tx.send(Err(AgentError::ShuttingDown)).await;
                            return;
                        }
                    },
                };
                match fetched {
                    // Nothing new, or only a gap key compaction left: go on after it.
                    Ok(f) if f.records.is_empty() => offset = offset.max(f.next_offset),
                    Ok(f) => {
                        offset = f.next_offset;
                        if tx.send(Ok(f)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
            }
        });
        Ok(Box::pin(ReceiverStream::new(rx)))
    }

    /// The byte budget of a fetch: what the client asked for, 1 MiB if nothing, never more
    /// than half the message limit. A fetch stops at the first record past the budget, and a
    /// record takes at most half the limit on the wire (the configuration checks
    /// `max_record_bytes`), so the response always fits.
    fn fetch_bytes(&self, requested: u32) -> usize {
        // Room for the response's own fields.
        let cap = (self.limits.max_message_bytes / 2)
            .saturating_sub(1024)
            .max(1);
        match requested as usize {
            0 => DEFAULT_FETCH_BYTES.min(cap),
            n => n.min(cap),
        }
    }
}
