//! The `AccountStore` conformance suite, with the reads the control plane adds to the other
//! traits (retention changes, stored bytes per topic, group offsets, lease counts).

use super::metadata::{batch, commit, lead, spec, tenant};
use crate::accounts::{Role, Session, User};
use crate::metadata::MetadataError;
use crate::registry::MetadataParts;
use crate::tenancy::key::NewKey;
use crate::tenancy::{
    ApiKeyInfo, Permissions, Plan, StoredApiKey, Tenant, TenantStatus, TopicPatterns,
};
use crate::types::{TopicName, TopicSettings};

fn user(id: &str, email: &str) -> User {
    User {
        id: id.into(),
        email: email.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        operator: false,
        created_at_ms: 1_700_000_000_000,
    }
}

fn org(id: &str) -> Tenant {
    let mut t = Tenant::new(tenant(id), Plan::Starter, 1_700_000_000_000);
    t.name = format!("{id} Inc.");
    t
}

/// Sign-up creates an organization and its owner together or not at all; members get and
/// lose roles; an organization's name, plan and status change.
pub async fn organizations_and_members(m: &MetadataParts) {
    let s = &m.store;
    s.create_organization(&org("acme"), &user("usr_a", "ann@acme.test"))
        .await
        .unwrap();
    // A taken email creates no organization; a taken id creates no user.
    let e = s
        .create_organization(&org("other"), &user("usr_x", "ann@acme.test"))
        .await;
    assert!(matches!(e, Err(MetadataError::AlreadyExists(_))), "{e:?}");
    assert!(matches!(
        s.get_tenant(&tenant("other")).await,
        Err(MetadataError::NotFound(_))
    ));
    let e = s
        .create_organization(&org("acme"), &user("usr_y", "yan@acme.test"))
        .await;
    assert!(matches!(e, Err(MetadataError::AlreadyExists(_))), "{e:?}");
    assert!(matches!(
        s.user_by_email("yan@acme.test").await,
        Err(MetadataError::NotFound(_))
    ));

    let got = s.get_tenant(&tenant("acme")).await.unwrap();
    assert_eq!(
        (got.name.as_str(), got.status),
        ("acme Inc.", TenantStatus::Active)
    );
    let ann = s.user_by_email("ann@acme.test").await.unwrap();
    assert_eq!(ann, user("usr_a", "ann@acme.test"));
    assert_eq!(s.get_user("usr_a").await.unwrap(), ann);

    let mut bob = user("usr_b", "bob@acme.test");
    bob.operator = true;
    s.create_user(&bob).await.unwrap();
    assert!(matches!(
        s.create_user(&user("usr_c", "bob@acme.test")).await,
        Err(MetadataError::AlreadyExists(_))
    ));
    assert!(s.get_user("usr_b").await.unwrap().operator);
    s.set_member(&tenant("acme"), "usr_b", Role::ReadOnly)
        .await
        .unwrap();
    s.set_member(&tenant("acme"), "usr_b", Role::Admin)
        .await
        .unwrap();
    let members = s.members(&tenant("acme")).await.unwrap();
    let roles: Vec<_> = members.iter().map(|m| (m.email.as_str(), m.role)).collect();
    assert_eq!(
        roles,
        [
            ("ann@acme.test", Role::Owner),
            ("bob@acme.test", Role::Admin)
        ]
    );
    let of_bob = s.memberships("usr_b").await.unwrap();
    assert_eq!(of_bob.len(), 1);
    assert_eq!(
        (of_bob[0].tenant.as_str(), of_bob[0].role),
        ("acme", Role::Admin)
    );
    for (t, u) in [("acme", "usr_nobody"), ("nowhere", "usr_b")] {
        assert!(matches!(
            s.set_member(&tenant(t), u, Role::Member).await,
            Err(MetadataError::NotFound(_))
        ));
    }
    s.remove_member(&tenant("acme"), "usr_b").await.unwrap();
    assert!(s.memberships("usr_b").await.unwrap().is_empty());
    assert!(matches!(
        s.remove_member(&tenant("acme"), "usr_b").await,
        Err(MetadataError::NotFound(_))
    ));

    let mut changed = got.clone();
    changed.name = "Acme".into();
    changed.plan = Plan::Growth;
    changed.status = TenantStatus::PastDue;
    s.update_tenant(&changed).await.unwrap();
    assert_eq!(s.get_tenant(&tenant("acme")).await.unwrap(), changed);
    assert!(matches!(
        s.update_tenant(&org("nowhere")).await,
        Err(MetadataError::NotFound(_))
    ));
}

/// Sessions are found by token hash until deleted; creating one drops those that ended.
pub async fn sessions_begin_and_end(m: &MetadataParts) {
    let s = &m.store;
    s.create_organization(&org("acme"), &user("usr_a", "ann@acme.test"))
        .await
        .unwrap();
    let session = |hash: &str, created: i64, expires: i64| Session {
        token_hash: hash.into(),
        user_id: "usr_a".into(),
        csrf_token: format!("csrf-{hash}"),
        created_at_ms: created,
        expires_at_ms: expires,
    };
    let old = session("aa", 1_000, 2_000);
    s.create_session(&old).await.unwrap();
    assert_eq!(s.get_session("aa").await.unwrap(), old);
    let new = session("bb", 3_000, 9_000);
    s.create_session(&new).await.unwrap();
    assert!(
        matches!(s.get_session("aa").await, Err(MetadataError::NotFound(_))),
        "an ended session is dropped when another begins"
    );
    assert_eq!(s.get_session("bb").await.unwrap(), new);
    s.delete_session("bb").await.unwrap();
    s.delete_session("bb").await.unwrap();
    assert!(matches!(
        s.get_session("bb").await,
        Err(MetadataError::NotFound(_))
    ));
}

/// What the control plane reads besides accounts: retention changes, bytes per topic,
/// consumer-group offsets, leases per holder, a month's ingress, and a rotated key's expiry.
pub async fn control_plane_reads(m: &MetadataParts) {
    let s = &m.store;
    let t = s.create_topic(&spec("acme", "orders", 2)).await.unwrap();
    let other = s.create_topic(&spec("beta", "orders", 1)).await.unwrap();
    let orders = TopicName::new("orders").unwrap();
    let forever = TopicSettings {
        retention_ms: None,
        ..t.spec.settings()
    };
    let changed = s
        .alter_topic(&tenant("acme"), &orders, &forever)
        .await
        .unwrap();
    assert_eq!((changed.id, changed.spec.retention_ms), (t.id, None));
    assert_eq!(
        s.get_topic(&tenant("beta"), &orders)
            .await
            .unwrap()
            .spec
            .retention_ms,
        other.spec.retention_ms,
        "another tenant's topic of the same name is untouched"
    );
    assert!(matches!(
        s.alter_topic(&tenant("acme"), &TopicName::new("nope").unwrap(), &forever)
            .await,
        Err(MetadataError::NotFound(_))
    ));

    assert!(s.topic_bytes(&tenant("acme")).await.unwrap().is_empty());
    let e0 = lead(m, &t, 0, "h1").await;
    let e1 = lead(m, &t, 1, "h2").await;
    lead(m, &other, 0, "h1").await;
    let c = commit(&t, "o1", "h1", vec![batch(&t, 0, 0, 3, e0)]);
    s.commit_object(&c).await.unwrap();
    let c = commit(&t, "o2", "h2", vec![batch(&t, 1, 0, 2, e1)]);
    s.commit_object(&c).await.unwrap();
    assert_eq!(s.topic_bytes(&tenant("acme")).await.unwrap(), [(t.id, 500)]);
    assert!(s.topic_bytes(&tenant("beta")).await.unwrap().is_empty());
    for holder in ["h1", "h2", "h3"] {
        let agent = crate::cluster::AgentInfo {
            holder: holder.into(),
            agent_id: holder.into(),
            group: "default".into(),
            zone: String::new(),
            addr: format!("http://{holder}:9090"),
        };
        s.heartbeat(&agent, std::time::Duration::from_secs(30))
            .await
            .unwrap();
    }
    let loads = s.agent_loads().await.unwrap();
    let got: Vec<_> = loads
        .iter()
        .map(|l| (l.holder.as_str(), l.leases))
        .collect();
    assert_eq!(got, [("h1", 2), ("h2", 1), ("h3", 0)]);
    assert!(
        loads.iter().all(|l| l.heartbeat_at_ms > 1_700_000_000_000),
        "{loads:?}"
    );

    s.commit_offsets(&tenant("acme"), "billing", t.id, &[(1, 2), (0, 1)])
        .await
        .unwrap();
    s.commit_offsets(&tenant("beta"), "billing", other.id, &[(0, 9)])
        .await
        .unwrap();
    let groups = s.group_offsets(&tenant("acme")).await.unwrap();
    let got: Vec<_> = groups
        .iter()
        .map(|g| (g.group.as_str(), g.topic_id, g.partition, g.committed))
        .collect();
    assert_eq!(got, [("billing", t.id, 0, 1), ("billing", t.id, 1, 2)]);

    assert_eq!(
        s.month_ingress(&tenant("acme"), "2026-12").await.unwrap(),
        0
    );
    s.add_ingress(&tenant("acme"), "2026-12", 42).await.unwrap();
    assert_eq!(
        s.month_ingress(&tenant("acme"), "2026-12").await.unwrap(),
        42
    );

    s.create_tenant(&org("acme")).await.unwrap();
    let k = NewKey::generate();
    let key = StoredApiKey {
        info: ApiKeyInfo {
            id: k.id.clone(),
            tenant: tenant("acme"),
            name: "ci".into(),
            permissions: Permissions::READ,
            topics: TopicPatterns::default(),
            expires_at_ms: Some(5_000),
            created_at_ms: 1,
            last_used_at_ms: None,
            revoked_at_ms: None,
        },
        hash: k.hash,
    };
    s.create_api_key(&key).await.unwrap();
    let later = s.expire_api_key(&k.id, 9_000).await.unwrap();
    assert_eq!(later.expires_at_ms, Some(5_000), "a sooner expiry stands");
    let sooner = s.expire_api_key(&k.id, 3_000).await.unwrap();
    assert_eq!(sooner.expires_at_ms, Some(3_000));
    assert!(matches!(
        s.expire_api_key("shk_000000000000", 1).await,
        Err(MetadataError::NotFound(_))
    ));
}

/// Ingress counts in the commit's transaction (a refused commit counts nothing); egress and
/// requests add up per hour and day; storage is sampled once per hour however often asked;
/// each tenant sees only its own usage.
pub async fn usage_is_metered_per_hour_and_day(m: &MetadataParts) {
    use crate::clock::now_ms;
    use crate::usage::{DAY_MS, Granularity, HOUR_MS, UsageDelta, day_of, hour_of};

    let s = &m.store;
    let a = s.create_topic(&spec("acme", "a", 1)).await.unwrap();
    let b = s.create_topic(&spec("acme", "b", 1)).await.unwrap();
    let ea = lead(m, &a, 0, "h").await;
    let eb = lead(m, &b, 0, "h").await;
    let before = now_ms();
    let c = commit(
        &a,
        "o1",
        "h",
        vec![batch(&a, 0, 0, 3, ea), batch(&a, 0, 3, 2, ea)],
    );
    s.commit_object(&c).await.unwrap();
    let c = commit(&b, "o2", "h", vec![batch(&b, 0, 0, 4, eb)]);
    s.commit_object(&c).await.unwrap();
    let mut unmetered = commit(&b, "o3", "h", vec![batch(&b, 0, 4, 1, eb)]);
    unmetered.meter = false;
    s.commit_object(&unmetered).await.unwrap();
    let gap = commit(&b, "o4", "h", vec![batch(&b, 0, 9, 1, eb)]);
    assert!(s.commit_object(&gap).await.is_err(), "a gap is refused");
    let after = now_ms();

    let acme = tenant("acme");
    let all = |g| s.usage(&acme, g, 0, i64::MAX / 2, true);
    let rows = all(Granularity::Hour).await.unwrap();
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.topic.as_str(), r.ingress_bytes, r.ingress_records))
        .collect();
    if hour_of(before) == hour_of(after) {
        assert_eq!(got, [("a", 50, 5), ("b", 40, 4)], "{rows:?}");
        assert_eq!(rows[0].period_ms, hour_of(before));
    }
    let days = all(Granularity::Day).await.unwrap();
    let ingress: u64 = days.iter().map(|r| r.ingress_bytes).sum();
    assert_eq!(ingress, 90, "{days:?}");

    let h = hour_of(1_800_000_000_000);
    let delta = |topic: &str, hour_ms: i64, egress: u64| UsageDelta {
        tenant: acme.clone(),
        topic: topic.into(),
        hour_ms,
        egress_bytes: egress,
        egress_records: 1,
        requests: 2,
    };
    s.add_usage(&[
        delta("a", h, 100),
        delta("", h, 0),
        delta("a", h + HOUR_MS, 7),
    ])
    .await
    .unwrap();
    s.add_usage(&[delta("a", h, 1)]).await.unwrap();
    s.add_usage(&[]).await.unwrap();
    let hours = s
        .usage(&acme, Granularity::Hour, h, h + 2 * HOUR_MS, true)
        .await
        .unwrap();
    let got: Vec<_> = hours
        .iter()
        .map(|r| {
            (
                r.period_ms - h,
                r.topic.as_str(),
                r.egress_bytes,
                r.requests,
            )
        })
        .collect();
    assert_eq!(
        got,
        [(0, "", 0, 2), (0, "a", 101, 4), (HOUR_MS, "a", 7, 2)],
        "{hours:?}"
    );
    let totals = s
        .usage(&acme, Granularity::Hour, h, h + HOUR_MS, false)
        .await
        .unwrap();
    assert_eq!(totals.len(), 1, "`to` is exclusive: {totals:?}");
    assert_eq!((totals[0].egress_bytes, totals[0].requests), (101, 6));
    let day = day_of(h);
    let daily = s
        .usage(&acme, Granularity::Day, day, day + DAY_MS, false)
        .await
        .unwrap();
    assert_eq!((daily[0].period_ms, daily[0].egress_bytes), (day, 108));

    // Stored bytes: the batches' sizes (100 per record here), once per hour.
    assert!(s.sample_storage(h).await.unwrap());
    assert!(!s.sample_storage(h).await.unwrap(), "one sample per hour");
    let sampled = s
        .usage(&acme, Granularity::Hour, h, h + HOUR_MS, true)
        .await
        .unwrap();
    let storage: Vec<_> = sampled
        .iter()
        .map(|r| (r.topic.as_str(), r.storage_byte_hours))
        .collect();
    assert_eq!(storage, [("", 0), ("a", 500), ("b", 500)], "{sampled:?}");
    let total = s
        .usage(&acme, Granularity::Hour, h, h + HOUR_MS, false)
        .await
        .unwrap();
    assert_eq!(total[0].storage_byte_hours, 1000, "{total:?}");
    assert!(
        s.usage(&tenant("beta"), Granularity::Day, 0, i64::MAX / 2, true)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Billing accounts are found by tenant and by customer; a ledger line is added once per
/// organization, period and metric and moves through its states; invoices are replaced by id.
pub async fn billing_ledger_accounts_and_invoices(m: &MetadataParts) {
    use crate::billing::{BillingAccount, InvoiceRecord, LedgerLine, LineState};

    let s = &m.store;
    s.create_tenant(&org("acme")).await.unwrap();
    let acme = tenant("acme");
    assert_eq!(s.billing_account(&acme).await.unwrap(), None);
    let mut account = BillingAccount {
        tenant: acme.clone(),
        customer_id: "cus_1".into(),
        subscription_id: String::new(),
        subscription_item_id: String::new(),
        plan: Plan::Starter,
        past_due_since_ms: None,
    };
    s.save_billing_account(&account).await.unwrap();
    account.subscription_id = "sub_1".into();
    account.past_due_since_ms = Some(5);
    s.save_billing_account(&account).await.unwrap();
    assert_eq!(
        s.billing_account(&acme).await.unwrap(),
        Some(account.clone())
    );
    assert_eq!(s.tenant_of_customer("cus_1").await.unwrap(), acme);
    assert!(matches!(
        s.tenant_of_customer("cus_x").await,
        Err(MetadataError::NotFound(_))
    ));
    assert_eq!(s.billing_accounts().await.unwrap(), [account]);

    let line = |metric: &str, amount: u64| LedgerLine {
        tenant: acme.clone(),
        period: "2026-11".into(),
        metric: metric.into(),
        overage_micro: 1_500_000,
        amount_cents: amount,
        state: LineState::Pending,
        stripe_id: String::new(),
        updated_at_ms: 1,
    };
    assert!(s.add_ledger_line(&line("ingress", 14)).await.unwrap());
    assert!(
        !s.add_ledger_line(&line("ingress", 99)).await.unwrap(),
        "once"
    );
    assert!(s.add_ledger_line(&line("storage", 3)).await.unwrap());
    let open = s.ledger(Some(&acme), true).await.unwrap();
    assert_eq!(open.len(), 2);
    assert_eq!(
        (open[0].metric.as_str(), open[0].amount_cents),
        ("ingress", 14)
    );
    s.set_ledger_state(&open[0], LineState::Sent, "", 2)
        .await
        .unwrap();
    s.set_ledger_state(&open[0], LineState::Confirmed, "ii_1", 3)
        .await
        .unwrap();
    let open = s.ledger(None, true).await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].metric, "storage");
    let all = s.ledger(Some(&acme), false).await.unwrap();
    assert_eq!(
        (all[0].state, all[0].stripe_id.as_str()),
        (LineState::Confirmed, "ii_1")
    );
    let mut missing = line("egress", 1);
    missing.period = "1999-01".into();
    assert!(matches!(
        s.set_ledger_state(&missing, LineState::Sent, "", 1).await,
        Err(MetadataError::NotFound(_))
    ));

    let mut invoice = InvoiceRecord {
        id: "in_1".into(),
        tenant: acme.clone(),
        status: "open".into(),
        amount_due_cents: 4917,
        amount_paid_cents: 0,
        currency: "usd".into(),
        created_at_ms: 10,
    };
    s.save_invoice(&invoice).await.unwrap();
    invoice.status = "paid".into();
    invoice.amount_paid_cents = 4917;
    s.save_invoice(&invoice).await.unwrap();
    let mut late = invoice.clone();
    late.status = "draft".into();
    late.amount_paid_cents = 0;
    s.save_invoice(&late).await.unwrap();
    assert_eq!(
        s.invoices(&acme).await.unwrap(),
        [invoice],
        "a late event about an earlier state changes nothing"
    );
    assert!(s.invoices(&tenant("beta")).await.unwrap().is_empty());
}
