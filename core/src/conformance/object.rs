//! The `ObjectStore` conformance suite.

use std::sync::Arc;

use bytes::Bytes;

use crate::object::{ObjectKey, ObjectStore, ObjectStoreError, PutMode};

type Store = Arc<dyn ObjectStore>;

fn key(s: &str) -> ObjectKey {
    ObjectKey::new(s).expect("valid key")
}

/// A put is read back whole, and `head` reports its size; empty objects work too.
pub async fn put_get_round_trip(s: &Store) {
    let k = key("t/acme/objects/one.sho");
    s.put(&k, Bytes::from_static(b"hello object"), PutMode::Create)
        .await
        .unwrap();
    assert_eq!(
        s.get(&k).await.unwrap(),
        Bytes::from_static(b"hello object")
    );
    assert_eq!(s.head(&k).await.unwrap().size, 12);
    let empty = key("t/acme/objects/empty");
    s.put(&empty, Bytes::new(), PutMode::Create).await.unwrap();
    assert_eq!(s.get(&empty).await.unwrap().len(), 0);
}

/// `Create` fails with `AlreadyExists` and leaves the object alone; `Overwrite` replaces it.
pub async fn create_mode_refuses_to_overwrite(s: &Store) {
    let k = key("t/acme/objects/c");
    s.put(&k, Bytes::from_static(b"first"), PutMode::Create)
        .await
        .unwrap();
    let e = s
        .put(&k, Bytes::from_static(b"second"), PutMode::Create)
        .await
        .unwrap_err();
    assert!(matches!(e, ObjectStoreError::AlreadyExists(_)), "{e:?}");
    assert_eq!(s.get(&k).await.unwrap(), Bytes::from_static(b"first"));
    s.put(&k, Bytes::from_static(b"third"), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(s.get(&k).await.unwrap(), Bytes::from_static(b"third"));
}

/// Reading a missing object is `NotFound`, whichever way it is read.
pub async fn missing_objects_are_not_found(s: &Store) {
    let k = key("t/acme/objects/missing");
    assert!(matches!(
        s.get(&k).await,
        Err(ObjectStoreError::NotFound(_))
    ));
    assert!(matches!(
        s.get_range(&k, 0..1).await,
        Err(ObjectStoreError::NotFound(_))
    ));
    assert!(matches!(
        s.head(&k).await,
        Err(ObjectStoreError::NotFound(_))
    ));
}

/// Ranges return exactly their bytes; a range past the end is `InvalidRange`.
pub async fn range_reads(s: &Store) {
    let k = key("t/acme/objects/r");
    let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    s.put(&k, Bytes::from(data.clone()), PutMode::Create)
        .await
        .unwrap();
    for (a, b) in [(0, 1), (0, 10_000), (17, 4_000), (9_999, 10_000), (5, 5)] {
        let got = s.get_range(&k, a..b).await.unwrap();
        assert_eq!(&got[..], &data[a as usize..b as usize], "{a}..{b}");
    }
    let e = s.get_range(&k, 9_000..10_001).await.unwrap_err();
    assert!(matches!(e, ObjectStoreError::InvalidRange(_)), "{e:?}");
}

/// Listing returns the objects under a prefix, as whole segments, sorted, with sizes.
pub async fn list_by_prefix(s: &Store) {
    for (k, n) in [
        ("a/1", 1),
        ("a/2", 2),
        ("a/x/3", 3),
        ("ab/4", 4),
        ("b/5", 5),
    ] {
        s.put(&key(k), Bytes::from(vec![0u8; n]), PutMode::Create)
            .await
            .unwrap();
    }
    let names = |v: Vec<crate::object::ObjectMeta>| {
        v.into_iter()
            .map(|m| (m.key.as_str().to_owned(), m.size))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(s.list(Some("a")).await.unwrap()),
        vec![("a/1".into(), 1), ("a/2".into(), 2), ("a/x/3".into(), 3)]
    );
    assert_eq!(
        names(s.list(Some("b")).await.unwrap()),
        vec![("b/5".into(), 5)]
    );
    assert!(s.list(Some("zzz")).await.unwrap().is_empty());
    assert_eq!(s.list(None).await.unwrap().len(), 5);
}

/// Deleting removes the object; deleting a missing one succeeds.
pub async fn delete_is_idempotent(s: &Store) {
    let k = key("t/acme/objects/d");
    s.put(&k, Bytes::from_static(b"x"), PutMode::Create)
        .await
        .unwrap();
    s.delete(&k).await.unwrap();
    assert!(matches!(
        s.get(&k).await,
        Err(ObjectStoreError::NotFound(_))
    ));
    s.delete(&k).await.unwrap();
    // The key is free again for a create.
    s.put(&k, Bytes::from_static(b"y"), PutMode::Create)
        .await
        .unwrap();
}

/// Objects of tens of MiB round-trip and can be range-read in the middle.
pub async fn large_objects(s: &Store) {
    let k = key("t/acme/objects/large");
    let data: Vec<u8> = (0..24u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    s.put(&k, Bytes::from(data.clone()), PutMode::Create)
        .await
        .unwrap();
    assert_eq!(s.head(&k).await.unwrap().size, data.len() as u64);
    let mid = 13 << 20;
    let got = s.get_range(&k, mid..mid + 4096).await.unwrap();
    assert_eq!(&got[..], &data[mid as usize..mid as usize + 4096]);
    assert_eq!(s.get(&k).await.unwrap().len(), data.len());
    // Creating over it fails however the store uploads large objects (in parts, for S3).
    let again = s
        .put(&k, Bytes::from(vec![1u8; data.len()]), PutMode::Create)
        .await
        .unwrap_err();
    assert!(
        matches!(again, ObjectStoreError::AlreadyExists(_)),
        "{again:?}"
    );
    assert_eq!(
        s.get_range(&k, 0..4).await.unwrap(),
        Bytes::from(data[..4].to_vec())
    );
}

/// Of many concurrent creates of one key, exactly one succeeds and its bytes stay.
pub async fn concurrent_creates_have_one_winner(s: &Store) {
    let k = key("t/acme/objects/race");
    let tasks: Vec<_> = (0..8u8)
        .map(|i| {
            let s = s.clone();
            let k = k.clone();
            tokio::spawn(async move {
                s.put(&k, Bytes::from(vec![i; 64 << 10]), PutMode::Create)
                    .await
                    .map(|()| i)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(i) => winners.push(i),
            Err(ObjectStoreError::AlreadyExists(_)) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let got = s.get(&k).await.unwrap();
    assert!(got.iter().all(|b| *b == winners[0]));
}
