//! Cluster membership and partition assignment.
//!
//! Agents heartbeat into the metadata store ([`ClusterStore`]); every agent reads the same
//! list of live agents and computes the same assignment of a topic's partitions to agents
//! ([`assign`]): rendezvous (highest-random-weight) hashing with bounded loads, so no
//! coordinator is needed, every agent leads its fair share (at most one partition more than
//! another), and an agent joining or leaving moves few partitions besides the ones it gains or
//! loses. Leases, not the assignment, decide who may write: the assignment only says who
//! should try.

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

    /// Each live agent's last heartbeat and the unexpired partition leases it holds, by
    /// holder.
    async fn agent_loads(&self) -> MetadataResult<Vec<AgentLoad>>;
}

/// A live agent's last heartbeat and lease count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLoad {
    /// The process's lease-holder id.
    pub holder: String,
    /// When it last heartbeat, ms since the epoch (the store's clock).
    pub heartbeat_at_ms: i64,
    /// Unexpired partition leases it holds.
    pub leases: u64,
}

/// The owner of each of a topic's `partitions`, as an index into `agents` (which must not be
/// empty). Taking partitions in order, each goes to the agent with the highest hash of
/// (agent, partition) that still has room: every agent gets `partitions / agents` partitions,
/// and `partitions % agents` of them one more (consistent hashing with bounded loads).
/// Deterministic for a given set of agents, whatever their order.
pub fn assign(agents: &[AgentInfo], topic_id: TopicId, partitions: u32) -> Vec<usize> {
    assert!(!agents.is_empty(), "assign needs at least one agent");
    let floor = partitions as usize / agents.len();
    // How many agents may still take one partition above `floor`.
    let mut extra = partitions as usize % agents.len();
    let mut load = vec![0usize; agents.len()];
    let mut ranked: Vec<usize> = (0..agents.len()).collect();
    (0..partitions)
        .map(|p| {
            ranked.sort_by_key(|&i| {
                std::cmp::Reverse((weight(&agents[i].agent_id, topic_id, p), &agents[i].holder))
            });
            let owner = *ranked
                .iter()
                .find(|&&i| load[i] < floor || (load[i] == floor && extra > 0))
                .expect("the room left equals the partitions left");
            if load[owner] == floor {
                extra -= 1;
            }
            load[owner] += 1;
            owner
        })
        .collect()
}

/// Rendezvous weight of an agent for one partition.
fn weight(agent_id: &str, topic_id: TopicId, partition: u32) -> u64 {
    stable_hash(
        agent_id
            .as_bytes()
            .iter()
            .copied()
            .chain([0xff])
            .chain(topic_id.to_le_bytes())
            .chain(partition.to_le_bytes()),
    )
}

/// The agent of `zone` among `agents` that fetches and caches chunk `index` of object `key`
/// for its whole zone (rendezvous hashing: when an agent leaves, only its chunks move), or
/// `None` when no agent is in that zone.
pub fn chunk_owner<'a>(
    agents: &'a [AgentInfo],
    zone: &str,
    key: &str,
    index: u64,
) -> Option<&'a AgentInfo> {
    agents.iter().filter(|a| a.zone == zone).max_by_key(|a| {
        let w = stable_hash(
            a.agent_id
                .as_bytes()
                .iter()
                .copied()
                .chain([0xff])
                .chain(key.as_bytes().iter().copied())
                .chain(index.to_le_bytes()),
        );
        (w, &a.holder)
    })
}

/// 64-bit FNV-1a, finished with a splitmix64 step so nearby inputs spread evenly. Stable
/// across processes and versions (std's hasher is not), so agents agree on it.
fn stable_hash(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
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

    fn owners(a: &[AgentInfo], partitions: u32) -> Vec<String> {
        assign(a, 7, partitions)
            .into_iter()
            .map(|i| a[i].agent_id.clone())
            .collect()
    }

    #[test]
    fn balanced_and_deterministic() {
        for (n, ids) in [
            (6, vec!["a", "b", "c"]),
            (7, vec!["a", "b", "c"]),
            (3000, vec!["a", "b", "c", "d"]),
        ] {
            let a = agents(&ids);
            let got = owners(&a, n);
            let fair = (n as usize).div_ceil(ids.len());
            for id in &ids {
                let k = got.iter().filter(|o| o == id).count();
                assert!(k == fair || k + 1 == fair, "{id} owns {k} of {n}");
            }
            // The order agents are listed in does not matter.
            let mut reversed = a.clone();
            reversed.reverse();
            assert_eq!(owners(&reversed, n), got);
        }
    }

    #[test]
    fn joining_or_leaving_moves_few_partitions() {
        let n = 3000;
        let before = owners(&agents(&["a", "b", "c"]), n);
        let joined = owners(&agents(&["a", "b", "c", "d"]), n);
        let moved = before.iter().zip(&joined).filter(|(b, j)| b != j).count();
        // The new agent's fair share must move to it; little else moves.
        assert!(
            moved <= 750 * 13 / 10,
            "{moved} of {n} moved when one agent joined"
        );
        let left = owners(&agents(&["a", "c"]), n);
        let moved = before.iter().zip(&left).filter(|(b, l)| b != l).count();
        // The leaving agent's share must move; little else moves.
        assert!(
            moved <= 1000 * 13 / 10,
            "{moved} of {n} moved when one agent left"
        );
    }

    #[test]
    fn chunks_have_one_owner_per_zone_and_spread_over_its_agents() {
        let mut a = agents(&["a", "b", "c", "d"]);
        a[3].zone = "z2".into();
        let mut count = std::collections::HashMap::new();
        for i in 0..3000u64 {
            let owner = chunk_owner(&a, "", "tenants/t/objects/x.sho", i).unwrap();
            assert_eq!(owner.zone, "", "owned within the zone asked for");
            *count.entry(owner.agent_id.clone()).or_insert(0) += 1;
            let z2 = chunk_owner(&a, "z2", "tenants/t/objects/x.sho", i).unwrap();
            assert_eq!(z2.agent_id, "d");
        }
        for id in ["a", "b", "c"] {
            assert!((800..1200).contains(&count[id]), "{id} owns {}", count[id]);
        }
        assert!(chunk_owner(&a, "z3", "k", 0).is_none());
        // When an agent leaves, only its chunks move.
        let left: Vec<_> = a.iter().filter(|x| x.agent_id != "b").cloned().collect();
        for i in 0..300u64 {
            let before = chunk_owner(&a, "", "k", i).unwrap();
            let after = chunk_owner(&left, "", "k", i).unwrap();
            if before.agent_id != "b" {
                assert_eq!(before.agent_id, after.agent_id);
            }
        }
    }
}
