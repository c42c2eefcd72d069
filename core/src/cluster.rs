//! Cluster membership and partition assignment.
//!
//! Agents heartbeat into the metadata store ([`ClusterStore`]); every agent reads the same
//! list of live agents and computes the same assignment of partitions to agents with
//! rendezvous (highest-random-weight) hashing ([`owner`]), so no coordinator is needed and an
//! agent joining or leaving moves only the partitions it gains or loses. Leases, not the
//! assignment, decide who may write: the assignment only says who should try.

use std::time::Duration;

use async_trait::async_trait;

use crate::metadata::MetadataResult;
use crate::types::{TenantId, TopicId};

/// The agent group of tenants no one assigned to a group.
pub const DEFAULT_GROUP: &str = "default";

/// One live agent process, as it announces itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentInfo {
    /// The process's lease holder id (agent id plus a per-process instance), unique per
    /// process.
    pub holder: String,
    /// The configured agent id.
    pub agent_id: String,
    /// The agent group it serves.
    pub group: String,
    /// Its availability zone (empty when unknown).
    pub zone: String,
    /// The gRPC URL other agents and clients reach it at, such as `http://10.0.3.7:9090`.
    pub addr: String,
}

/// Membership and tenant-to-group assignment, kept in the metadata store. Times are the
/// store's clock, as for leases.
#[async_trait]
pub trait ClusterStore: Send + Sync {
    /// Registers `agent`, or refreshes its registration, for `ttl`.
    async fn heartbeat(&self, agent: &AgentInfo, ttl: Duration) -> MetadataResult<()>;

    /// Agents whose last heartbeat has not expired, ordered by holder.
    async fn live_agents(&self) -> MetadataResult<Vec<AgentInfo>>;

    /// Removes an agent's registration at once (graceful shutdown).
    async fn leave(&self, holder: &str) -> MetadataResult<()>;

    /// Assigns a tenant's topics to an agent group.
    async fn set_tenant_group(&self, tenant: &TenantId, group: &str) -> MetadataResult<()>;

    /// The group serving a tenant: its assignment, or [`DEFAULT_GROUP`].
    async fn tenant_group(&self, tenant: &TenantId) -> MetadataResult<String>;
}

/// The agent of `agents` that should lead a partition: the one with the highest hash of
/// (agent, partition). Deterministic for a given set, and when an agent joins or leaves only
/// the partitions it gains or loses change owner. `None` when `agents` is empty.
pub fn owner(agents: &[AgentInfo], topic_id: TopicId, partition: u32) -> Option<&AgentInfo> {
    agents
        .iter()
        .max_by_key(|a| (weight(&a.agent_id, topic_id, partition), &a.holder))
}

/// Rendezvous weight: 64-bit FNV-1a of the agent id and the partition, finished with a
/// splitmix64 step so nearby partitions spread evenly. Stable across processes and
/// versions (std's hasher is not).
fn weight(agent_id: &str, topic_id: TopicId, partition: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = agent_id
        .as_bytes()
        .iter()
        .copied()
        .chain([0xff])
        .chain(topic_id.to_le_bytes())
        .chain(partition.to_le_bytes());
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agents(ids: &[&str]) -> Vec<AgentInfo> {
        ids.iter()
            .map(|id| AgentInfo {
                holder: format!("{id}/1"),
                agent_id: (*id).to_owned(),
                group: DEFAULT_GROUP.into(),
                zone: String::new(),
                addr: format!("http://{id}:9090"),
            })
            .collect()
    }

    fn assignment(a: &[AgentInfo]) -> Vec<String> {
        (0..3000)
            .map(|p| owner(a, 7, p).unwrap().agent_id.clone())
            .collect()
    }

    #[test]
    fn balanced_and_deterministic() {
        let three = agents(&["a", "b", "c"]);
        let got = assignment(&three);
        for id in ["a", "b", "c"] {
            let n = got.iter().filter(|o| *o == id).count();
            assert!((850..1150).contains(&n), "{id} owns {n} of 3000");
        }
        // The order agents are listed in does not matter.
        let mut reversed = three.clone();
        reversed.reverse();
        assert_eq!(assignment(&reversed), got);
        assert!(owner(&[], 7, 0).is_none());
    }

    #[test]
    fn joining_or_leaving_moves_only_its_partitions() {
        let before = assignment(&agents(&["a", "b", "c"]));
        let joined = assignment(&agents(&["a", "b", "c", "d"]));
        for (b, j) in before.iter().zip(&joined) {
            assert!(b == j || j == "d", "{b} -> {j}");
        }
        let moved = joined.iter().filter(|j| *j == "d").count();
        assert!(
            (600..900).contains(&moved),
            "{moved} moved to the new agent"
        );
        let left = assignment(&agents(&["a", "c"]));
        for (b, l) in before.iter().zip(&left) {
            assert!(b == l || b == "b", "{b} -> {l}");
        }
    }
}
