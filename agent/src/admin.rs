//! The administrative commands of `streamhouse-agent`: tenants, API keys and the audit log,
//! run against the metadata store directly (beside running agents), as an operator does
//! before any key exists.

use anyhow::Context;
use clap::Subcommand;
use streamhouse_core::clock::{now_ms, rfc3339};
use streamhouse_core::config::Config;
use streamhouse_core::registry::admin_metadata;
use streamhouse_core::tenancy::key::NewKey;
use streamhouse_core::tenancy::{
    ApiKeyInfo, AuditEvent, MAX_KEY_NAME, Permissions, StoredApiKey, Tenant, TopicPatterns,
};
use streamhouse_core::{MetadataStore, TenantId};

/// `streamhouse-agent tenant ...`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Its id: 1-63 characters of [a-z0-9-].
        id: String,
        /// Its plan: starter, growth, business or enterprise.
        #[arg(long, default_value = "starter")]
        plan: String,
    },
    /// List the tenants.
    List,
}

/// `streamhouse-agent key ...`
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key and print it; its secret is shown this once only.
    Create {
        /// The tenant it acts for (create it first with `tenant create`).
        #[arg(long)]
        tenant: String,
        /// A name saying what uses it, such as `billing-service`.
        #[arg(long)]
        name: String,
        /// Comma-separated: read (fetch, subscribe, offsets), write (produce), admin (create
        /// and delete topics).
        #[arg(long, default_value = "read,write")]
        permissions: String,
        /// Comma-separated topic-name patterns it is limited to (`*` matches any run of
        /// characters); every topic of the tenant when absent.
        #[arg(long, value_delimiter = ',')]
        topics: Vec<String>,
        /// It stops working after this long, such as `90d` or `12h`; never when absent.
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// List a tenant's keys (without secrets), revoked ones included.
    List {
        /// The tenant.
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a key: every agent refuses it within `auth.key_cache_ttl_ms`.
    Revoke {
        /// The key's id, `shk_` and 12 hex digits.
        id: String,
    },
}

/// Who runs an administrative command, for the audit log.
fn operator() -> (String, String) {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    (format!("cli:{user}"), host)
}

async fn open(config: &Config) -> anyhow::Result<std::sync::Arc<dyn MetadataStore>> {
    crate::backends::link();
    Ok(admin_metadata(config.metadata.clone())
        .await
        .context("metadata store")?
        .store)
}

/// Appends one event done by the operator to the audit log.
async fn audit(
    store: &dyn MetadataStore,
    tenant: &TenantId,
    action: &str,
    target: &str,
    detail: String,
) -> anyhow::Result<()> {
    let (actor, source) = operator();
    let event = AuditEvent {
        at_ms: now_ms(),
        tenant: Some(tenant.clone()),
        actor,
        action: action.into(),
        target: target.into(),
        source,
        detail,
    };
    crate::auth::log_audit_event(&event);
    Ok(store.append_audit(&[event]).await?)
}

fn tenant_id(s: &str) -> anyhow::Result<TenantId> {
    TenantId::new(s).map_err(|e| anyhow::anyhow!(e.0))
}

/// Runs a `tenant` command.
pub async fn tenant(config: &Config, cmd: TenantCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    match cmd {
        TenantCommand::Create { id, plan } => {
            let plan = plan
                .parse()
                .map_err(|e: streamhouse_core::ValidationError| anyhow::anyhow!(e.0))?;
            let tenant = Tenant::new(tenant_id(&id)?, plan, now_ms());
            store.create_tenant(&tenant).await?;
            audit(
                &*store,
                &tenant.id,
                "tenant.create",
                tenant.id.as_str(),
                format!("plan {}", tenant.plan),
            )
            .await?;
            println!("tenant {} created on the {} plan", tenant.id, tenant.plan);
        }
        TenantCommand::List => {
            println!("{:<63}  {:<10}  CREATED", "TENANT", "PLAN");
            for t in store.list_tenants().await? {
                println!("{:<63}  {:<10}  {}", t.id, t.plan, rfc3339(t.created_at_ms));
            }
        }
    }
    Ok(())
}

/// Runs a `key` command.
pub async fn key(config: &Config, cmd: KeyCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    match cmd {
        KeyCommand::Create {
            tenant,
            name,
            permissions,
            topics,
            expires_in,
        } => {
            let tenant = tenant_id(&tenant)?;
            if name.trim().is_empty() || name.len() > MAX_KEY_NAME {
                anyhow::bail!("--name must be 1 to {MAX_KEY_NAME} characters");
            }
            let permissions: Permissions = permissions
                .parse()
                .map_err(|e: streamhouse_core::ValidationError| anyhow::anyhow!(e.0))?;
            let topics = TopicPatterns::new(topics).map_err(|e| anyhow::anyhow!(e.0))?;
            let now = now_ms();
            let expires_at_ms = expires_in
                .map(|d| {
                    humantime::parse_duration(&d)
                        .map(|d| now.saturating_add(d.as_millis() as i64))
                        .map_err(|e| anyhow::anyhow!("--expires-in {d:?}: {e} (use e.g. 90d, 12h)"))
                })
                .transpose()?;
            let new = NewKey::generate();
            let key = StoredApiKey {
                info: ApiKeyInfo {
                    id: new.id.clone(),
                    tenant: tenant.clone(),
                    name,
                    permissions,
                    topics,
                    expires_at_ms,
                    created_at_ms: now,
                    last_used_at_ms: None,
                    revoked_at_ms: None,
                },
                hash: new.hash.clone(),
            };
            store.create_api_key(&key).await?;
            audit(
                &*store,
                &tenant,
                "key.create",
                &new.id,
                format!("{} [{permissions}]", key.info.name),
            )
            .await?;
            eprintln!(
                "API key {} created for tenant {tenant} with [{permissions}]; its secret is \
                 shown this once only:",
                new.id
            );
            println!("{}", new.key);
        }
        KeyCommand::List { tenant } => {
            let tenant = tenant_id(&tenant)?;
            println!(
                "{:<16}  {:<20}  {:<16}  {:<20}  {:<20}  {:<20}  STATUS",
                "ID", "NAME", "PERMISSIONS", "TOPICS", "CREATED", "LAST USED"
            );
            let now = now_ms();
            for k in store.list_api_keys(&tenant).await? {
                let topics = match k.topics.as_slice() {
                    [] => "*".to_owned(),
                    t => t.join(","),
                };
                let status = match (k.revoked_at_ms, k.expires_at_ms) {
                    (Some(at), _) => format!("revoked {}", rfc3339(at)),
                    (None, Some(at)) if at <= now => format!("expired {}", rfc3339(at)),
                    (None, Some(at)) => format!("expires {}", rfc3339(at)),
                    (None, None) => "active".into(),
                };
                println!(
                    "{:<16}  {:<20}  {:<16}  {:<20}  {:<20}  {:<20}  {status}",
                    k.id,
                    k.name,
                    k.permissions.to_string(),
                    topics,
                    rfc3339(k.created_at_ms),
                    k.last_used_at_ms.map_or_else(|| "never".into(), rfc3339)
                );
            }
        }
        KeyCommand::Revoke { id } => {
            let k = store.revoke_api_key(&id, now_ms()).await?;
            audit(&*store, &k.tenant, "key.revoke", &k.id, k.name.clone()).await?;
            println!(
                "API key {} of tenant {} revoked; agents refuse it within auth.key_cache_ttl_ms",
                k.id, k.tenant
            );
        }
    }
    Ok(())
}

/// Runs `audit`: the newest events, of one tenant or all.
pub async fn audit_log(config: &Config, tenant: Option<&str>, limit: u32) -> anyhow::Result<()> {
    let store = open(config).await?;
    let tenant = tenant.map(tenant_id).transpose()?;
    println!(
        "{:<20}  {:<16}  {:<20}  {:<14}  {:<24}  {:<22}  DETAIL",
        "TIME", "TENANT", "ACTOR", "ACTION", "TARGET", "SOURCE"
    );
    for e in store.audit_log(tenant.as_ref(), limit).await? {
        println!(
            "{:<20}  {:<16}  {:<20}  {:<14}  {:<24}  {:<22}  {}",
            rfc3339(e.at_ms),
            e.tenant.as_ref().map_or("-", TenantId::as_str),
            e.actor,
            e.action,
            e.target,
            e.source,
            e.detail
        );
    }
    Ok(())
}
