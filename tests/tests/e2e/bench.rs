//! `streamhouse bench` against a real agent: the run's object-store cost read from the
//! agent's metrics, consumer groups reading live with their end-to-end latency, and a run
//! that goes on without a cost report when the metrics cannot be read.

use std::time::Duration;

use streamhouse_tests::{AgentProcess, bin, eventually, metric_sum};

fn bench(agent: &AgentProcess, args: &[&str]) -> String {
    let out = std::process::Command::new(bin("streamhouse"))
        .arg("--addr")
        .arg(&agent.url)
        .arg("bench")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The number after `label` in `text`.
fn number_after(text: &str, label: &str) -> f64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
        + label.len();
    text[at..]
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?} in:\n{text}"))
}

/// Waits until the agent's three jobs (compaction, gc, snapshots) have run once.
async fn jobs_ran(agent: &AgentProcess) {
    eventually(
        "the jobs' first runs",
        Duration::from_secs(30),
        async || metric_sum(agent, "streamhouse_job_runs_total", &[]).await >= 3.0,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_reports_object_store_cost_and_consumer_groups() {
    let dir = tempfile::tempdir().unwrap();
    // Readers load chunks from the store, so the consume run has GETs to report.
    let mut agent = AgentProcess::start(
        dir.path(),
        &[("STREAMHOUSE_READ__CACHE_WRITTEN_OBJECTS", "false")],
    )
    .await;
    // The jobs' first runs list the bucket (orphans, snapshots) soon after the agent starts:
    // once they are done, a run's cost report holds only its own requests (a LIST landed in
    // the warm read's report twice in CI).
    jobs_ran(&agent).await;
    let metrics = format!("http://127.0.0.1:{}/metrics", agent.metrics_port);
    let produced = bench(
        &agent,
        &[
            "produce",
            "--topic",
            "b",
            "--total-mb",
            "2",
            "--producers",
            "2",
            "--consumer-groups",
            "2",
            "--metrics",
            &metrics,
        ],
    );
    assert!(number_after(&produced, "put ") >= 1.0, "{produced}");
    assert!(produced.contains("PUTs per GB written"), "{produced}");
    // 2 MB of 1 KiB values: 1954 records, each read by both groups.
    assert!(
        produced.contains("2 consumer groups read 3908 of 3908 records"),
        "{produced}"
    );
    assert!(
        produced.contains("end-to-end ms (send to subscriber): p50 "),
        "{produced}"
    );

    // The groups read everything through the cache: reading it again costs nothing.
    let warm = bench(&agent, &["consume", "--topic", "b", "--metrics", &metrics]);
    assert!(warm.contains("object store: no requests"), "{warm}");
    assert!(number_after(&warm, "memory ") >= 1.0, "{warm}");
    // A new process starts with an empty cache: each chunk costs one GET.
    agent.terminate();
    agent.restart().await;
    jobs_ran(&agent).await;
    let cold = bench(&agent, &["consume", "--topic", "b", "--metrics", &metrics]);
    let gets = number_after(&cold, "get_range ");
    assert!(gets >= 1.0, "{cold}");
    assert_eq!(number_after(&cold, "store "), gets, "{cold}");

    // Metrics that cannot be read cost the run its report, not its result.
    let unreachable = bench(
        &agent,
        &[
            "consume",
            "--topic",
            "b",
            "--metrics",
            "http://127.0.0.1:1/metrics",
        ],
    );
    assert!(unreachable.contains("throughput:"), "{unreachable}");
    assert!(
        unreachable.contains("(no object-store cost report: reading http://127.0.0.1:1/metrics"),
        "{unreachable}"
    );
}
