//! Metadata-store benchmark: flush commits per second with 1, 100 and 1,000 partitions in one
//! commit, and index lookup and offset query latency. Runs against the metadata backend the
//! environment selects, as the agent would (`STREAMHOUSE_METADATA__*`), for example:
//!
//! ```sh
//! source scripts/services.sh
//! STREAMHOUSE_METADATA__BACKEND=postgres STREAMHOUSE_METADATA__URL=$STREAMHOUSE_TEST_POSTGRES_URL \
//!   cargo bench -p streamhouse-agent --bench metadata
//! ```
//!
//! With no variables it measures the embedded SQLite store in a temporary directory.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use streamhouse_core::config::Config;
use streamhouse_core::registry::{self, MetadataParts};
use streamhouse_core::{CommitBatch, LeaseKey, ObjectCommit, TenantId, TopicName, TopicSpec};

const PARTITIONS: u32 = 1000;
const RUN: Duration = Duration::from_secs(3);

fn report(what: &str, h: &Histogram<u64>, per_sec: Option<f64>) {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let rate = per_sec.map_or(String::new(), |r| format!("{r:.1}/s  "));
    println!(
        "{what:<32} {rate}p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (n={})",
        ms(0.5),
        ms(0.95),
        ms(0.99),
        h.max() as f64 / 1000.0,
        h.len()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    streamhouse_agent::backends::link();
    let tmp = tempfile::tempdir()?;
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    if !env
        .iter()
        .any(|(k, _)| k == "STREAMHOUSE_METADATA__BACKEND")
    {
        env.push((
            "STREAMHOUSE_METADATA__PATH".into(),
            tmp.path().join("bench.db").display().to_string(),
        ));
    }
    let config = Config::load(None, env)?;
    let backend = config.metadata.backend.clone();
    let m: MetadataParts = registry::build_metadata(config.metadata).await?;
    let tenant = TenantId::new("bench")?;
    let name = format!("bench-{}", std::process::id());
    let topic = m
        .store
        .create_topic(&TopicSpec::new(
            tenant.clone(),
            TopicName::new(name)?,
            PARTITIONS,
        ))
        .await?;
    let holder = "bench-agent";
    let mut epochs = Vec::new();
    for p in 0..PARTITIONS {
        let key = LeaseKey {
            tenant: tenant.clone(),
            topic_id: topic.id,
            partition: p,
        };
        epochs.push(
            m.leases
                .acquire(&key, holder, Duration::from_secs(600))
                .await?
                .epoch,
        );
    }
    println!(
        "metadata backend: {backend}, nproc {}",
        std::thread::available_parallelism()?.get()
    );
    let mut next = vec![0u64; PARTITIONS as usize];
    let mut object = 0u64;
    for n in [1u32, 100, 1000] {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        let started = Instant::now();
        while started.elapsed() < RUN {
            object += 1;
            let batches = (0..n)
                .map(|p| {
                    let b = CommitBatch {
                        topic_id: topic.id,
                        partition: p,
                        base_offset: next[p as usize],
                        record_count: 100,
                        position: u64::from(p) * 100_000,
                        size: 100_000,
                        max_timestamp_ms: 0,
                        leader_epoch: epochs[p as usize],
                        ingress_bytes: 100_000,
                    };
                    next[p as usize] += 100;
                    b
                })
                .collect();
            let t = Instant::now();
            m.store
                .commit_object(&ObjectCommit {
                    tenant: tenant.clone(),
                    object_key: format!("bench/{}/{object}", topic.id),
                    object_size: u64::from(n) * 100_000,
                    holder: holder.into(),
                    batches,
                    meter: true,
                    deadline_ms: i64::MAX,
                })
                .await?;
            h.saturating_record(t.elapsed().as_micros() as u64);
        }
        let rate = h.len() as f64 / started.elapsed().as_secs_f64();
        report(&format!("commit, {n} partitions"), &h, Some(rate));
    }
    let mut lookup = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut offsets = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for i in 0..2000u64 {
        let p = (i * 7919 % u64::from(PARTITIONS)) as u32;
        let offset = (i * 104_729) % next[p as usize].max(1);
        let t = Instant::now();
        let e = m.store.lookup(topic.id, p, offset, 64).await?;
        lookup.saturating_record(t.elapsed().as_micros() as u64);
        assert!(e.first().is_some_and(|e| e.base_offset <= offset));
        let t = Instant::now();
        m.store.partition_offset(topic.id, p).await?;
        offsets.saturating_record(t.elapsed().as_micros() as u64);
    }
    report("fetch index lookup", &lookup, None);
    report("partition offset query", &offsets, None);
    Ok(())
}
