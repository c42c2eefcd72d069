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
    /// Logging.
    pub log: LogConfig,
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
            &[POSTGRES_URL_VAR],
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
