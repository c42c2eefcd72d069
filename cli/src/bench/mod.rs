//! `streamhouse bench`: the standard workloads of docs/BENCHMARKS.md against a running agent
//! (and `bench api` against the control plane).
//! Prints records/s, MB/s (10^6 bytes of record value per second), latency percentiles, and
//! what the run cost in object-store requests.

pub mod api;
mod cost;
mod fanout;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::{Args, Subcommand};
use hdrhistogram::Histogram;
use rand::{RngCore, SeedableRng};
use streamhouse_client::{ClientError, ProduceRecord};

use crate::target::Target;
use cost::{Cost, CostArgs};
use fanout::Groups;
use tonic::Code;

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Produce fixed-size random records from concurrent producers; report ack latency.
    Produce(ProduceBench),
    /// Read a topic from offset 0 with concurrent consumers; report fetch latency.
    Consume(ConsumeBench),
    /// GET paths of the control plane's REST API from concurrent clients; report latency.
    Api(api::ApiBench),
}

/// Arguments of `bench produce` (defaults: workload W1).
#[derive(Debug, Args)]
pub struct ProduceBench {
    /// Topic; created if missing.
    #[arg(long, default_value = "bench")]
    topic: String,
    /// Partitions when the topic is created.
    #[arg(long, default_value_t = 6)]
    partitions: u32,
    /// Compression when the topic is created.
    #[arg(long, default_value = "none")]
    compression: String,
    /// Value size in bytes (random, incompressible).
    #[arg(long, default_value_t = 1024)]
    record_size: usize,
    /// Key size in bytes (random; picks the partition).
    #[arg(long, default_value_t = 16)]
    key_size: usize,
    /// Records per produce request.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Concurrent producers, each with its own connection.
    #[arg(long, default_value_t = 8)]
    producers: usize,
    /// Requests each producer keeps in flight (a Kafka producer's default is 5).
    #[arg(long, default_value_t = 5)]
    in_flight: usize,
    /// Total megabytes (10^6) of values to send.
    #[arg(long, default_value_t = 500)]
    total_mb: u64,
    /// Target rate in MB/s (0: as fast as acknowledgements allow).
    #[arg(long, default_value_t = 0.0)]
    rate_mb: f64,
    /// Readers tailing the topic meanwhile, each long-polling one partition (`max_wait_ms`
    /// 5000) from its high watermark, over at most 20 connections: what reads cost producers.
    #[arg(long, default_value_t = 0)]
    long_pollers: usize,
    /// Consumer groups reading the topic live meanwhile (the fan-out workload), each
    /// subscribed to every partition from its high watermark; reports end-to-end latency.
    #[arg(long, default_value_t = 0)]
    consumer_groups: usize,
    #[command(flatten)]
    cost: CostArgs,
}

/// Arguments of `bench consume` (defaults: workload W5).
#[derive(Debug, Args)]
pub struct ConsumeBench {
    /// Topic to read from offset 0 to its high watermark.
    #[arg(long, default_value = "bench")]
    topic: String,
    /// Concurrent consumers; partitions are divided among them.
    #[arg(long, default_value_t = 6)]
    consumers: usize,
    /// `max_bytes` of each fetch.
    #[arg(long, default_value_t = 4 << 20)]
    fetch_bytes: u32,
    #[command(flatten)]
    cost: CostArgs,
}

/// Runs a benchmark.
pub async fn run(target: &Target, cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Produce(a) => produce(target, a).await,
        BenchCmd::Consume(a) => consume(target, a).await,
        BenchCmd::Api(a) => api::run(a, target.api_key.as_deref()).await,
    }
}

fn report(what: &str, records: u64, value_bytes: u64, elapsed: Duration, h: &Histogram<u64>) {
    let secs = elapsed.as_secs_f64();
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{what}: {records} records, {:.1} MB in {secs:.2} s (nproc {})",
        value_bytes as f64 / 1e6,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  throughput: {:.0} records/s, {:.2} MB/s",
        records as f64 / secs,
        value_bytes as f64 / 1e6 / secs
    );
    println!(
        "  latency ms: p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}  ({} requests)",
        ms(0.50),
        ms(0.95),
        ms(0.99),
        h.max() as f64 / 1000.0,
        h.len()
    );
}

/// How long a `RESOURCE_EXHAUSTED` message says to wait ("... retry in N ms"), if it says.
fn retry_hint(message: &str) -> Option<Duration> {
    let (_, rest) = message.split_once("retry in ")?;
    let ms = rest.split(' ').next()?.parse().ok()?;
    Some(Duration::from_millis(ms))
}

async fn produce(target: &Target, a: ProduceBench) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.batch > 0 && a.producers > 0,
        "--batch and --producers must be positive"
    );
    let admin = target.connect().await?;
    match admin
        .create_topic(&a.topic, a.partitions, None, &a.compression)
        .await
    {
        Ok(_) => {}
        Err(ClientError::Status(s)) if s.code() == Code::AlreadyExists => {}
        Err(e) => return Err(e.into()),
    }
    // One pool of random bytes; records are zero-copy slices of it at random positions.
    let mut pool = vec![0u8; 8 << 20];
    rand::thread_rng().fill_bytes(&mut pool);
    let pool = Bytes::from(pool);
    let total_records = (a.total_mb * 1_000_000).div_ceil(a.record_size as u64);
    let pollers = long_pollers(target, &a).await?;
    let groups = match a.consumer_groups {
        0 => None,
        n => Some(Groups::start(target, &a.topic, n).await?),
    };
    let cost = Cost::start(&a.cost).await;
    let next = Arc::new(AtomicU64::new(0));
    let throttled = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    let per_stream_rate = a.rate_mb * 1e6 / (a.producers * a.in_flight) as f64;
    let streams = (a.producers * a.in_flight) as f64;
    for producer in 0..a.producers {
        // One connection per producer; its in-flight requests are multiplexed on it.
        let client = target.connect().await?;
        for stream in 0..a.in_flight {
            let (client, pool, next, topic, throttled) = (
                client.clone(),
                pool.clone(),
                next.clone(),
                a.topic.clone(),
                throttled.clone(),
            );
            let (batch, record_size, key_size) = (a.batch as u64, a.record_size, a.key_size);
            let in_flight = a.in_flight;
            tasks.push(tokio::spawn(async move {
                let mut h =
                    Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("histogram");
                let mut rng = rand::rngs::StdRng::from_entropy();
                let mut sent_bytes = 0u64;
                // Paced streams start evenly spread over one request period, so the load
                // is steady rather than in bursts.
                let period = (batch as usize * record_size) as f64 / per_stream_rate.max(1e-9);
                let phase = (producer * in_flight + stream) as f64 / streams;
                let begin = Instant::now() + Duration::from_secs_f64(period * phase);
                loop {
                    let first = next.fetch_add(batch, Ordering::Relaxed);
                    if first >= total_records {
                        break;
                    }
                    let n = batch.min(total_records - first);
                    let mut records: Vec<_> = (0..n)
                        .map(|_| {
                            let at =
                                (rng.next_u32() as usize) % (pool.len() - record_size - key_size);
                            ProduceRecord::new(pool.slice(at..at + record_size))
                                .with_key(pool.slice(at + record_size..at + record_size + key_size))
                        })
                        .collect();
                    if per_stream_rate > 0.0 {
                        let due =
                            begin + Duration::from_secs_f64(sent_bytes as f64 / per_stream_rate);
                        tokio::time::sleep_until(due.into()).await;
                    }
                    // Stamped at send, so consumers can measure end-to-end latency.
                    let sent_ms = fanout::now_ms();
                    for r in &mut records {
                        r.timestamp_ms = sent_ms;
                    }
                    let t = Instant::now();
                    // A tenant over its plan's rate is told when to retry: the request is
                    // sent again then, its latency counting the wait.
                    loop {
                        match client.produce(&topic, records.clone()).await {
                            Ok(_) => break,
                            Err(e) if e.code() == Some(Code::ResourceExhausted) => {
                                // A used-up monthly quota names no wait: the run ends.
                                let wait = retry_hint(&e.to_string()).ok_or(e)?;
                                throttled.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(wait).await;
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    h.saturating_record(t.elapsed().as_micros() as u64);
                    sent_bytes += n * record_size as u64;
                }
                Ok::<_, ClientError>(h)
            }));
        }
    }
    let mut h = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3)?;
    for t in tasks {
        h.add(t.await.context("producer task")??)?;
    }
    report(
        "bench produce",
        total_records,
        total_records * a.record_size as u64,
        started.elapsed(),
        &h,
    );
    let throttled = throttled.load(Ordering::Relaxed);
    if throttled > 0 {
        println!("  throttled: {throttled} requests refused for the tenant's rate, then retried");
    }
    if let Some((read, tasks)) = pollers {
        for t in &tasks {
            t.abort();
        }
        println!(
            "  {} long-polling readers read {} records meanwhile",
            a.long_pollers,
            read.load(Ordering::Relaxed)
        );
    }
    let read = match groups {
        Some(g) => g.finish(total_records).await,
        None => 0,
    };
    cost.report(total_records * a.record_size as u64, read)
        .await;
    Ok(())
}

type Pollers = (Arc<AtomicU64>, Vec<tokio::task::JoinHandle<()>>);

/// Starts `--long-pollers` readers at the tail of the topic; they run until aborted.
async fn long_pollers(target: &Target, a: &ProduceBench) -> anyhow::Result<Option<Pollers>> {
    if a.long_pollers == 0 {
        return Ok(None);
    }
    let admin = target.connect().await?;
    let (_, parts) = admin.describe_topic(&a.topic).await?;
    let mut clients = Vec::new();
    for _ in 0..a.long_pollers.min(20) {
        clients.push(target.connect().await?);
    }
    let read = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..a.long_pollers {
        let p = &parts[i % parts.len()];
        let (client, topic, read) = (
            clients[i % clients.len()].clone(),
            a.topic.clone(),
            read.clone(),
        );
        let (partition, mut offset) = (p.partition, p.high_watermark);
        tasks.push(tokio::spawn(async move {
            loop {
                match client.fetch(&topic, partition, offset, 1 << 20, 5000).await {
                    Ok(f) => {
                        read.fetch_add(f.records.len() as u64, Ordering::Relaxed);
                        offset = f.next_offset;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        }));
    }
    Ok(Some((read, tasks)))
}

async fn consume(target: &Target, a: ConsumeBench) -> anyhow::Result<()> {
    anyhow::ensure!(a.consumers > 0, "--consumers must be positive");
    let admin = target.connect().await?;
    let (_, parts) = admin.describe_topic(&a.topic).await?;
    let cost = Cost::start(&a.cost).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..a.consumers {
        let client = target.connect().await?;
        let mine: Vec<_> = parts
            .iter()
            .filter(|p| p.partition as usize % a.consumers == i)
            .map(|p| (p.partition, p.log_start_offset, p.high_watermark))
            .collect();
        let (topic, fetch_bytes) = (a.topic.clone(), a.fetch_bytes);
        tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("histogram");
            let (mut records, mut bytes) = (0u64, 0u64);
            for (p, mut offset, end) in mine {
                while offset < end {
                    let t = Instant::now();
                    let f = client.fetch(&topic, p, offset, fetch_bytes, 0).await?;
                    h.saturating_record(t.elapsed().as_micros() as u64);
                    records += f.records.len() as u64;
                    bytes += f
                        .records
                        .iter()
                        .map(|r| r.value.as_ref().map_or(0, |v| v.len() as u64))
                        .sum::<u64>();
                    offset = f.next_offset;
                }
            }
            Ok::<_, ClientError>((h, records, bytes))
        }));
    }
    let mut h = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3)?;
    let (mut records, mut bytes) = (0, 0);
    for t in tasks {
        let (th, r, b) = t.await.context("consumer task")??;
        h.add(th)?;
        records += r;
        bytes += b;
    }
    report("bench consume", records, bytes, started.elapsed(), &h);
    cost.report(0, bytes).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_a_refusal_names_is_read() {
        let rate = "tenant noisy is over the 5.0 MiB/s of produce its starter plan allows (this \
                    agent enforces 1/2 of it); retry in 37 ms";
        assert_eq!(retry_hint(rate), Some(Duration::from_millis(37)));
        let month = "tenant spent has produced the 10.0 GB of ingress its starter plan allows";
        assert_eq!(retry_hint(month), None);
    }
}
