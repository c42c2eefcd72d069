//! What the fault tests check and probe with: every acknowledged record readable at its
//! offset, and a produce recorded only when acknowledged.

use std::collections::BTreeMap;
use std::time::Duration;

use streamhouse_client::Client;

/// Asserts that each partition of `topic` holds exactly the acknowledged records
/// `(partition, offset) -> value`: offsets dense from the log start, every value as
/// acknowledged, nothing else.
pub async fn assert_acked_readable(
    client: &Client,
    topic: &str,
    acked: &BTreeMap<(u32, u64), String>,
) {
    let (_, parts) = client.describe_topic(topic).await.expect("describe");
    for p in parts {
        let want: Vec<_> = acked
            .range((p.partition, 0)..(p.partition + 1, 0))
            .collect();
        assert_eq!(
            p.high_watermark,
            want.len() as u64,
            "partition {} holds exactly the acknowledged records",
            p.partition
        );
        let mut offset = p.log_start_offset;
        while offset < p.high_watermark {
            let f = client
                .fetch(topic, p.partition, offset, 1 << 20, 0)
                .await
                .expect("fetch");
            assert!(!f.records.is_empty(), "nothing at {}:{offset}", p.partition);
            for r in f.records {
                assert_eq!(r.offset, offset, "dense offsets");
                let v = String::from_utf8(r.value.expect("value").to_vec()).expect("utf-8");
                assert_eq!(
                    &v,
                    &acked[&(p.partition, offset)],
                    "{}:{offset}",
                    p.partition
                );
                offset += 1;
            }
        }
    }
}

/// Produces record `v<i>` to partition `i % 2` of `topic` with no retries, recording the
/// acknowledgement in `acked` — the probe the fault tests run while they break things.
pub async fn produce_recorded(
    client: &Client,
    topic: &str,
    i: u32,
    acked: &mut BTreeMap<(u32, u64), String>,
) -> Result<(), streamhouse_client::ClientError> {
    let value = format!("v{i}");
    let no_retry = client.clone().with_retry(streamhouse_client::RetryPolicy {
        timeout: Duration::ZERO,
        ..streamhouse_client::RetryPolicy::default()
    });
    let a = no_retry
        .produce(
            topic,
            vec![streamhouse_client::ProduceRecord::new(value.clone()).with_partition(i % 2)],
        )
        .await?;
    acked.insert((a[0].partition, a[0].offset), value);
    Ok(())
}
