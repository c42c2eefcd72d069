//! A failing object store (a fault-injecting proxy in front of SeaweedFS, fake-gcs-server or
//! Azurite): producers get retriable errors, nothing acknowledged is lost, and the agent
//! recovers when the store does.

use std::collections::BTreeMap;
use std::time::Duration;

use rstest::rstest;
use streamhouse_client::ClientError;
use streamhouse_tests::{
    AgentProcess, Fault, FaultyProxy, Objects, assert_acked_readable, env_refs, eventually,
    objects_report, produce_recorded,
};
use tonic::Code;

/// The variable holding the store's real address, and the one to point at the proxy instead.
fn endpoint_vars(objects: Objects) -> (&'static str, &'static str) {
    match objects {
        Objects::S3 => (
            "STREAMHOUSE_TEST_S3_ENDPOINT",
            "STREAMHOUSE_OBJECT_STORE__ENDPOINT",
        ),
        Objects::Gcs => (
            "STREAMHOUSE_TEST_GCS_ENDPOINT",
            "STREAMHOUSE_OBJECT_STORE__ENDPOINT",
        ),
        // With `use_emulator`, the Azure client finds Azurite through this variable.
        Objects::Azure => ("AZURITE_BLOB_STORAGE_URL", "AZURITE_BLOB_STORAGE_URL"),
        Objects::Local => unreachable!("no network between the agent and a local store"),
    }
}

#[rstest]
#[case::s3(Objects::S3)]
#[case::gcs(Objects::Gcs)]
#[case::azure(Objects::Azure)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_and_flaky_requests_lose_nothing(#[case] objects: Objects) {
    let (real, redirect) = endpoint_vars(objects);
    let endpoint = std::env::var(real)
        .unwrap_or_else(|_| panic!("{real}: run scripts/test.sh or source scripts/services.sh"));
    let target = endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("host:port");
    let proxy = FaultyProxy::start(target).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = objects.env();
    env.retain(|(k, _)| k != redirect);
    env.push((redirect.to_owned(), format!("http://{}", proxy.addr)));
    // Short timeouts and few retries, so each fault shows within seconds.
    let retries = match objects {
        Objects::Azure => ("STREAMHOUSE_OBJECT_STORE__MAX_RETRIES", "2"),
        _ => ("STREAMHOUSE_OBJECT_STORE__MAX_ATTEMPTS", "3"),
    };
    env.extend(
        [
            retries,
            ("STREAMHOUSE_OBJECT_STORE__ATTEMPT_TIMEOUT_MS", "1000"),
            ("STREAMHOUSE_OBJECT_STORE__OPERATION_TIMEOUT_MS", "3000"),
            // Reads go to the store, whose failures this test is about, not to the agent's
            // read cache.
            ("STREAMHOUSE_READ__CACHE_BYTES", "0"),
            // Orphans (PUTs the store took while the agent saw them fail) are collected
            // once 2 s old.
            ("STREAMHOUSE_WRITE__COMMIT_DEADLINE_MS", "1000"),
            ("STREAMHOUSE_GC__INTERVAL_MS", "200"),
            ("STREAMHOUSE_GC__GRACE_MS", "0"),
            ("STREAMHOUSE_GC__ORPHAN_SCAN_INTERVAL_MS", "200"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let agent = AgentProcess::start(dir.path(), &env_refs(&env)).await;
    // `produce_recorded` sends without retries, so each fault shows.
    let client = agent.client().await;
    client.create_topic("t", 2, None, "none").await.unwrap();
    let mut acked = BTreeMap::new();
    let mut produce = async |i: u32| produce_recorded(&client, "t", i, &mut acked).await;
    for i in 0..20 {
        produce(i).await.unwrap();
    }

    // The store is down: every produce fails, retriably, within the operation timeout.
    proxy.set(Fault::All);
    for i in 20..25 {
        match tokio::time::timeout(Duration::from_secs(10), produce(i)).await {
            Ok(Err(ClientError::Status(s))) => {
                assert_eq!(s.code(), Code::Unavailable, "{s:?}");
                assert!(s.message().contains("writing the object failed"), "{s:?}");
            }
            other => panic!("expected UNAVAILABLE while the store is down, got {other:?}"),
        }
    }
    // Reads fail retriably too, on every store: a failure that outlasts the client's retries
    // is UNAVAILABLE, never INTERNAL.
    match tokio::time::timeout(Duration::from_secs(10), client.fetch("t", 0, 0, 0, 0)).await {
        Ok(Err(ClientError::Status(s))) => assert_eq!(s.code(), Code::Unavailable, "{s:?}"),
        other => panic!("expected UNAVAILABLE from a fetch while the store is down, got {other:?}"),
    }

    // Flaky: a third of connections refused or cut. Some produces fail, retriably.
    proxy.set(Fault::Share(0.33));
    let mut failures = 0;
    for i in 25..85 {
        match produce(i).await {
            Ok(_) => {}
            Err(e) => {
                assert!(e.is_retriable(), "{e}");
                failures += 1;
            }
        }
    }
    // The agent recovers when the store does.
    proxy.set(Fault::None);
    for i in 85..105 {
        produce(i).await.expect("produce after the store recovered");
    }
    assert!(
        acked.len() >= 40,
        "{} acknowledged, {failures} failed",
        acked.len()
    );
    assert_acked_readable(&client, "t", &acked).await;
    // Every object left in the bucket is one the index references: what the faults orphaned
    // was collected.
    let env = env_refs(&env);
    eventually(
        "the orphans' collection",
        Duration::from_secs(30),
        async || objects_report(dir.path(), &env)["unknown"] == 0,
    )
    .await;
    let report = objects_report(dir.path(), &env);
    assert_eq!(report["objects"], report["referenced"], "{report:?}");
}
