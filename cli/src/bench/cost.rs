//! What a benchmark run cost: object-store requests by operation and per GB, and where chunk
//! reads were answered from, read from the agents' Prometheus metrics before and after it.

use std::collections::BTreeMap;

use anyhow::Context;
use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where the agents' metrics are.
#[derive(Debug, Clone, Args)]
pub struct CostArgs {
    /// The agents' metrics endpoints, comma-separated (one per agent of a cluster), from which
    /// the run's object-store requests are reported; empty for none.
    #[arg(
        long,
        env = "STREAMHOUSE_METRICS_URL",
        default_value = "http://127.0.0.1:9091/metrics"
    )]
    metrics: String,
}

/// Counter values summed over the agents, by series (`object_store get_range`, ...).
type Counters = BTreeMap<String, f64>;

/// The counters at the start of a run.
#[derive(Debug)]
pub struct Cost {
    urls: Vec<String>,
    before: Option<Counters>,
}

impl Cost {
    /// Reads the counters; a run goes on without a cost report when they cannot be read.
    pub async fn start(args: &CostArgs) -> Self {
        let urls: Vec<String> = args
            .metrics
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        let before = match scrape_all(&urls).await {
            Ok(c) => Some(c),
            Err(e) if !urls.is_empty() => {
                println!("  (no object-store cost report: {e:#})");
                None
            }
            Err(_) => None,
        };
        Self { urls, before }
    }

    /// Prints what the run cost, per GB of record values `written` and `read`.
    pub async fn report(&self, written: u64, read: u64) {
        let Some(before) = &self.before else {
            return;
        };
        let after = match scrape_all(&self.urls).await {
            Ok(c) => c,
            Err(e) => return println!("  (no object-store cost report: {e:#})"),
        };
        let delta =
            |series: &str| after.get(series).unwrap_or(&0.0) - before.get(series).unwrap_or(&0.0);
        let ops: Vec<String> = after
            .keys()
            .filter_map(|k| k.strip_prefix("object_store "))
            .map(|op| (op, delta(&format!("object_store {op}"))))
            .filter(|(_, n)| *n > 0.0)
            .map(|(op, n)| format!("{op} {n:.0}"))
            .collect();
        let gets = delta("object_store get") + delta("object_store get_range");
        let puts = delta("object_store put");
        let per_gb = |n: f64, bytes: u64| match bytes {
            0 => "-".to_owned(),
            b => format!("{:.0}", n / (b as f64 / 1e9)),
        };
        println!(
            "  object store: {} ({} GETs per GB read, {} PUTs per GB written; {} agent(s))",
            if ops.is_empty() {
                "no requests".to_owned()
            } else {
                ops.join(", ")
            },
            per_gb(gets, read),
            per_gb(puts, written),
            self.urls.len()
        );
        let cache: Vec<String> = ["memory", "joined", "disk", "peer", "store"]
            .iter()
            .map(|r| format!("{r} {:.0}", delta(&format!("read_cache {r}"))))
            .collect();
        println!("  chunk reads answered from: {}", cache.join(", "));
    }
}

async fn scrape_all(urls: &[String]) -> anyhow::Result<Counters> {
    anyhow::ensure!(!urls.is_empty(), "no metrics endpoint");
    let mut total = Counters::new();
    for url in urls {
        for (k, v) in scrape(url)
            .await
            .with_context(|| format!("reading {url}"))?
        {
            *total.entry(k).or_default() += v;
        }
    }
    Ok(total)
}

/// The object-store and read-cache counters of one agent. The metrics endpoint is plain
/// HTTP, so one HTTP/1.0 GET over a TCP connection does.
async fn scrape(url: &str) -> anyhow::Result<Counters> {
    let rest = url
        .strip_prefix("http://")
        .context("the metrics URL must start with http://")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/metrics"),
    };
    let mut conn = tokio::net::TcpStream::connect(host).await?;
    conn.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await?;
    let mut body = String::new();
    conn.read_to_string(&mut body).await?;
    anyhow::ensure!(
        body.starts_with("HTTP/1.") && body.split(' ').nth(1) == Some("200"),
        "answered {:?}",
        body.lines().next().unwrap_or("")
    );
    let mut out = Counters::new();
    for line in body.lines() {
        let series = [
            (
                "streamhouse_object_store_requests_total{op=\"",
                "object_store",
            ),
            (
                "streamhouse_read_cache_requests_total{result=\"",
                "read_cache",
            ),
        ];
        for (prefix, name) in series {
            if let Some(rest) = line.strip_prefix(prefix)
                && let Some((label, value)) = rest.split_once("\"} ")
                && let Ok(v) = value.trim().parse::<f64>()
            {
                out.insert(format!("{name} {label}"), v);
            }
        }
    }
    Ok(out)
}
