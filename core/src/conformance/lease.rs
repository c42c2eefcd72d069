//! The `LeaseManager` conformance suite.

use std::time::Duration;

use super::metadata::{spec, tenant};
use crate::lease::{LeaseError, LeaseKey};
use crate::registry::MetadataParts;

async fn key(m: &MetadataParts, topic: &str) -> LeaseKey {
    let t = m.store.create_topic(&spec("acme", topic, 1)).await.unwrap();
    LeaseKey {
        tenant: tenant("acme"),
        topic_id: t.id,
        partition: 0,
    }
}

const TTL: Duration = Duration::from_secs(30);

/// A free lease is granted; others are refused while it is held; release frees it.
pub async fn acquire_renew_release(m: &MetadataParts) {
    let k = key(m, "a").await;
    let l = m.leases.acquire(&k, "agent-a", TTL).await.unwrap();
    assert_eq!((l.holder.as_str(), l.epoch), ("agent-a", 1));
    assert!(l.expires_at_ms > crate::clock::now_ms() + 20_000);
    let e = m.leases.acquire(&k, "agent-b", TTL).await.unwrap_err();
    assert!(
        matches!(e, LeaseError::Held { ref holder, .. } if holder == "agent-a"),
        "{e:?}"
    );
    let renewed = m.leases.renew_all("agent-a", TTL).await.unwrap();
    let r = renewed.into_iter().find(|r| r.key == k).expect("renewed");
    assert_eq!((r.epoch, r.holder.as_str()), (l.epoch, "agent-a"));
    assert!(r.expires_at_ms >= l.expires_at_ms);
    assert_eq!(m.leases.get(&k).await.unwrap(), Some(r.clone()));
    m.leases.release(&r).await.unwrap();
    let b = m.leases.acquire(&k, "agent-b", TTL).await.unwrap();
    assert_eq!(b.epoch, 2);
    // Releasing a lease one no longer holds is harmless and does not free the new holder's.
    m.leases.release(&r).await.unwrap();
    assert_eq!(m.leases.get(&k).await.unwrap().unwrap().holder, "agent-b");
    let renewed = m.leases.renew_all("agent-a", TTL).await.unwrap();
    assert!(renewed.iter().all(|l| l.key != k), "{renewed:?}");
}

/// Re-acquiring by the same holder keeps the epoch; each change of holder raises it.
pub async fn epoch_changes_only_with_the_holder(m: &MetadataParts) {
    let k = key(m, "e").await;
    let a1 = m.leases.acquire(&k, "a", TTL).await.unwrap();
    let a2 = m.leases.acquire(&k, "a", TTL).await.unwrap();
    assert_eq!(a1.epoch, a2.epoch);
    m.leases.release(&a2).await.unwrap();
    let a3 = m.leases.acquire(&k, "a", TTL).await.unwrap();
    assert_eq!(a3.epoch, a1.epoch, "same holder after release");
    m.leases.release(&a3).await.unwrap();
    let b = m.leases.acquire(&k, "b", TTL).await.unwrap();
    assert_eq!(b.epoch, a1.epoch + 1);
    m.leases.release(&b).await.unwrap();
    let a4 = m.leases.acquire(&k, "a", TTL).await.unwrap();
    assert_eq!(a4.epoch, a1.epoch + 2);
}

/// After its TTL a lease can be taken by another holder, and the old holder cannot renew.
pub async fn expired_lease_moves_and_old_holder_loses_it(m: &MetadataParts) {
    let k = key(m, "x").await;
    let old = m
        .leases
        .acquire(&k, "old", Duration::from_millis(300))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let new = m.leases.acquire(&k, "new", TTL).await.unwrap();
    assert_eq!(new.epoch, old.epoch + 1);
    let renewed = m.leases.renew_all("old", TTL).await.unwrap();
    assert!(renewed.is_empty(), "{renewed:?}");
}

/// One statement renews every live lease of a holder, and nobody else's; another releases
/// them all, keeping their epochs.
pub async fn renew_all_and_release_all_cover_one_holder(m: &MetadataParts) {
    let t = m
        .store
        .create_topic(&spec("acme", "many", 50))
        .await
        .unwrap();
    let key = |partition| LeaseKey {
        tenant: tenant("acme"),
        topic_id: t.id,
        partition,
    };
    let short = Duration::from_millis(300);
    // Mine must all be live when renewed, however slowly forty acquires go (each is a
    // synced write on SQLite): 5 s, which the renewal then extends to TTL.
    let mut mine = Vec::new();
    for p in 0..40 {
        mine.push(
            m.leases
                .acquire(&key(p), "me", Duration::from_secs(5))
                .await
                .unwrap(),
        );
    }
    for p in 40..50 {
        m.leases.acquire(&key(p), "other", short).await.unwrap();
    }
    let renewed = m.leases.renew_all("me", TTL).await.unwrap();
    assert_eq!(renewed.len(), 40);
    for l in &renewed {
        assert!(
            l.key.partition < 40 && l.holder == "me" && l.epoch == 1,
            "{l:?}"
        );
        assert_eq!(l.key.tenant, tenant("acme"));
        assert!(l.expires_at_ms > crate::clock::now_ms() + 20_000);
    }
    // The other holder's short leases lapse; mine were extended.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let taken = m.leases.acquire(&key(45), "third", TTL).await.unwrap();
    assert_eq!(taken.epoch, 2);
    let e = m.leases.acquire(&key(5), "third", TTL).await.unwrap_err();
    assert!(matches!(e, LeaseError::Held { .. }), "{e:?}");
    assert_eq!(m.leases.release_all("me").await.unwrap(), 40);
    assert_eq!(m.leases.release_all("me").await.unwrap(), 0);
    assert!(m.leases.renew_all("me", TTL).await.unwrap().is_empty());
    let next = m.leases.acquire(&key(5), "third", TTL).await.unwrap();
    assert_eq!(next.epoch, mine[5].epoch + 1);
}

/// Of many holders racing for one lease, exactly one gets it.
pub async fn concurrent_acquires_have_one_winner(m: &MetadataParts) {
    let k = key(m, "race").await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let l = m.leases.clone();
            let k = k.clone();
            tokio::spawn(async move { l.acquire(&k, &format!("agent-{i}"), TTL).await })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => winners += 1,
            Err(LeaseError::Held { .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners, 1);
}
