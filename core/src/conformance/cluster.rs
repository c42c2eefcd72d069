//! The `ClusterStore` conformance suite.

use std::time::Duration;

use super::metadata::tenant;
use crate::cluster::{AgentInfo, DEFAULT_GROUP};
use crate::registry::MetadataParts;

fn agent(id: &str, group: &str, zone: &str) -> AgentInfo {
    AgentInfo {
        holder: format!("{id}/0001"),
        agent_id: id.into(),
        group: group.into(),
        zone: zone.into(),
        addr: format!("http://{id}.local:9090"),
    }
}

const TTL: Duration = Duration::from_secs(30);

/// Heartbeats register agents with their group, zone and address; a heartbeat again updates
/// the row; leaving removes it at once.
pub async fn heartbeats_register_and_leave_removes(m: &MetadataParts) {
    let a = agent("a", "default", "us-east-1a");
    let b = agent("b", "analytics", "us-east-1b");
    m.store.heartbeat(&b, TTL).await.unwrap();
    m.store.heartbeat(&a, TTL).await.unwrap();
    assert_eq!(
        m.store.live_agents().await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    let moved = AgentInfo {
        addr: "http://a.other:9090".into(),
        ..a.clone()
    };
    m.store.heartbeat(&moved, TTL).await.unwrap();
    assert_eq!(m.store.live_agents().await.unwrap(), vec![moved, b.clone()]);
    m.store.leave(&a.holder).await.unwrap();
    assert_eq!(m.store.live_agents().await.unwrap(), vec![b]);
    // Leaving twice is not an error.
    m.store.leave(&a.holder).await.unwrap();
}

/// An agent whose heartbeats stop drops out after its TTL; a new heartbeat brings it back.
pub async fn silent_agents_expire(m: &MetadataParts) {
    let a = agent("a", "default", "");
    m.store
        .heartbeat(&a, Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(m.store.live_agents().await.unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(m.store.live_agents().await.unwrap().is_empty());
    m.store.heartbeat(&a, TTL).await.unwrap();
    assert_eq!(m.store.live_agents().await.unwrap(), vec![a]);
}

/// Tenants are served by the default group until assigned; an assignment can change.
pub async fn tenant_groups(m: &MetadataParts) {
    let acme = tenant("acme");
    assert_eq!(m.store.tenant_group(&acme).await.unwrap(), DEFAULT_GROUP);
    m.store.set_tenant_group(&acme, "analytics").await.unwrap();
    assert_eq!(m.store.tenant_group(&acme).await.unwrap(), "analytics");
    assert_eq!(
        m.store.tenant_group(&tenant("other")).await.unwrap(),
        DEFAULT_GROUP
    );
    m.store.set_tenant_group(&acme, "batch").await.unwrap();
    assert_eq!(m.store.tenant_group(&acme).await.unwrap(), "batch");
}
