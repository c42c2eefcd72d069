//! The control plane's configuration: built-in defaults, then a TOML file, then environment
//! variables (`STREAMHOUSE_<SECTION>__<KEY>` and `POSTGRES_URL`), by the same mechanism as
//! the agent's ([`streamhouse_core::config::load_layers`]).

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use streamhouse_core::config::{
    AGENT_ONLY_SECTIONS, AuthConfig, BackendSection, ConfigError, LogConfig, POSTGRES_URL_VAR,
    load_layers,
};

/// The whole control-plane configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The HTTP server and its sessions.
    pub control_plane: ServerConfig,
    /// The metadata backend: the same section, and the same database, as the agents'.
    pub metadata: BackendSection,
    /// How the control plane reaches agents (to read messages for the message browser).
    pub agents: AgentsConfig,
    /// Stripe billing; off without an API key.
    pub stripe: StripeConfig,
    /// Logging.
    pub log: LogConfig,
}

/// `[stripe]`: billing through Stripe.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeConfig {
    /// The secret API key (`sk_live_...`); `STRIPE_KEY` sets it. Empty: billing is off.
    pub api_key: String,
    /// A file holding the key instead (a mounted secret). Default empty.
    pub api_key_file: String,
    /// The API's base URL. Default `https://api.stripe.com`.
    pub api_base: String,
    /// The publishable key (`pk_live_...`) the dashboard's card form uses with Stripe.js.
    /// Default empty: the dashboard has no card form.
    pub publishable_key: String,
    /// Where the dashboard loads Stripe.js from. Default `https://js.stripe.com/v3/`.
    pub js_url: String,
    /// The webhook endpoint's signing secret (`whsec_...`). Default empty.
    pub webhook_secret: String,
    /// A file holding it instead. Default empty.
    pub webhook_secret_file: String,
    /// The currency of plans and invoice items. Default `usd`.
    pub currency: String,
    /// What a GB produced beyond the plan's monthly ingress costs, in cents. Default 9.
    pub ingress_overage_cents_per_gb: u64,
    /// What a GB-month stored beyond the plan's storage costs, in cents. Default 3.
    pub storage_overage_cents_per_gb_month: u64,
    /// How often the billing job runs, in ms. Default 60000.
    pub job_interval_ms: u64,
    /// How long an organization may stay past due before it is suspended, in ms. Default
    /// 604800000 (7 days).
    pub grace_period_ms: i64,
    /// How long after a month ends its overage is billed (usage written late is in by then),
    /// in ms. Default 3600000.
    pub period_close_delay_ms: i64,
}

impl Default for StripeConfig {
    fn default() -> Self {
        Self {
            api_key: String::new(),
            api_key_file: String::new(),
            api_base: "https://api.stripe.com".into(),
            publishable_key: String::new(),
            js_url: "https://js.stripe.com/v3/".into(),
            webhook_secret: String::new(),
            webhook_secret_file: String::new(),
            currency: "usd".into(),
            ingress_overage_cents_per_gb: 9,
            storage_overage_cents_per_gb_month: 3,
            job_interval_ms: 60_000,
            grace_period_ms: 7 * 86_400_000,
            period_close_delay_ms: 3_600_000,
        }
    }
}

/// A secret from its value or its file (trimmed); naming both is an error.
fn secret(value: &str, file: &str, key: &str) -> Result<String, ConfigError> {
    match (value.is_empty(), file.is_empty()) {
        (_, true) => Ok(value.to_owned()),
        (true, false) => std::fs::read_to_string(file)
            .map(|s| s.trim().to_owned())
            .map_err(|e| ConfigError(format!("cannot read stripe.{key}_file {file:?}: {e}"))),
        (false, false) => Err(ConfigError(format!(
            "set stripe.{key} or stripe.{key}_file, not both"
        ))),
    }
}

impl StripeConfig {
    /// The settings with the secrets read from their files; `None` when billing is off.
    pub fn resolved(&self) -> Result<Option<StripeConfig>, ConfigError> {
        let key = secret(&self.api_key, &self.api_key_file, "api_key")?;
        if key.is_empty() {
            return Ok(None);
        }
        let webhook = secret(
            &self.webhook_secret,
            &self.webhook_secret_file,
            "webhook_secret",
        )?;
        if webhook.is_empty() {
            return Err(ConfigError(
                "stripe.webhook_secret is required with an API key: Stripe's events are \
                 checked with it"
                    .into(),
            ));
        }
        if self.job_interval_ms < 100 || self.grace_period_ms < 0 {
            return Err(ConfigError(
                "stripe.job_interval_ms must be at least 100 and stripe.grace_period_ms not \
                 negative"
                    .into(),
            ));
        }
        Ok(Some(StripeConfig {
            api_key: key,
            api_key_file: String::new(),
            webhook_secret: webhook,
            webhook_secret_file: String::new(),
            ..self.clone()
        }))
    }
}

/// `[control_plane]`: the HTTP server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address of the REST API, `/healthz`, `/readyz` and `/metrics`. Default
    /// `127.0.0.1:8080`.
    pub http_addr: SocketAddr,
    /// Whether session cookies carry `Secure` (sent over HTTPS only; browsers treat
    /// `localhost` as secure). Default true.
    pub secure_cookies: bool,
    /// How long a browser session lasts, in ms. Default 43200000 (12 hours).
    pub session_ttl_ms: i64,
    /// Largest request body, in bytes; larger ones are refused with 413. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Sign-in attempts one email address, or one client address, may make per minute;
    /// more are refused with 429. Default 10.
    pub sign_in_attempts_per_minute: u32,
    /// Whether anyone may sign up (creating an organization on the Starter plan). Default
    /// true.
    pub allow_sign_up: bool,
    /// Most partitions a topic created here may have (the agents' own limit). Default 4096.
    pub max_partitions_per_topic: u32,
}

/// `[agents]`: calls to the agents.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsConfig {
    /// The agents' `auth.cluster_secret`: the control plane reads a tenant's messages with
    /// it. Default empty (agents in development mode).
    pub cluster_secret: String,
    /// A file holding the cluster secret instead. Default empty.
    pub cluster_secret_file: String,
}

impl AgentsConfig {
    /// The cluster secret, read from its file when one is named.
    pub fn cluster_secret(&self) -> Result<Option<String>, ConfigError> {
        AuthConfig {
            cluster_secret: self.cluster_secret.clone(),
            cluster_secret_file: self.cluster_secret_file.clone(),
            ..AuthConfig::default()
        }
        .cluster_secret()
        .map_err(|e| ConfigError(e.0.replace("auth.", "agents.")))
    }
}

impl Default for Config {
    /// The embedded default: the agent's SQLite database under `./data`, HTTP on
    /// 127.0.0.1:8080.
    fn default() -> Self {
        Self {
            control_plane: ServerConfig {
                http_addr: ([127, 0, 0, 1], 8080).into(),
                secure_cookies: true,
                session_ttl_ms: 12 * 3_600_000,
                max_body_bytes: 1 << 20,
                sign_in_attempts_per_minute: 10,
                allow_sign_up: true,
                max_partitions_per_topic: 4096,
            },
            metadata: BackendSection::new("metadata", "sqlite"),
            agents: AgentsConfig::default(),
            stripe: StripeConfig::default(),
            log: streamhouse_core::config::Config::default().log,
        }
    }
}

impl Config {
    /// Loads defaults, then `file` (if given), then the environment `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut cfg: Config = load_layers(
            &Config::default(),
            file,
            env,
            &[POSTGRES_URL_VAR, ("STRIPE_KEY", "stripe.api_key", None)],
            AGENT_ONLY_SECTIONS,
        )?;
        cfg.metadata.section = "metadata".into();
        let s = &cfg.control_plane;
        if s.session_ttl_ms < 60_000 {
            return Err(ConfigError(
                "control_plane.session_ttl_ms must be at least 60000".into(),
            ));
        }
        if s.max_body_bytes < 1024 {
            return Err(ConfigError(
                "control_plane.max_body_bytes must be at least 1024".into(),
            ));
        }
        if s.sign_in_attempts_per_minute == 0 || s.max_partitions_per_topic == 0 {
            return Err(ConfigError(
                "control_plane.sign_in_attempts_per_minute and max_partitions_per_topic must \
                 be at least 1"
                    .into(),
            ));
        }
        cfg.agents.cluster_secret()?;
        cfg.stripe.resolved()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn postgres_url_applies_only_to_a_postgres_backend() {
        let c = Config::load(None, env(&[("POSTGRES_URL", "postgres://x/db")])).unwrap();
        assert_eq!(c.metadata.backend, "sqlite");
        assert!(!c.metadata.options.contains_key("url"));
        let c = Config::load(
            None,
            env(&[
                ("STREAMHOUSE_METADATA__BACKEND", "postgres"),
                ("POSTGRES_URL", "postgres://x/db"),
                ("STREAMHOUSE_CONTROL_PLANE__HTTP_ADDR", "0.0.0.0:8080"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.metadata.options["url"].as_str(),
            Some("postgres://x/db"),
            "{c:?}"
        );
        assert_eq!(c.control_plane.http_addr.port(), 8080);
    }

    #[test]
    fn the_agents_variables_are_left_to_the_agent() {
        let c = Config::load(
            None,
            env(&[
                ("STREAMHOUSE_AGENT__GRPC_ADDR", "127.0.0.1:1"),
                ("STREAMHOUSE_METERING__ENABLED", "false"),
                ("STREAMHOUSE_LOG__LEVEL", "debug"),
            ]),
        )
        .unwrap();
        assert_eq!(c.log.level, "debug", "shared sections are read");
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let e =
            Config::load(None, env(&[("STREAMHOUSE_CONTROL_PLANE__HTTP_PORT", "1")])).unwrap_err();
        assert!(e.0.contains("http_port"), "{e}");
        let e = Config::load(
            None,
            env(&[("STREAMHOUSE_AGENTS__CLUSTER_SECRET", "short")]),
        )
        .unwrap_err();
        assert!(e.0.contains("at least 32"), "{e}");
    }
}
