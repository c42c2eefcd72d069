//! Where the CLI connects, and as whom.

use anyhow::Context;
use clap::Args;
use streamhouse_client::{Certificate, Client, ClientTlsConfig, ConnectOptions, Identity};

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
    /// PEM CA bundle to check the agents' certificates against (with an `https://` address;
    /// the system's roots without it).
    #[arg(long, global = true, env = "STREAMHOUSE_TLS_CA")]
    pub tls_ca: Option<std::path::PathBuf>,
    /// PEM client certificate, for agents that require mutual TLS (with --tls-key).
    #[arg(
        long,
        global = true,
        env = "STREAMHOUSE_TLS_CERT",
        requires = "tls_key"
    )]
    pub tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(
        long,
        global = true,
        env = "STREAMHOUSE_TLS_KEY",
        requires = "tls_cert"
    )]
    pub tls_key: Option<std::path::PathBuf>,
    /// Spread requests over every agent serving the tenant, as `DescribeCluster` lists them.
    #[arg(long, global = true)]
    pub cluster: bool,
    /// With --cluster, use only the agents in this availability zone when there are any.
    #[arg(long, global = true, env = "STREAMHOUSE_ZONE", default_value = "")]
    pub zone: String,
}

impl Target {
    /// The TLS settings the flags ask for, if any.
    fn tls(&self) -> anyhow::Result<Option<ClientTlsConfig>> {
        let read = |p: &std::path::Path, flag: &str| {
            std::fs::read(p).with_context(|| format!("{flag} {}", p.display()))
        };
        let mut tls = ClientTlsConfig::new();
        let mut any = false;
        if let Some(ca) = &self.tls_ca {
            tls = tls.ca_certificate(Certificate::from_pem(read(ca, "--tls-ca")?));
            any = true;
        } else {
            tls = tls.with_native_roots();
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            tls = tls.identity(Identity::from_pem(
                read(cert, "--tls-cert")?,
                read(key, "--tls-key")?,
            ));
            any = true;
        }
        Ok(any.then_some(tls))
    }

    /// A new connection (or, with --cluster, a new set of them).
    pub async fn connect(&self) -> anyhow::Result<Client> {
        let options = ConnectOptions {
            api_key: self.api_key.clone(),
            tenant: self.tenant.clone(),
            tls: self.tls()?,
        };
        if self.cluster {
            let seeds: Vec<&str> = self.addr.split(',').map(str::trim).collect();
            return Ok(Client::connect_cluster_with(&seeds, &options, &self.zone).await?);
        }
        Ok(Client::connect_with(&self.addr, &options).await?)
    }
}
