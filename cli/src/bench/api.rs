//! `streamhouse bench api`: GET requests against the control plane's REST API from concurrent
//! clients, with requests/s and latency percentiles per path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use hdrhistogram::Histogram;

/// Arguments of `bench api`.
#[derive(Debug, Args)]
pub struct ApiBench {
    /// The control plane's URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// A path to GET, such as `/api/v1/orgs/acme/topics`; repeat for several (each is
    /// measured on its own).
    #[arg(long = "path", required = true)]
    pub paths: Vec<String>,
    /// Requests per path.
    #[arg(long, default_value_t = 1000)]
    pub requests: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
}

/// Runs the benchmark, authenticating with `api_key` (the global `--api-key`).
pub async fn run(a: ApiBench, api_key: Option<&str>) -> anyhow::Result<()> {
    let Some(key) = api_key else {
        bail!("bench api needs an API key: --api-key or STREAMHOUSE_API_KEY");
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .build()
        .context("HTTP client")?;
    for path in &a.paths {
        let url = format!("{}{path}", a.url.trim_end_matches('/'));
        // One request first: a wrong path or key fails here, not a thousand times.
        let first = http.get(&url).bearer_auth(key).send().await?;
        if !first.status().is_success() {
            bail!("GET {path}: {} {}", first.status(), first.text().await?);
        }
        let next = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let clients: Vec<_> = (0..a.concurrency.max(1))
            .map(|_| {
                let (http, url, key) = (http.clone(), url.clone(), key.to_owned());
                let (next, bytes, total) = (next.clone(), bytes.clone(), a.requests);
                tokio::spawn(async move {
                    let mut h =
                        Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("histogram");
                    while next.fetch_add(1, Ordering::Relaxed) < total {
                        let t = Instant::now();
                        let r = http.get(&url).bearer_auth(&key).send().await?;
                        let status = r.status();
                        let body = r.bytes().await?;
                        if !status.is_success() {
                            bail!("GET {url}: {status}");
                        }
                        h.saturating_record(t.elapsed().as_micros() as u64);
                        bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                    }
                    Ok(h)
                })
            })
            .collect();
        let mut h = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("histogram");
        for c in clients {
            h.add(c.await??).expect("same bounds");
        }
        let secs = started.elapsed().as_secs_f64();
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "GET {path}: {} requests in {secs:.2} s from {} clients, {:.0} requests/s, {:.1} kB \
             per response",
            h.len(),
            a.concurrency,
            h.len() as f64 / secs,
            bytes.load(Ordering::Relaxed) as f64 / h.len().max(1) as f64 / 1e3
        );
        println!(
            "  latency ms: p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}",
            ms(0.50),
            ms(0.95),
            ms(0.99),
            h.max() as f64 / 1000.0
        );
    }
    Ok(())
}
