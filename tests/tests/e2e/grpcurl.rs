//! The README's grpcurl calls work against a real agent, through server reflection alone.

use std::process::Command;

use streamhouse_tests::{AgentProcess, tool};

fn grpcurl(addr: &str, args: &[&str]) -> String {
    let out = Command::new(tool("grpcurl"))
        .arg("-plaintext")
        .args(args.iter().take(args.len() - 1))
        .arg(addr)
        .arg(args[args.len() - 1])
        .output()
        .expect("run grpcurl");
    assert!(out.status.success(), "grpcurl {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_grpcurl_calls_work() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), &[]).await;
    let addr = agent.url.trim_start_matches("http://");
    let list = grpcurl(addr, &["list"]);
    assert!(list.contains("streamhouse.v1.StreamHouse"), "{list}");
    assert!(list.contains("grpc.health.v1.Health"), "{list}");
    let created = grpcurl(
        addr,
        &[
            "-d",
            r#"{"name": "orders", "partitions": 3}"#,
            "streamhouse.v1.StreamHouse/CreateTopic",
        ],
    );
    assert!(created.contains(r#""partitions": 3"#), "{created}");
    let acks = grpcurl(
        addr,
        &[
            "-d",
            r#"{"topic": "orders", "records": [{"key": "YQ==", "value": "aGVsbG8="}]}"#,
            "streamhouse.v1.StreamHouse/Produce",
        ],
    );
    // Key "a" goes to partition 1 of 3, as with a Kafka client.
    assert!(acks.contains(r#""partition": 1"#), "{acks}");
    let fetched = grpcurl(
        addr,
        &[
            "-d",
            r#"{"topic": "orders", "partition": 1, "offset": 0}"#,
            "streamhouse.v1.StreamHouse/Fetch",
        ],
    );
    assert!(fetched.contains(r#""value": "aGVsbG8=""#), "{fetched}");
    let health = grpcurl(addr, &["grpc.health.v1.Health/Check"]);
    assert!(health.contains("SERVING"), "{health}");
}
