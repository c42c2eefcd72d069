//! One agent per SQLite metadata store: a second agent on the same data directory is refused
//! with a clear error (the lock is the OS's, so a `kill -9`ed agent does not hold it).
//!
//! The zombie test — SIGSTOP a leader past its lease, let another agent take over, SIGCONT —
//! needs several agents on one metadata store, which is the PostgreSQL backend's job: a
//! paused process holding SQLite's write lock would stall every other writer. Fencing itself
//! is proven at the store level by the conformance case
//! `zombie_commit_is_fenced_and_changes_nothing`, which every metadata backend runs.

use streamhouse_tests::{AgentProcess, bin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_agent_on_one_sqlite_store_is_refused_until_the_first_dies() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = AgentProcess::start_named(dir.path(), "first", &[]).await;
    let out = std::process::Command::new(bin("streamhouse-agent"))
        .current_dir(dir.path())
        .env("STREAMHOUSE_AGENT__GRPC_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("data/metadata.db is in use by another process"),
        "{err}"
    );
    first.pause();
    let still = std::process::Command::new(bin("streamhouse-agent"))
        .current_dir(dir.path())
        .env("STREAMHOUSE_AGENT__GRPC_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(
        still.status.code(),
        Some(1),
        "a paused agent still holds the store"
    );
    first.resume();
    first.kill9();
    let second = AgentProcess::start_named(dir.path(), "second", &[]).await;
    assert!(second.log().contains("agent serving"));
}
