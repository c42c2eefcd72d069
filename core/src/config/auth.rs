//! `[auth]` and `[tls]`: who may call an agent, and over what.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[auth]`: API keys on every RPC, and the secret agents prove to one another.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `auto`, `api_key` or `none` (see [`AuthMode`]). Default `auto`.
    pub mode: AuthMode,
    /// A secret every agent of the cluster shares: forwarded produces and zone-cache chunk
    /// requests carry it, and an agent refuses them without it. At least 32 characters;
    /// required with `mode = "api_key"`. Default empty.
    pub cluster_secret: String,
    /// A file holding the cluster secret (such as a mounted Kubernetes Secret), instead of
    /// `cluster_secret`. Default empty.
    pub cluster_secret_file: String,
    /// How long an agent trusts what it read of a key: a revocation takes effect on every
    /// agent within this time. Default 5000.
    pub key_cache_ttl_ms: u64,
}

/// How an agent authenticates requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// Development mode on a loopback listener (requests without a key act for the tenant
    /// of the `x-streamhouse-tenant` header; a request with a key is checked); an agent
    /// listening on any other address refuses to start.
    Auto,
    /// Every request needs a valid API key (`authorization: Bearer shk_...`).
    ApiKey,
    /// No authentication, on any address: for trusted networks only, logged as a warning.
    None,
}

/// Shortest cluster secret accepted: 32 characters of a random string hold well over the 128
/// bits a secret needs.
pub const MIN_CLUSTER_SECRET: usize = 32;

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::Auto,
            cluster_secret: String::new(),
            cluster_secret_file: String::new(),
            key_cache_ttl_ms: 5000,
        }
    }
}

impl AuthConfig {
    /// The cluster secret, read from `cluster_secret_file` when set; `None` when neither is
    /// set.
    pub fn cluster_secret(&self) -> Result<Option<String>, ConfigError> {
        let secret = if self.cluster_secret_file.is_empty() {
            self.cluster_secret.clone()
        } else {
            if !self.cluster_secret.is_empty() {
                return Err(ConfigError(
                    "set auth.cluster_secret or auth.cluster_secret_file, not both".into(),
                ));
            }
            std::fs::read_to_string(&self.cluster_secret_file)
                .map_err(|e| {
                    ConfigError(format!(
                        "cannot read auth.cluster_secret_file {:?}: {e}",
                        self.cluster_secret_file
                    ))
                })?
                .trim()
                .to_owned()
        };
        if secret.is_empty() {
            return Ok(None);
        }
        if secret.len() < MIN_CLUSTER_SECRET {
            return Err(ConfigError(format!(
                "the cluster secret is {} characters long; use at least {MIN_CLUSTER_SECRET} \
                 random ones (for example `openssl rand -hex 32`)",
                secret.len()
            )));
        }
        Ok(Some(secret))
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.key_cache_ttl_ms == 0 || self.key_cache_ttl_ms > 300_000 {
            return Err(ConfigError(format!(
                "auth.key_cache_ttl_ms = {} must be between 1 and 300000 (revocations take \
                 this long to reach every agent)",
                self.key_cache_ttl_ms
            )));
        }
        Ok(())
    }
}

/// `[tls]`: TLS on the gRPC listener, mutual TLS, and TLS between agents.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain of the gRPC listener; with `key_file`, turns TLS on. Both files
    /// are read again when they change, without dropping connections. Default empty.
    pub cert_file: String,
    /// PEM private key of `cert_file`. Default empty.
    pub key_file: String,
    /// PEM CA bundle: when set, clients must present a certificate it signed (mutual TLS),
    /// and this agent presents its own certificate to the agents it forwards to. Default
    /// empty.
    pub client_ca_file: String,
    /// PEM CA bundle other agents' certificates are checked against when this agent calls
    /// them; default `client_ca_file`, else the system's roots.
    pub peer_ca_file: String,
    /// How often the files are checked for changes, in ms. Default 10000.
    pub reload_interval_ms: u64,
}

impl TlsConfig {
    /// Whether the listener serves TLS.
    pub fn enabled(&self) -> bool {
        !self.cert_file.is_empty()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.cert_file.is_empty() != self.key_file.is_empty() {
            return Err(ConfigError(
                "tls.cert_file and tls.key_file go together: set both or neither".into(),
            ));
        }
        if self.reload_interval_ms < 100 {
            return Err(ConfigError(
                "tls.reload_interval_ms must be at least 100".into(),
            ));
        }
        let cas = !(self.client_ca_file.is_empty() && self.peer_ca_file.is_empty());
        if cas && !self.enabled() {
            return Err(ConfigError(
                "tls.client_ca_file and tls.peer_ca_file need tls.cert_file and tls.key_file"
                    .into(),
            ));
        }
        Ok(())
    }
}
