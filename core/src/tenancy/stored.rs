//! Decoding tenant, key and audit rows of the SQL backends (see [`crate::stored`]).

use super::{
    ApiKeyInfo, AuditEvent, Permissions, Plan, StoredApiKey, Tenant, TenantStatus, TopicPatterns,
};
use crate::metadata::{MetadataError, MetadataResult};
use crate::stored::StoredRow;
use crate::types::TenantId;

fn corrupt(what: &str, e: impl std::fmt::Display) -> MetadataError {
    MetadataError::Other {
        message: format!("corrupt {what} row: {e}"),
        source: None,
    }
}

fn tenant_id(s: String) -> MetadataResult<TenantId> {
    TenantId::new(s).map_err(|e| corrupt("tenant", e))
}

/// Key topic patterns as stored: comma-separated (no pattern holds a comma).
pub fn topics_column(topics: &TopicPatterns) -> String {
    topics.as_slice().join(",")
}

impl Tenant {
    /// A tenant from the columns `id, name, plan, status, created_at_ms`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            id: tenant_id(row.text("id")?)?,
            name: row.text("name")?,
            plan: row
                .text("plan")?
                .parse::<Plan>()
                .map_err(|e| corrupt("tenant", e))?,
            status: row
                .text("status")?
                .parse::<TenantStatus>()
                .map_err(|e| corrupt("tenant", e))?,
            created_at_ms: row.int("created_at_ms")?,
        })
    }
}

impl ApiKeyInfo {
    /// A key from the columns `id, tenant, name, permissions, topics, expires_at_ms,
    /// created_at_ms, last_used_at_ms, revoked_at_ms`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        let topics = row.text("topics")?;
        let topics = match topics.as_str() {
            "" => Vec::new(),
            t => t.split(',').map(str::to_owned).collect(),
        };
        Ok(Self {
            id: row.text("id")?,
            tenant: tenant_id(row.text("tenant")?)?,
            name: row.text("name")?,
            permissions: Permissions::from_bits(row.int("permissions")?),
            topics: TopicPatterns::new(topics).map_err(|e| corrupt("API key", e))?,
            expires_at_ms: row.opt_int("expires_at_ms")?,
            created_at_ms: row.int("created_at_ms")?,
            last_used_at_ms: row.opt_int("last_used_at_ms")?,
            revoked_at_ms: row.opt_int("revoked_at_ms")?,
        })
    }
}

impl StoredApiKey {
    /// A key with its hash, from [`ApiKeyInfo::decode`]'s columns and `hash` (hex).
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        let hex = row.text("hash")?;
        let hash = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
                    .ok_or_else(|| corrupt("API key", "hash is not hex"))
            })
            .collect::<MetadataResult<Vec<u8>>>()?;
        Ok(Self {
            info: ApiKeyInfo::decode(row)?,
            hash,
        })
    }

    /// The hash as stored: lowercase hex.
    pub fn hash_column(&self) -> String {
        self.hash.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl AuditEvent {
    /// An event from the columns `at_ms, tenant (nullable), actor, action, target, source,
    /// detail`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        let tenant = row.text("tenant")?;
        Ok(Self {
            at_ms: row.int("at_ms")?,
            tenant: (!tenant.is_empty())
                .then(|| tenant_id(tenant))
                .transpose()?,
            actor: row.text("actor")?,
            action: row.text("action")?,
            target: row.text("target")?,
            source: row.text("source")?,
            detail: row.text("detail")?,
        })
    }
}

/// The errors both backends answer with, worded once.
pub mod errors {
    use crate::metadata::MetadataError;
    use crate::types::TenantId;

    /// No tenant has this id.
    pub fn no_tenant(id: &TenantId) -> MetadataError {
        MetadataError::NotFound(format!("tenant {id} does not exist; create it first"))
    }

    /// The tenant id is taken.
    pub fn tenant_exists(id: &TenantId) -> MetadataError {
        MetadataError::AlreadyExists(format!("tenant {id} already exists"))
    }

    /// No key has this id.
    pub fn no_key(id: &str) -> MetadataError {
        MetadataError::NotFound(format!("API key {id} does not exist"))
    }

    /// The key id is taken.
    pub fn key_exists(id: &str) -> MetadataError {
        MetadataError::AlreadyExists(format!("API key {id} already exists"))
    }
}
