//! Who a request acts for, and whether it may: API keys on every RPC, the cluster secret
//! between agents, and development mode.
//!
//! [`Authenticator::principal`] reads a request's `authorization: Bearer shk_...` header,
//! checks the key against its hash (the key's row is cached for `auth.key_cache_ttl_ms`, so
//! authentication costs no query per request and a revocation reaches every agent within
//! that time) and yields a [`Principal`]; each RPC then asks it for the permission it needs
//! on the topic it names. Requests another agent sends (forwarded produces, zone-cache chunk
//! reads) carry the cluster secret instead ([`ClusterAuth`]).

mod audit;

pub use audit::{Audit, AuditMetrics, log as log_audit_event};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use streamhouse_core::clock::now_ms;
use streamhouse_core::tenancy::key::{PresentedKey, secrets_equal};
use streamhouse_core::tenancy::{Permissions, StoredApiKey};
use streamhouse_core::{MetadataError, MetadataStore, TenantId, TopicName};
use streamhouse_proto::TENANT_HEADER;
use tokio::sync::{Semaphore, watch};
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tracing::warn;

use crate::error::{AgentError, AgentResult};
use crate::ttl_cache::TtlCache;

/// Carries the cluster secret on requests between agents.
pub const CLUSTER_AUTH_HEADER: &str = "x-streamhouse-cluster-auth";

/// Most key rows cached at once (unknown ids included, so guessing cannot grow it).
const KEY_CACHE_CAPACITY: usize = 100_000;
/// Most key lookups the cache missed that query the store at once: a flood of made-up keys
/// costs the store this many queries at a time, not one per request.
const LOOKUPS_AT_ONCE: usize = 4;
/// How often last-used times are written.
const KEY_USE_INTERVAL: Duration = Duration::from_secs(10);

/// How this agent treats requests without a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPolicy {
    /// Every request needs a key.
    Required,
    /// A request without a key acts for the tenant it names (development mode); a key, when
    /// sent, is checked.
    Optional,
}

/// What a request is allowed to act as.
#[derive(Debug, Clone)]
pub enum Principal {
    /// Development mode without a key: the tenant the request names, every permission.
    Anonymous(TenantId),
    /// A client with an API key (the cached row: nothing is copied per request).
    Key(Arc<StoredApiKey>),
    /// Another agent of the cluster, forwarding for a tenant whose key it checked.
    Agent(TenantId),
}

impl Principal {
    /// The tenant the request acts for.
    pub fn tenant(&self) -> &TenantId {
        match self {
            Principal::Anonymous(t) | Principal::Agent(t) => t,
            Principal::Key(k) => &k.info.tenant,
        }
    }

    /// Who, for the audit log.
    pub fn actor(&self) -> String {
        match self {
            Principal::Anonymous(_) => "anonymous".into(),
            Principal::Key(k) => k.info.id.clone(),
            Principal::Agent(_) => "agent".into(),
        }
    }

    /// Refuses unless the principal holds `need` on `topic` (any topic when `None`). The
    /// message names the key and what it lacks, never whether the topic exists.
    pub fn check(&self, need: Permissions, topic: Option<&TopicName>) -> AgentResult<()> {
        let Principal::Key(k) = self else {
            return Ok(());
        };
        let k = &k.info;
        if !k.permissions.contains(need) {
            return Err(AgentError::PermissionDenied(format!(
                "API key {} has the permissions [{}]; this call needs {need}",
                k.id, k.permissions
            )));
        }
        if let Some(t) = topic
            && !k.topics.allows(t.as_str())
        {
            return Err(AgentError::PermissionDenied(format!(
                "API key {} may touch only topics matching {:?}, not {:?}",
                k.id,
                k.topics.as_slice(),
                t.as_str()
            )));
        }
        Ok(())
    }

    /// Whether a listing may show `topic` to this principal.
    pub fn sees(&self, topic: &TopicName) -> bool {
        match self {
            Principal::Key(k) => k.info.topics.allows(topic.as_str()),
            _ => true,
        }
    }
}

/// A key row as cached: `None` when no key has that id.
type Cached = Option<Arc<StoredApiKey>>;

/// Authenticates requests; one per agent.
#[derive(Debug)]
pub struct Authenticator {
    policy: KeyPolicy,
    store: Arc<dyn MetadataStore>,
    keys: Mutex<TtlCache<String, Cached>>,
    lookups: Semaphore,
    cluster_secret: Option<String>,
    /// Keys used since the last write of last-used times, with when.
    used: Mutex<HashMap<String, i64>>,
    audit: Arc<Audit>,
}

impl Authenticator {
    /// Authenticates with keys from `store`, cached for `key_ttl`; `cluster_secret` is what
    /// other agents must prove, when there is one.
    pub fn new(
        policy: KeyPolicy,
        store: Arc<dyn MetadataStore>,
        key_ttl: Duration,
        cluster_secret: Option<String>,
        audit: Arc<Audit>,
    ) -> Self {
        Self {
            policy,
            store,
            keys: Mutex::new(TtlCache::new(key_ttl, KEY_CACHE_CAPACITY)),
            lookups: Semaphore::new(LOOKUPS_AT_ONCE),
            cluster_secret,
            used: Mutex::new(HashMap::new()),
            audit,
        }
    }

    /// The audit log this agent writes to.
    pub fn audit(&self) -> &Arc<Audit> {
        &self.audit
    }

    /// Who a client request acts for. A failure is audited and answered `UNAUTHENTICATED`
    /// (`PERMISSION_DENIED` for a key used with another tenant's header).
    pub async fn principal(
        &self,
        md: &MetadataMap,
        from: Option<SocketAddr>,
    ) -> AgentResult<Principal> {
        let result = self.authenticate(md).await;
        if let Err((actor, e)) = &result {
            self.audit.failed_auth(actor, from, e);
        }
        result.map_err(|(_, e)| e)
    }

    async fn authenticate(&self, md: &MetadataMap) -> Result<Principal, (String, AgentError)> {
        let named = named_tenant(md).map_err(|e| ("anonymous".to_owned(), e))?;
        let Some(header) = md.get("authorization") else {
            return match self.policy {
                KeyPolicy::Optional => Ok(Principal::Anonymous(
                    named.unwrap_or_else(TenantId::default_tenant),
                )),
                KeyPolicy::Required => Err((
                    "anonymous".into(),
                    unauthenticated(
                        "this agent requires an API key: send `authorization: Bearer shk_...` \
                         (the CLI's --api-key or STREAMHOUSE_API_KEY)",
                    ),
                )),
            };
        };
        let bearer = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| {
                (
                    "anonymous".to_owned(),
                    unauthenticated("the authorization header must read `Bearer <API key>`"),
                )
            })?;
        let key = PresentedKey::parse(bearer.trim())
            .map_err(|e| ("anonymous".to_owned(), unauthenticated(&e.to_string())))?;
        let actor = key.id.to_owned();
        let fail = |e: AgentError| (actor.clone(), e);
        let stored = self.lookup(key.id).await.map_err(fail)?;
        let invalid = || {
            fail(unauthenticated(&format!(
                "API key {} is not valid: no such key, or a wrong secret",
                key.id
            )))
        };
        let stored = stored.ok_or_else(invalid)?;
        if !key.verify(&stored.hash) {
            return Err(invalid());
        }
        let now = now_ms();
        if let Some(why) = stored.info.unusable(now) {
            return Err(fail(unauthenticated(&format!("{why} ({})", key.id))));
        }
        if let Some(t) = named
            && t != stored.info.tenant
        {
            return Err(fail(AgentError::PermissionDenied(format!(
                "API key {} acts for its own tenant; drop the {TENANT_HEADER} header naming \
                 another",
                key.id
            ))));
        }
        let mut used = self.used.lock().expect("poisoned");
        match used.get_mut(key.id) {
            Some(at) => *at = now,
            None => {
                used.insert(key.id.to_owned(), now);
            }
        }
        drop(used);
        Ok(Principal::Key(stored))
    }

    /// A key's row: from the cache, else from the store (at most [`LOOKUPS_AT_ONCE`] at a
    /// time), caching an unknown id too.
    async fn lookup(&self, id: &str) -> AgentResult<Cached> {
        if let Some(c) = self.cached(id) {
            self.audit.metrics.key_lookups("hit");
            return Ok(c);
        }
        let _slot = self.lookups.acquire().await.expect("never closed");
        // Another request may have loaded it while this one waited.
        if let Some(c) = self.cached(id) {
            self.audit.metrics.key_lookups("hit");
            return Ok(c);
        }
        self.audit.metrics.key_lookups("miss");
        let row = match self.store.get_api_key(id).await {
            Ok(k) => Some(Arc::new(k)),
            Err(MetadataError::NotFound(_)) => None,
            Err(e) => {
                return Err(AgentError::Unavailable(format!(
                    "cannot check the API key now ({e}); retry"
                )));
            }
        };
        self.keys
            .lock()
            .expect("poisoned")
            .insert(id.to_owned(), row.clone());
        Ok(row)
    }

    fn cached(&self, id: &str) -> Option<Cached> {
        self.keys.lock().expect("poisoned").get(id).cloned()
    }

    /// Who a request from another agent acts for: it must carry the cluster secret (when
    /// this cluster has one; without, only in development mode) and name its tenant.
    pub fn agent_principal(&self, md: &MetadataMap) -> AgentResult<Principal> {
        self.check_agent(md)?;
        Ok(Principal::Agent(
            named_tenant(md)?.unwrap_or_else(TenantId::default_tenant),
        ))
    }

    /// Refuses a request that claims to come from another agent without proving it.
    pub fn check_agent(&self, md: &MetadataMap) -> AgentResult<()> {
        let proof = md
            .get(CLUSTER_AUTH_HEADER)
            .map(AsciiMetadataValue::as_bytes);
        let ok = match (&self.cluster_secret, proof) {
            (Some(secret), Some(p)) => secrets_equal(secret.as_bytes(), p),
            (Some(_), None) => false,
            (None, _) => self.policy == KeyPolicy::Optional,
        };
        if ok {
            return Ok(());
        }
        self.audit.failed_auth(
            "anonymous",
            None,
            &unauthenticated("an agent-to-agent call without the cluster secret"),
        );
        Err(unauthenticated(
            "only agents of this cluster make this call (it carries the cluster secret, \
             auth.cluster_secret); clients must not set x-streamhouse-forwarded-by",
        ))
    }

    /// Writes last-used times every [`KEY_USE_INTERVAL`] until `stop` flips, then once more.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let stopping = tokio::select! {
                _ = tokio::time::sleep(KEY_USE_INTERVAL) => false,
                _ = stop.wait_for(|s| *s) => true,
            };
            let used: Vec<(String, i64)> = self.used.lock().expect("poisoned").drain().collect();
            if let Err(e) = self.store.record_key_use(&used).await {
                warn!("cannot record when API keys were last used: {e}");
            }
            if stopping {
                return;
            }
        }
    }
}

/// The tenant the `x-streamhouse-tenant` header names, if any.
fn named_tenant(md: &MetadataMap) -> AgentResult<Option<TenantId>> {
    let Some(v) = md.get(TENANT_HEADER) else {
        return Ok(None);
    };
    let s = v.to_str().map_err(|_| {
        AgentError::InvalidArgument(format!("the {TENANT_HEADER} header is not text"))
    })?;
    Ok(Some(TenantId::new(s)?))
}

fn unauthenticated(msg: &str) -> AgentError {
    AgentError::Unauthenticated(msg.to_owned())
}

/// Adds the cluster secret to every request an agent sends another.
#[derive(Debug, Clone, Default)]
pub struct ClusterAuth(Option<AsciiMetadataValue>);

impl ClusterAuth {
    /// Sends `secret`, or nothing when there is none.
    pub fn new(secret: Option<&str>) -> anyhow::Result<Self> {
        Ok(Self(
            secret
                .map(|s| {
                    s.parse()
                        .map_err(|_| anyhow::anyhow!("the cluster secret must be printable ASCII"))
                })
                .transpose()?,
        ))
    }
}

impl tonic::service::Interceptor for ClusterAuth {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(s) = &self.0 {
            req.metadata_mut().insert(CLUSTER_AUTH_HEADER, s.clone());
        }
        Ok(req)
    }
}
