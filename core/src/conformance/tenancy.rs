//! The `TenantStore` and `AuditStore` conformance suite.

use super::metadata::tenant;
use crate::metadata::MetadataError;
use crate::registry::MetadataParts;
use crate::tenancy::key::NewKey;
use crate::tenancy::{
    ApiKeyInfo, AuditEvent, Permissions, Plan, StoredApiKey, Tenant, TopicPatterns,
};

fn new_tenant(id: &str, plan: Plan) -> Tenant {
    Tenant::new(tenant(id), plan, 1_700_000_000_000)
}

fn new_key(t: &str, name: &str, topics: &[&str], expires: Option<i64>) -> StoredApiKey {
    let k = NewKey::generate();
    StoredApiKey {
        info: ApiKeyInfo {
            id: k.id,
            tenant: tenant(t),
            name: name.into(),
            permissions: Permissions::READ | Permissions::WRITE,
            topics: TopicPatterns::new(topics.iter().map(|s| s.to_string()).collect()).unwrap(),
            expires_at_ms: expires,
            created_at_ms: 1_700_000_000_000,
            last_used_at_ms: None,
            revoked_at_ms: None,
        },
        hash: k.hash,
    }
}

/// Tenants are created once, read back with their plan, and listed by id.
pub async fn tenants_create_get_list(m: &MetadataParts) {
    let acme = new_tenant("acme", Plan::Growth);
    let beta = new_tenant("beta", Plan::Starter);
    m.store.create_tenant(&beta).await.unwrap();
    m.store.create_tenant(&acme).await.unwrap();
    assert!(matches!(
        m.store.create_tenant(&acme).await,
        Err(MetadataError::AlreadyExists(_))
    ));
    assert_eq!(m.store.get_tenant(&acme.id).await.unwrap(), acme);
    assert!(matches!(
        m.store.get_tenant(&tenant("nobody")).await,
        Err(MetadataError::NotFound(_))
    ));
    assert_eq!(m.store.list_tenants().await.unwrap(), vec![acme, beta]);
}

/// A key is stored with its hash, patterns and expiry, belongs to an existing tenant, is
/// listed only with its tenant's keys, and is revoked once.
pub async fn api_keys_create_get_list_revoke(m: &MetadataParts) {
    let orphan = new_key("acme", "ci", &[], None);
    assert!(matches!(
        m.store.create_api_key(&orphan).await,
        Err(MetadataError::NotFound(_))
    ));
    m.store
        .create_tenant(&new_tenant("acme", Plan::Starter))
        .await
        .unwrap();
    m.store
        .create_tenant(&new_tenant("beta", Plan::Starter))
        .await
        .unwrap();
    let a1 = new_key(
        "acme",
        "ci",
        &["orders-*", "audit"],
        Some(1_800_000_000_000),
    );
    let a2 = new_key("acme", "dashboards", &[], None);
    let b1 = new_key("beta", "ci", &[], None);
    for k in [&a1, &a2, &b1] {
        m.store.create_api_key(k).await.unwrap();
    }
    assert!(matches!(
        m.store.create_api_key(&a1).await,
        Err(MetadataError::AlreadyExists(_))
    ));
    assert_eq!(m.store.get_api_key(&a1.info.id).await.unwrap(), a1);
    assert!(matches!(
        m.store.get_api_key("shk_000000000000").await,
        Err(MetadataError::NotFound(_))
    ));
    let mut listed = m.store.list_api_keys(&tenant("acme")).await.unwrap();
    listed.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = vec![a1.info.clone(), a2.info.clone()];
    want.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(listed, want);

    let revoked = m.store.revoke_api_key(&a1.info.id, 5_000).await.unwrap();
    assert_eq!(revoked.revoked_at_ms, Some(5_000));
    let again = m.store.revoke_api_key(&a1.info.id, 9_000).await.unwrap();
    assert_eq!(
        again.revoked_at_ms,
        Some(5_000),
        "the first revocation stands"
    );
    assert_eq!(
        m.store
            .get_api_key(&a1.info.id)
            .await
            .unwrap()
            .info
            .revoked_at_ms,
        Some(5_000)
    );
    assert!(matches!(
        m.store.revoke_api_key("shk_000000000000", 1).await,
        Err(MetadataError::NotFound(_))
    ));
    assert_eq!(
        m.store
            .get_api_key(&b1.info.id)
            .await
            .unwrap()
            .info
            .revoked_at_ms,
        None
    );
}

async fn last_used(m: &MetadataParts, id: &str) -> Option<i64> {
    m.store.get_api_key(id).await.unwrap().info.last_used_at_ms
}

/// Last-used times move forward only, several uses of one key in a batch included.
pub async fn key_use_is_recorded_forward_only(m: &MetadataParts) {
    m.store
        .create_tenant(&new_tenant("acme", Plan::Starter))
        .await
        .unwrap();
    let k = new_key("acme", "ci", &[], None);
    let other = new_key("acme", "other", &[], None);
    m.store.create_api_key(&k).await.unwrap();
    m.store.create_api_key(&other).await.unwrap();
    let id = k.info.id.clone();
    m.store
        .record_key_use(&[
            (id.clone(), 2_000),
            (id.clone(), 3_000),
            (id.clone(), 1_000),
        ])
        .await
        .unwrap();
    assert_eq!(last_used(m, &id).await, Some(3_000));
    m.store
        .record_key_use(&[(id.clone(), 2_500)])
        .await
        .unwrap();
    assert_eq!(last_used(m, &id).await, Some(3_000), "never moves back");
    // Unknown ids are ignored; nothing is recorded for keys not named.
    m.store
        .record_key_use(&[("shk_000000000000".into(), 1)])
        .await
        .unwrap();
    m.store.record_key_use(&[]).await.unwrap();
    assert_eq!(last_used(m, &other.info.id).await, None);
}

/// The audit log lists events newest first, of one tenant or of all.
pub async fn audit_log_newest_first(m: &MetadataParts) {
    let event = |at_ms: i64, t: Option<&str>, action: &str| AuditEvent {
        at_ms,
        tenant: t.map(tenant),
        actor: "cli:ops".into(),
        action: action.into(),
        target: "orders".into(),
        source: "10.0.0.7:51234".into(),
        detail: String::new(),
    };
    let events = [
        event(1, Some("acme"), "topic.create"),
        event(2, None, "auth.failed"),
        event(3, Some("beta"), "key.create"),
        event(4, Some("acme"), "topic.delete"),
    ];
    m.store.append_audit(&events[..2]).await.unwrap();
    m.store.append_audit(&events[2..]).await.unwrap();
    m.store.append_audit(&[]).await.unwrap();
    let all = m.store.audit_log(None, 10).await.unwrap();
    assert_eq!(
        all,
        events.iter().rev().cloned().collect::<Vec<_>>(),
        "every event, newest first"
    );
    let acme = m.store.audit_log(Some(&tenant("acme")), 10).await.unwrap();
    assert_eq!(acme, vec![events[3].clone(), events[0].clone()]);
    assert_eq!(
        m.store.audit_log(None, 1).await.unwrap(),
        vec![events[3].clone()]
    );
}

/// Ingress adds up per tenant and month, whoever adds it; stored bytes sum a tenant's
/// objects.
pub async fn usage_adds_up_per_tenant_and_month(m: &MetadataParts) {
    let (acme, beta) = (tenant("acme"), tenant("beta"));
    assert_eq!(
        m.store.add_ingress(&acme, "2026-12", 100).await.unwrap(),
        100
    );
    assert_eq!(
        m.store.add_ingress(&acme, "2026-12", 50).await.unwrap(),
        150
    );
    assert_eq!(m.store.add_ingress(&acme, "2027-01", 7).await.unwrap(), 7);
    assert_eq!(m.store.add_ingress(&beta, "2026-12", 1).await.unwrap(), 1);
    assert_eq!(m.store.add_ingress(&acme, "2026-12", 0).await.unwrap(), 150);
    assert_eq!(m.store.stored_bytes(&acme).await.unwrap(), 0);
    let t = m
        .store
        .create_topic(&super::metadata::spec("acme", "t", 1))
        .await
        .unwrap();
    let key = crate::lease::LeaseKey {
        tenant: acme.clone(),
        topic_id: t.id,
        partition: 0,
    };
    let epoch = m
        .leases
        .acquire(&key, "h", std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .epoch;
    for (i, size) in [(0u64, 1000u64), (1, 234)] {
        let commit = crate::metadata::ObjectCommit {
            tenant: acme.clone(),
            object_key: format!("tenants/acme/{i}"),
            object_size: size,
            holder: "h".into(),
            batches: vec![crate::metadata::CommitBatch {
                topic_id: t.id,
                partition: 0,
                base_offset: i,
                record_count: 1,
                position: 0,
                size: size as u32,
                max_timestamp_ms: 1,
                leader_epoch: epoch,
                ingress_bytes: size,
            }],
            deadline_ms: i64::MAX,
            meter: true,
        };
        m.store.commit_object(&commit).await.unwrap();
    }
    assert_eq!(m.store.stored_bytes(&acme).await.unwrap(), 1234);
    assert_eq!(m.store.stored_bytes(&beta).await.unwrap(), 0);
}
