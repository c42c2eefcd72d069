//! Consumer groups reading a topic live while a benchmark produces to it: each group
//! subscribes to every partition from its high watermark. Reports what they read and the
//! end-to-end latency from a record's send (its timestamp, set by the bench producer) to its
//! arrival at the subscriber.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use hdrhistogram::Histogram;
use tokio::task::JoinHandle;

use crate::target::Target;

/// The groups' subscriptions, running until [`Groups::finish`].
#[derive(Debug)]
pub struct Groups {
    count: usize,
    read: Arc<Mutex<(u64, u64, Histogram<u64>)>>,
    tasks: Vec<JoinHandle<()>>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Groups {
    /// Subscribes `count` groups, each on its own connection, to every partition of `topic`.
    pub async fn start(target: &Target, topic: &str, count: usize) -> anyhow::Result<Self> {
        let admin = target.connect().await?;
        let (_, parts) = admin.describe_topic(topic).await?;
        let read = Arc::new(Mutex::new((
            0,
            0,
            Histogram::new_with_bounds(1, 600_000, 3)?,
        )));
        let mut tasks = Vec::new();
        for _ in 0..count {
            let client = target.connect().await?;
            for p in &parts {
                let mut sub = client
                    .subscribe(topic, p.partition, p.high_watermark, 1 << 20)
                    .await?;
                let read = read.clone();
                tasks.push(tokio::spawn(async move {
                    while let Some(Ok(batch)) = sub.next().await {
                        let now = now_ms();
                        let mut r = read.lock().expect("poisoned");
                        for rec in &batch.records {
                            r.0 += 1;
                            r.1 += rec.value.as_ref().map_or(0, |v| v.len() as u64);
                            let ms = (now - rec.timestamp_ms).max(0) as u64;
                            r.2.saturating_record(ms.max(1));
                        }
                    }
                }));
            }
        }
        Ok(Self { count, read, tasks })
    }

    /// Waits (up to 30 s) until every group has read `records`, stops the subscriptions,
    /// prints what they read, and returns the record value bytes read.
    pub async fn finish(self, records: u64) -> u64 {
        let want = records * self.count as u64;
        for _ in 0..300 {
            if self.read.lock().expect("poisoned").0 >= want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for t in &self.tasks {
            t.abort();
        }
        let (n, bytes, h) = &*self.read.lock().expect("poisoned");
        println!(
            "  {} consumer groups read {n} of {want} records ({:.1} MB)",
            self.count,
            *bytes as f64 / 1e6
        );
        println!(
            "  end-to-end ms (send to subscriber): p50 {}  p95 {}  p99 {}  max {}",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.95),
            h.value_at_quantile(0.99),
            h.max()
        );
        *bytes
    }
}
