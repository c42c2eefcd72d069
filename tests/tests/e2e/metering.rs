//! Usage metering as billing needs it: ingress equal to exactly what is durable, across a
//! `kill -9` in the middle of producing; egress equal to what consumers read (and nothing for
//! the control plane's message browser); requests counted; all read back through the control
//! plane's usage API per hour and day, in total and per topic.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use streamhouse_client::{Client, ConnectOptions, ProduceRecord};
use streamhouse_tests::{AgentProcess, Api, ControlPlaneProcess};

/// What a record counts for: key, value, header names and values.
fn usage_bytes(key: &[u8], value: &[u8], headers: &[(String, Vec<u8>)]) -> u64 {
    (key.len()
        + value.len()
        + headers
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()) as u64
}

/// Sums a usage report's buckets.
fn sum(report: &Value, field: &str) -> u64 {
    report["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b[field].as_u64().unwrap())
        .sum()
}

async fn usage(api: &mut Api, org: &str, query: &str) -> Value {
    let r = api.get(&format!("/api/v1/orgs/{org}/usage?{query}")).await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body
}

/// Reads every record of every partition: (records, bytes as metered).
async fn read_all(client: &Client, topic: &str) -> (u64, u64) {
    let (_, parts) = client.describe_topic(topic).await.unwrap();
    let (mut records, mut bytes) = (0, 0);
    for p in parts {
        let mut offset = p.log_start_offset;
        while offset < p.high_watermark {
            let f = client
                .fetch(topic, p.partition, offset, 1 << 20, 0)
                .await
                .unwrap();
            for r in &f.records {
                let headers: Vec<_> = r
                    .headers
                    .iter()
                    .map(|h| (h.key.clone(), h.value.to_vec()))
                    .collect();
                bytes += usage_bytes(
                    r.key.as_deref().unwrap_or_default(),
                    r.value.as_deref().unwrap_or_default(),
                    &headers,
                );
                records += 1;
                offset = r.offset + 1;
            }
        }
    }
    (records, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_is_exactly_what_is_durable_across_a_kill_and_egress_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("STREAMHOUSE_METERING__FLUSH_INTERVAL_MS", "200"),
        ("STREAMHOUSE_WRITE__FLUSH_INTERVAL_MS", "20"),
    ];
    let mut agent = AgentProcess::start(dir.path(), &env).await;
    let cp = ControlPlaneProcess::start(dir.path(), "cp", &[]).await;
    let mut ann = cp.client();
    let org = ann.sign_up("ann@acme.test", "Acme").await;
    let r = ann
        .post(
            &format!("/api/v1/orgs/{org}/topics"),
            json!({"name": "orders", "partitions": 3}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let options = ConnectOptions {
        tenant: Some(org.clone()),
        ..ConnectOptions::default()
    };

    // Producers of records of many sizes, with headers, until the agent is killed under
    // them: some requests end unacknowledged, some of those committed anyway.
    let producer = |url: String, options: ConnectOptions| async move {
        let client = Client::connect_with(&url, &options).await.unwrap();
        let client = client.with_retry(streamhouse_client::RetryPolicy {
            timeout: Duration::ZERO,
            ..Default::default()
        });
        for i in 0u32.. {
            let records = (0..20)
                .map(|j| {
                    ProduceRecord::new("v".repeat(((i * 20 + j) % 700) as usize))
                        .with_key(format!("key-{}", j % 7))
                        .with_header("h", "x".repeat((j % 5) as usize))
                })
                .collect();
            if client.produce("orders", records).await.is_err() {
                return;
            }
        }
    };
    let tasks: Vec<_> = (0..2)
        .map(|_| tokio::spawn(producer(agent.url.clone(), options.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    agent.kill9();
    for t in tasks {
        t.await.unwrap();
    }
    agent.restart().await;

    let client = Client::connect_with(&agent.url, &options).await.unwrap();
    let (records, bytes) = read_all(&client, "orders").await;
    assert!(records > 100, "only {records} records were produced");

    // Ingress: exactly the committed records and their bytes, in hours and in days.
    let hours = usage(&mut ann, &org, "granularity=hour").await;
    assert_eq!(sum(&hours, "ingress_records"), records, "{hours}");
    assert_eq!(sum(&hours, "ingress_bytes"), bytes);
    let days = usage(&mut ann, &org, "granularity=day&per_topic=true").await;
    let orders: Vec<&Value> = days["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["topic"] == "orders")
        .collect();
    let day_ingress: u64 = orders
        .iter()
        .map(|b| b["ingress_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(day_ingress, bytes, "{days}");

    // The message browser reads through the agent but is not the tenant's egress.
    let r = ann
        .get(&format!(
            "/api/v1/orgs/{org}/topics/orders/partitions/0/messages?limit=50"
        ))
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    // Egress: what this consumer read (read_all above), once written by the agent.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = usage(&mut ann, &org, "granularity=hour").await;
        let egress = (sum(&now, "egress_records"), sum(&now, "egress_bytes"));
        if egress == (records, bytes) {
            assert!(sum(&now, "requests") > 0, "{now}");
            break;
        }
        assert!(egress.0 <= records, "more egress than was read: {now}");
        assert!(
            Instant::now() < deadline,
            "egress {egress:?} never reached {records}, {bytes}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Bad queries are errors naming the parameter.
    let r = ann
        .get(&format!("/api/v1/orgs/{org}/usage?granularity=week"))
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (400, Some("granularity"))
    );
    let r = ann
        .get(&format!(
            "/api/v1/orgs/{org}/usage?from=2026-12-02T10:00:00Z&to=2026-12-01T10:00:00Z"
        ))
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (400, Some("from"))
    );
    let r = ann
        .get(&format!(
            "/api/v1/orgs/{org}/usage?granularity=day&from=2026-11-01T00:00:00Z&to=2026-11-04T00:00:00Z"
        ))
        .await;
    assert_eq!(
        r.body["buckets"].as_array().unwrap().len(),
        3,
        "every day listed: {r:?}"
    );
}
