//! What the storage-lifecycle tests read and wait for: a topic's whole log, labelled metrics,
//! and the `streamhouse-agent objects` report of the bucket against the metadata store.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use streamhouse_client::Client;
use streamhouse_client::proto::ConsumedRecord;

use crate::{AgentProcess, admin};

/// Every record of every partition of `topic`, from each log start to its high watermark,
/// by `(partition, offset)`, following `next_offset` across gaps key compaction left.
pub async fn read_log(client: &Client, topic: &str) -> BTreeMap<(u32, u64), ConsumedRecord> {
    let (_, parts) = client.describe_topic(topic).await.expect("describe");
    let mut out = BTreeMap::new();
    for p in parts {
        let mut offset = p.log_start_offset;
        while offset < p.high_watermark {
            let f = client
                .fetch(topic, p.partition, offset, 1 << 20, 0)
                .await
                .unwrap_or_else(|e| panic!("fetch {topic}/{}@{offset}: {e}", p.partition));
            assert!(
                f.next_offset > offset,
                "{topic}/{}: no progress at {offset}",
                p.partition
            );
            for r in f.records {
                assert!(r.offset >= offset, "records in offset order");
                out.insert((p.partition, r.offset), r);
            }
            offset = f.next_offset;
        }
    }
    out
}

/// The sum of the samples of metric `name` (labelled or not) whose labels contain every one
/// of `labels` (such as `job="gc"`) on the agent's `/metrics` page.
pub async fn metric_sum(agent: &AgentProcess, name: &str, labels: &[&str]) -> f64 {
    let page = agent.scrape().await;
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let rest = series.strip_prefix(name)?;
            let ok = (rest.is_empty() || rest.starts_with('{'))
                && labels.iter().all(|want| rest.contains(want));
            ok.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// `streamhouse-agent objects` run in `dir` with `env`: the record objects in the bucket,
/// by `objects`, `bytes`, `referenced`, `unreferenced` and `unknown`.
pub fn objects_report(dir: &Path, env: &[(&str, &str)]) -> HashMap<String, u64> {
    admin(dir, env, &["objects"])
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

/// Polls `check` every 100 ms until it holds; panics naming `what` after `timeout`.
pub async fn eventually(what: &str, timeout: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
