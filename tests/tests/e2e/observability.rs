//! The alert rules and dashboards in `observability/`: the rules pass `promtool check rules`
//! and their unit tests, every dashboard query parses, and every StreamHouse metric the rules
//! and dashboards use is exported by an agent that has done some work.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use opentelemetry_proto::tonic::trace::v1::Span;
use streamhouse_client::ProduceRecord;
use streamhouse_tests::{AgentProcess, OtlpCollector};

fn observability() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../observability")
}

fn promtool(args: &[&str], dir: &Path) -> String {
    let bin = std::env::var("STREAMHOUSE_PROMTOOL").unwrap_or_else(|_| {
        panic!(
            "STREAMHOUSE_PROMTOOL is not set: run scripts/test.sh, or `source scripts/services.sh`"
        )
    });
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

/// Every PromQL expression of the dashboards.
fn dashboard_queries() -> Vec<(String, String)> {
    let mut queries = Vec::new();
    let dir = observability().join("grafana");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "the plan's five dashboards: {files:?}");
    for f in files {
        let board: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        for panel in board["panels"].as_array().expect("panels") {
            for t in panel["targets"].as_array().expect("targets") {
                let expr = t["expr"].as_str().expect("expr").to_owned();
                queries.push((format!("{} / {}", board["title"], panel["title"]), expr));
            }
        }
    }
    queries
}

/// The StreamHouse series names in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("streamhouse_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        // Recording-rule style names (`streamhouse:...`) and label values do not count.
        if rest[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            rest = &tail[end..];
            continue;
        }
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

#[test]
fn alert_rules_pass_promtool_and_their_unit_tests() {
    // The file is a PrometheusRule (kustomize deploys it); its `spec` is the rules file.
    let src = observability().join("prometheus");
    let rule: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(src.join("streamhouse-alerts.yml")).unwrap())
            .unwrap();
    assert_eq!(rule["kind"], "PrometheusRule");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("streamhouse-alerts.yml"),
        serde_yaml::to_string(&rule["spec"]).unwrap(),
    )
    .unwrap();
    std::fs::copy(
        src.join("streamhouse-alerts.test.yml"),
        dir.path().join("streamhouse-alerts.test.yml"),
    )
    .unwrap();
    let checked = promtool(&["check", "rules", "streamhouse-alerts.yml"], dir.path());
    assert!(checked.contains("SUCCESS: 9 rules found"), "{checked}");
    promtool(
        &["test", "rules", "streamhouse-alerts.test.yml"],
        dir.path(),
    );
}

#[test]
fn every_dashboard_query_parses() {
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboards\n    rules:\n");
    for (i, (_, expr)) in dashboard_queries().iter().enumerate() {
        rules.push_str(&format!(
            "      - record: streamhouse:dashboard_query_{i}\n        expr: {}\n",
            serde_json::to_string(expr).unwrap()
        ));
    }
    std::fs::write(dir.path().join("dashboards.yml"), rules).unwrap();
    promtool(&["check", "rules", "dashboards.yml"], dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_dashboards_and_alerts_use_is_exported() {
    let mut used = BTreeSet::new();
    for (_, expr) in dashboard_queries() {
        used.extend(metric_names(&expr));
    }
    // The PrometheusRule that kustomize/base deploys.
    let rules =
        std::fs::read_to_string(observability().join("prometheus/streamhouse-alerts.yml")).unwrap();
    used.extend(metric_names(&rules));
    assert!(used.len() > 15, "{used:?}");

    // An agent that produced, fetched and committed offsets has every series.
    let dir = tempfile::tempdir().unwrap();
    // The gc job exports what each topic stores on each run: every 200 ms here.
    let agent = AgentProcess::start(dir.path(), &[("STREAMHOUSE_GC__INTERVAL_MS", "200")]).await;
    let client = agent.client().await;
    client.create_topic("o", 1, None, "none").await.unwrap();
    client
        .produce("o", vec![ProduceRecord::new("x")])
        .await
        .unwrap();
    client.fetch("o", 0, 0, 0, 0).await.unwrap();
    client.commit_offsets("g", "o", &[(0, 1)]).await.unwrap();
    // Consumer lag is computed off the commit's response path, and the singleton jobs start
    // within a second: wait for both.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let page = agent.scrape().await;
        let ready = [
            "streamhouse_consumer_lag_records{",
            "streamhouse_job_runs_total{",
        ]
        .iter()
        .all(|s| page.contains(s));
        if ready || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let page = agent.scrape().await;
    let exported: BTreeSet<&str> = page
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let missing: Vec<_> = used
        .iter()
        .filter(|n| !exported.contains(n.as_str()))
        .collect();
    assert!(missing.is_empty(), "not exported: {missing:?}\n{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_level_msg_agent_id_topic_and_partition() {
    let dir = tempfile::tempdir().unwrap();
    let mut agent = AgentProcess::start_named(
        dir.path(),
        "json-agent",
        &[("STREAMHOUSE_LOG__FORMAT", "json")],
    )
    .await;
    let client = agent.client().await;
    client
        .create_topic("logged", 1, None, "none")
        .await
        .unwrap();
    client
        .produce("logged", vec![ProduceRecord::new("x")])
        .await
        .unwrap();
    assert_eq!(agent.terminate(), Some(0));
    let log = agent.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 3, "{log}");
    for l in &lines {
        assert!(
            l["ts"].is_string() && l["level"].is_string() && l["msg"].is_string(),
            "{l}"
        );
        assert_eq!(l["agent_id"], "json-agent", "{l}");
    }
    let leading = lines
        .iter()
        .find(|l| l["msg"] == "leading partition")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(leading["level"], "info");
    assert_eq!(leading["topic"], "logged");
    assert_eq!(leading["partition"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_produce_yields_a_connected_trace() {
    let collector = OtlpCollector::start().await;
    let endpoint = collector.endpoint.clone();
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(
        dir.path(),
        &[("STREAMHOUSE_TRACE__OTLP_ENDPOINT", &endpoint)],
    )
    .await;
    let client = agent.client().await;
    client
        .create_topic("traced", 1, None, "none")
        .await
        .unwrap();
    client
        .produce("traced", vec![ProduceRecord::new("x")])
        .await
        .unwrap();

    // Spans are exported in batches every 500 ms.
    let find = |name: &str, spans: &[Span]| spans.iter().find(|s| s.name == name).cloned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let spans = loop {
        let spans = collector.spans();
        if ["produce", "flush", "object.put", "metadata.commit"]
            .iter()
            .all(|n| find(n, &spans).is_some())
        {
            break spans;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "spans so far: {:?}\n{}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>(),
            agent.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let produce = find("produce", &spans).unwrap();
    let flush = find("flush", &spans).unwrap();
    // The flush that wrote the record links to the produce request it served...
    assert!(
        flush
            .links
            .iter()
            .any(|l| l.trace_id == produce.trace_id && l.span_id == produce.span_id),
        "flush links {:?}, produce {:?}",
        flush.links,
        produce.span_id
    );
    // ...and the upload and the commit are its children.
    for name in ["object.put", "metadata.commit"] {
        let child = find(name, &spans).unwrap();
        assert_eq!(child.trace_id, flush.trace_id, "{name}");
        assert_eq!(child.parent_span_id, flush.span_id, "{name}");
    }
}
