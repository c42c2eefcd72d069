//! Where the CLI connects, and as whom.

use clap::Args;
use streamhouse_client::{Client, ConnectOptions};

/// Connection options shared by every command.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Agent address; with --cluster, comma-separated seed addresses (any agents, or a load
    /// balancer).
    #[arg(
        long,
        global = true,
        env = "STREAMHOUSE_ADDR",
        default_value = "http://127.0.0.1:9090"
    )]
    pub addr: String,
    /// API key (`shk_...`) to authenticate with; the agent acts for its tenant.
    #[arg(
        long,
        global = true,
        env = "STREAMHOUSE_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
    /// Tenant to act for without a key (development mode).
    #[arg(long, global = true, env = "STREAMHOUSE_TENANT")]
    pub tenant: Option<String>,
    /// Spread requests over every agent serving the tenant, as `DescribeCluster` lists them.
    #[arg(long, global = true)]
    pub cluster: bool,
    /// With --cluster, use only the agents in this availability zone when there are any.
    #[arg(long, global = true, env = "STREAMHOUSE_ZONE", default_value = "")]
    pub zone: String,
}

impl Target {
    /// A new connection (or, with --cluster, a new set of them).
    pub async fn connect(&self) -> anyhow::Result<Client> {
        let options = ConnectOptions {
            api_key: self.api_key.clone(),
            tenant: self.tenant.clone(),
        };
        if self.cluster {
            let seeds: Vec<&str> = self.addr.split(',').map(str::trim).collect();
            return Ok(Client::connect_cluster_with(&seeds, &options, &self.zone).await?);
        }
        Ok(Client::connect_with(&self.addr, &options).await?)
    }
}
