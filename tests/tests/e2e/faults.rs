//! A failing object store and a bad configuration: clear errors, nothing acknowledged lost,
//! and recovery once the fault is gone.

use std::collections::BTreeMap;

use streamhouse_client::ClientError;
use streamhouse_tests::{AgentProcess, assert_acked_readable, bin, produce_recorded};
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_store_failure_fails_produces_retriably_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), &[]).await;
    // `produce_recorded` sends without retries, so each fault shows.
    let client = agent.client().await;
    client.create_topic("t", 2, None, "none").await.unwrap();
    let mut acked = BTreeMap::new();
    let mut produce = async |i: u32| produce_recorded(&client, "t", i, &mut acked).await;
    for i in 0..20 {
        produce(i).await.unwrap();
    }

    // Break the store: the tenant's object directory becomes a file, so every write fails.
    let objects = agent.dir().join("data/objects/tenants/default/objects");
    let parked = agent.dir().join("parked-objects");
    std::fs::rename(&objects, &parked).unwrap();
    std::fs::write(&objects, b"not a directory").unwrap();
    for i in 20..30 {
        match produce(i).await {
            Err(ClientError::Status(s)) => {
                assert_eq!(s.code(), Code::Unavailable, "{s:?}");
                assert!(s.message().contains("writing the object failed"), "{s:?}");
                assert!(s.message().contains("retry"), "{s:?}");
            }
            other => panic!("expected UNAVAILABLE while the store fails, got {other:?}"),
        }
    }
    // The agent keeps serving through the outage.
    assert!(streamhouse_tests::health_serving(&agent.url).await);
    assert_eq!(client.list_topics().await.unwrap().len(), 1);

    // Repair the store: writes resume at the next dense offsets.
    std::fs::remove_file(&objects).unwrap();
    std::fs::rename(&parked, &objects).unwrap();
    for i in 30..50 {
        produce(i).await.unwrap();
    }
    // No offset was consumed by the failed writes: 20 records per partition, all readable.
    assert_eq!(acked.len(), 40);
    assert_acked_readable(&client, "t", &acked).await;
    assert!(agent.log().contains("flush failed"), "{}", agent.log());
}

#[test]
fn bad_configuration_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let out = std::process::Command::new(bin("streamhouse-agent"))
            .current_dir(dir.path())
            .envs(env.iter().copied())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let e = run(&[("STREAMHOUSE_METADATA__BACKEND", "mysql")], &[]);
    assert!(
        e.contains("unknown metadata backend \"mysql\"; known kinds: aurora, postgres, sqlite"),
        "{e}"
    );
    let e = run(
        &[
            ("STREAMHOUSE_AGENT__ADVERTISE_ADDR", "not a host"),
            ("STREAMHOUSE_AGENT__GRPC_ADDR", "127.0.0.1:0"),
            ("STREAMHOUSE_AGENT__METRICS_ADDR", "127.0.0.1:0"),
        ],
        &[],
    );
    assert!(
        e.contains("agent.advertise_addr \"http://not a host\" is not a URL"),
        "{e}"
    );
    let e = run(&[("STREAMHOUSE_OBJECT_STORE__BACKEND", "ftp")], &[]);
    assert!(
        e.contains("known kinds: azure, gcs, local, memory, s3"),
        "{e}"
    );
    std::fs::write(dir.path().join("c.toml"), "[agent]\ngrpc_port = 1\n").unwrap();
    let e = run(&[], &["--config", "c.toml"]);
    assert!(e.contains("unknown field: found `grpc_port`"), "{e}");
    std::fs::write(
        dir.path().join("d.toml"),
        "[object_store]\nbackend = \"local\"\nrot = \"x\"\n",
    )
    .unwrap();
    let e = run(&[], &["--config", "d.toml"]);
    assert!(e.contains("rot") && e.contains("[object_store]"), "{e}");
    let e = run(&[], &["--config", "missing.toml"]);
    assert!(e.contains("missing.toml does not exist"), "{e}");
}
