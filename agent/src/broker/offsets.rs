//! Consumer-group offsets, and the lag metric computed from them.

use std::sync::Arc;

use streamhouse_core::{MetadataStore, TenantId, TopicInfo, TopicName};

use super::Broker;
use crate::error::{AgentError, AgentResult};
use crate::metrics::Metrics;
use crate::reader::check_partition;

/// `InvalidArgument` unless `group` is a usable consumer group id.
fn check_group(group: &str) -> AgentResult<()> {
    if group.is_empty() || group.len() > 255 || group.chars().any(char::is_control) {
        return Err(AgentError::InvalidArgument(
            "a consumer group id needs 1 to 255 printable characters".into(),
        ));
    }
    Ok(())
}

impl Broker {
    /// Stores a group's `(partition, offset)` pairs on a topic, replacing earlier ones.
    pub async fn commit_offsets(
        &self,
        tenant: &TenantId,
        group: &str,
        topic: &TopicName,
        offsets: Vec<(u32, u64)>,
    ) -> AgentResult<()> {
        check_group(group)?;
        let topic = self.topic(tenant, topic).await?;
        for (p, _) in &offsets {
            check_partition(&topic, *p)?;
        }
        self.store
            .commit_offsets(tenant, group, topic.id, &offsets)
            .await?;
        // The lag metric costs a metadata query: computed off the response path, at most
        // every 10 s per group. A failure only leaves the metric as it was.
        if self
            .metrics
            .lag_due(tenant.as_str(), topic.spec.name.as_str(), group)
        {
            tokio::spawn(record_lag(
                self.store.clone(),
                self.metrics.clone(),
                topic,
                group.to_owned(),
                offsets,
            ));
        }
        Ok(())
    }

    /// A group's committed `(partition, offset)` pairs on a topic, by partition.
    pub async fn fetch_offsets(
        &self,
        tenant: &TenantId,
        group: &str,
        topic: &TopicName,
    ) -> AgentResult<Vec<(u32, u64)>> {
        check_group(group)?;
        let topic = self.topic(tenant, topic).await?;
        Ok(self.store.fetch_offsets(tenant, group, topic.id).await?)
    }
}

/// Records a group's lag as of the offsets it just committed: the high watermark minus the
/// committed offset, over the partitions it committed.
async fn record_lag(
    store: Arc<dyn MetadataStore>,
    metrics: Arc<Metrics>,
    topic: Arc<TopicInfo>,
    group: String,
    offsets: Vec<(u32, u64)>,
) {
    let Ok(parts) = store.partition_offsets(topic.id).await else {
        return;
    };
    let lag = offsets
        .iter()
        .filter_map(|(p, o)| {
            let hw = parts.iter().find(|x| x.partition == *p)?.high_watermark;
            Some(hw.saturating_sub(*o))
        })
        .sum();
    let spec = &topic.spec;
    metrics.consumer_lag(spec.tenant.as_str(), spec.name.as_str(), &group, lag);
}
