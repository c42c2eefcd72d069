//! Tenants, their API keys, and the audit log, kept in the metadata store
//! ([`TenantStore`], [`AuditStore`]).
//!
//! A tenant has a [`Plan`]; a key belongs to one tenant and carries [`Permissions`] and
//! optional topic-name patterns ([`TopicPatterns`]). Key secrets are generated and checked by
//! [`key`]: the store never sees one.

pub mod key;
mod plan;
pub mod stored;

pub use plan::{Plan, PlanLimits, month_of, month_start_ms, next_month_start_ms};

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;

use crate::metadata::MetadataResult;
use crate::types::{TenantId, ValidationError};

/// A tenant: an organization of the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its id, the namespace of its topics.
    pub id: TenantId,
    /// The name people see (the id when none was given).
    pub name: String,
    /// Its plan.
    pub plan: Plan,
    /// Whether it is in good standing.
    pub status: TenantStatus,
    /// When it was created, ms since the epoch.
    pub created_at_ms: i64,
}

impl Tenant {
    /// An active tenant named after its id.
    pub fn new(id: TenantId, plan: Plan, created_at_ms: i64) -> Self {
        Self {
            name: id.as_str().to_owned(),
            id,
            plan,
            status: TenantStatus::Active,
            created_at_ms,
        }
    }
}

/// Whether a tenant is in good standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TenantStatus {
    /// Everything works.
    Active,
    /// A payment failed; producing still works until the grace period ends.
    PastDue,
    /// An operator (or an unpaid bill past its grace period) stopped its producers.
    Suspended,
}

impl TenantStatus {
    /// The name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Suspended => "suspended",
        }
    }
}

impl FromStr for TenantStatus {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "past_due" => Ok(Self::PastDue),
            "suspended" => Ok(Self::Suspended),
            _ => Err(ValidationError(format!(
                "unknown status {s:?}: use active, past_due or suspended"
            ))),
        }
    }
}

/// What a key may do, as a set of `read`, `write` and `admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u8);

impl Permissions {
    /// Fetch, subscribe, list and describe topics, consumer-group offsets.
    pub const READ: Permissions = Permissions(1);
    /// Produce.
    pub const WRITE: Permissions = Permissions(2);
    /// Create and delete topics.
    pub const ADMIN: Permissions = Permissions(4);

    /// Whether every permission of `other` is in this set.
    pub fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    /// The set as a bit mask, as stored.
    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    /// The set from a stored bit mask, ignoring unknown bits.
    pub fn from_bits(bits: i64) -> Self {
        Permissions((bits & 7) as u8)
    }
}

impl std::ops::BitOr for Permissions {
    type Output = Permissions;
    fn bitor(self, rhs: Self) -> Self {
        Permissions(self.0 | rhs.0)
    }
}

impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (Self::READ, "read"),
            (Self::WRITE, "write"),
            (Self::ADMIN, "admin"),
        ]
        .into_iter()
        .filter(|(p, _)| self.contains(*p))
        .map(|(_, n)| n)
        .collect();
        f.write_str(&names.join(","))
    }
}

impl FromStr for Permissions {
    type Err = ValidationError;
    /// A comma-separated list of `read`, `write`, `admin`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut set = Permissions::default();
        for p in s.split(',').map(str::trim) {
            set = set
                | match p {
                    "read" => Self::READ,
                    "write" => Self::WRITE,
                    "admin" => Self::ADMIN,
                    _ => {
                        return Err(ValidationError(format!(
                            "unknown permission {p:?}: use read, write and admin, \
                             comma-separated"
                        )));
                    }
                };
        }
        Ok(set)
    }
}

/// The topics a key may touch: names matching any of its patterns, where `*` matches any
/// run of characters; no patterns means every topic of the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicPatterns(Vec<String>);

/// Most patterns one key carries.
pub const MAX_TOPIC_PATTERNS: usize = 32;

impl TopicPatterns {
    /// Validates patterns: each 1..=249 characters of topic-name characters and `*`.
    pub fn new(patterns: Vec<String>) -> Result<Self, ValidationError> {
        if patterns.len() > MAX_TOPIC_PATTERNS {
            return Err(ValidationError(format!(
                "a key takes at most {MAX_TOPIC_PATTERNS} topic patterns; {} given",
                patterns.len()
            )));
        }
        for p in &patterns {
            let ok = p
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'*'));
            if p.is_empty() || p.len() > 249 || !ok {
                return Err(ValidationError(format!(
                    "invalid topic pattern {p:?}: use topic-name characters \
                     [a-zA-Z0-9._-] and * for any run of them"
                )));
            }
        }
        Ok(Self(patterns))
    }

    /// The patterns.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Whether `topic` is one the key may touch.
    pub fn allows(&self, topic: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|p| glob(p.as_bytes(), topic.as_bytes()))
    }
}

/// `*`-only glob matching, linear in the input (the greedy backtracking of one star).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// An API key as the store keeps it, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// Its public id, `shk_<12 hex>`.
    pub id: String,
    /// The tenant it acts for.
    pub tenant: TenantId,
    /// A name its owner gave it.
    pub name: String,
    /// What it may do.
    pub permissions: Permissions,
    /// Which topics it may touch.
    pub topics: TopicPatterns,
    /// When it stops working, ms since the epoch; `None` never.
    pub expires_at_ms: Option<i64>,
    /// When it was created.
    pub created_at_ms: i64,
    /// When an agent last saw it used (recorded every few seconds, not per request).
    pub last_used_at_ms: Option<i64>,
    /// When it was revoked.
    pub revoked_at_ms: Option<i64>,
}

impl ApiKeyInfo {
    /// Why the key does not authenticate at `now_ms`, if it does not.
    pub fn unusable(&self, now_ms: i64) -> Option<&'static str> {
        if self.revoked_at_ms.is_some() {
            Some("the API key was revoked")
        } else if self.expires_at_ms.is_some_and(|at| at <= now_ms) {
            Some("the API key has expired")
        } else {
            None
        }
    }
}

/// Longest key name.
pub const MAX_KEY_NAME: usize = 128;

/// An API key row: its description and the hash of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredApiKey {
    /// The key's description.
    pub info: ApiKeyInfo,
    /// HMAC-SHA256 of its secret (see [`key`]).
    pub hash: Vec<u8>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// The tenant concerned, when one is known (a failed authentication has none).
    pub tenant: Option<TenantId>,
    /// Who: an API key id, `agent:<id>`, or `cli:<user>` for the admin commands.
    pub actor: String,
    /// What, such as `key.create`, `topic.delete`, `auth.failed`.
    pub action: String,
    /// What it was done to: a key id, a topic name.
    pub target: String,
    /// From where: the client's address, or the host an admin command ran on.
    pub source: String,
    /// Details, such as why an authentication failed.
    pub detail: String,
}

/// Tenants and their API keys.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Creates a tenant; `AlreadyExists` if its id is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> MetadataResult<()>;

    /// A tenant; `NotFound` if there is none with that id.
    async fn get_tenant(&self, id: &TenantId) -> MetadataResult<Tenant>;

    /// Every tenant, by id.
    async fn list_tenants(&self) -> MetadataResult<Vec<Tenant>>;

    /// Stores a new key; `NotFound` if its tenant does not exist, `AlreadyExists` if its
    /// id is taken.
    async fn create_api_key(&self, key: &StoredApiKey) -> MetadataResult<()>;

    /// A key by id, revoked and expired ones included; `NotFound` if there is none.
    async fn get_api_key(&self, id: &str) -> MetadataResult<StoredApiKey>;

    /// A tenant's keys, revoked ones included, oldest first.
    async fn list_api_keys(&self, tenant: &TenantId) -> MetadataResult<Vec<ApiKeyInfo>>;

    /// Revokes a key at `at_ms` (a second revocation keeps the first time); `NotFound` if
    /// there is none.
    async fn revoke_api_key(&self, id: &str, at_ms: i64) -> MetadataResult<ApiKeyInfo>;

    /// Records when keys were last used: `(id, at_ms)` pairs; a time never moves back.
    async fn record_key_use(&self, used: &[(String, i64)]) -> MetadataResult<()>;

    /// Adds `bytes` to what `tenant` produced in `month` (`YYYY-MM`, UTC) and returns the
    /// month's total, every agent's additions included.
    async fn add_ingress(&self, tenant: &TenantId, month: &str, bytes: u64) -> MetadataResult<u64>;

    /// Bytes of every object of `tenant` in the object store, as written.
    async fn stored_bytes(&self, tenant: &TenantId) -> MetadataResult<u64>;

    /// Changes a tenant's name, plan and status; `NotFound` if it does not exist.
    async fn update_tenant(&self, tenant: &Tenant) -> MetadataResult<()>;

    /// Makes a key stop working at `at_ms` unless it expires sooner (a rotated key's
    /// overlap); `NotFound` if there is none.
    async fn expire_api_key(&self, id: &str, at_ms: i64) -> MetadataResult<ApiKeyInfo>;

    /// What `tenant` produced in `month` (`YYYY-MM`, UTC), as [`Self::add_ingress`] counted it.
    async fn month_ingress(&self, tenant: &TenantId, month: &str) -> MetadataResult<u64>;
}

/// The audit log: who did what, when, from where.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends events.
    async fn append_audit(&self, events: &[AuditEvent]) -> MetadataResult<()>;

    /// The newest `limit` events, of one tenant or of all, newest first.
    async fn audit_log(
        &self,
        tenant: Option<&TenantId>,
        limit: u32,
    ) -> MetadataResult<Vec<AuditEvent>>;
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn patterns_match_with_stars() {
        let p =
            TopicPatterns::new(vec!["orders-*".into(), "*.audit".into(), "a*b*c".into()]).unwrap();
        for ok in ["orders-", "orders-eu", "x.audit", "abc", "aXbYc", "abbc"] {
            assert!(p.allows(ok), "{ok}");
        }
        for no in ["order", "payments", "x.audits", "ab", "acb"] {
            assert!(!p.allows(no), "{no}");
        }
        assert!(TopicPatterns::default().allows("anything"));
        assert!(TopicPatterns::new(vec!["a/b".into()]).is_err());
        assert!(TopicPatterns::new(vec![String::new()]).is_err());
    }

    #[test]
    fn permissions_parse_and_print() {
        let p: Permissions = "read, write".parse().unwrap();
        assert!(p.contains(Permissions::READ) && p.contains(Permissions::WRITE));
        assert!(!p.contains(Permissions::ADMIN));
        assert_eq!(p.to_string(), "read,write");
        assert_eq!(Permissions::from_bits(p.bits()), p);
        assert!("root".parse::<Permissions>().is_err());
        assert_eq!("growth".parse::<Plan>().unwrap(), Plan::Growth);
    }

    proptest! {
        /// The glob agrees with a regular expression built from the pattern.
        #[test]
        fn glob_agrees_with_a_naive_matcher(p in "[ab*]{0,8}", t in "[ab]{0,10}") {
            fn naive(p: &[u8], t: &[u8]) -> bool {
                match p.split_first() {
                    None => t.is_empty(),
                    Some((b'*', rest)) => (0..=t.len()).any(|i| naive(rest, &t[i..])),
                    Some((c, rest)) => t.first() == Some(c) && naive(rest, &t[1..]),
                }
            }
            prop_assert_eq!(glob(p.as_bytes(), t.as_bytes()), naive(p.as_bytes(), t.as_bytes()));
        }
    }
}
