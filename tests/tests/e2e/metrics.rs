//! The agent's Prometheus endpoint after some traffic: every metric an operator needs is
//! exported, and moves with what the agent did.

use streamhouse_client::ProduceRecord;
use streamhouse_tests::AgentProcess;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_produce_fetch_flush_and_object_store_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), &[]).await;
    let client = agent.client().await;
    client.create_topic("m", 2, None, "none").await.unwrap();
    for i in 0..10u32 {
        client
            .produce(
                "m",
                vec![ProduceRecord::new(format!("value-{i}")).with_partition(i % 2)],
            )
            .await
            .unwrap();
    }
    let f = client.fetch("m", 0, 0, 0, 0).await.unwrap();
    assert_eq!(f.records.len(), 5);
    // A fetch of a missing topic is counted under its status code.
    client.fetch("missing", 0, 0, 0, 0).await.unwrap_err();

    // Two groups commit; the lag metric shows the furthest behind, with no group label.
    client
        .commit_offsets("ahead", "m", &[(0, 4)])
        .await
        .unwrap();
    client
        .commit_offsets("behind", "m", &[(0, 2)])
        .await
        .unwrap();

    let m = |series: &'static str| agent.metric(series);
    // Lag is computed off the commit's response path: wait for it.
    let lag = r#"streamhouse_consumer_lag_records{tenant="default",topic="m"}"#;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !agent.scrape().await.contains(lag) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    while m(lag).await != 3.0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(m(lag).await, 3.0);
    // The write pool's: SQLite's writes take turns on one connection.
    assert_eq!(m("streamhouse_metadata_connections_max").await, 1.0);
    assert!(m("streamhouse_metadata_connections_in_use").await <= 1.0);
    assert_eq!(
        m("streamhouse_agent_write_latency_seconds_count").await,
        10.0
    );
    assert_eq!(m("streamhouse_agent_read_latency_seconds_count").await, 1.0);
    assert_eq!(
        m(r#"streamhouse_agent_requests_total{rpc="produce",code="OK"}"#).await,
        10.0
    );
    assert_eq!(
        m(r#"streamhouse_agent_requests_total{rpc="fetch",code="NOT_FOUND"}"#).await,
        1.0
    );
    assert_eq!(
        m(r#"streamhouse_topic_records_in_total{tenant="default",topic="m"}"#).await,
        10.0
    );
    assert_eq!(
        m(r#"streamhouse_topic_records_out_total{tenant="default",topic="m"}"#).await,
        5.0
    );
    assert!(m(r#"streamhouse_topic_bytes_in_total{tenant="default",topic="m"}"#).await >= 70.0);
    // One object per flush; each produce waited for its own flush.
    assert_eq!(m("streamhouse_flush_object_bytes_count").await, 10.0);
    assert_eq!(m("streamhouse_flush_upload_seconds_count").await, 10.0);
    // And the topic's manifest, for rebuilding metadata from the bucket.
    assert_eq!(
        m(r#"streamhouse_object_store_requests_total{op="put"}"#).await,
        11.0
    );
    // The fetch read the objects the agent had just written (one per produce, as each waited
    // for its own flush) from the read cache, not from the store.
    assert_eq!(
        m(r#"streamhouse_read_cache_requests_total{result="memory"}"#).await,
        5.0
    );
    assert_eq!(
        m(r#"streamhouse_object_store_requests_total{op="get_range"}"#).await,
        0.0
    );
    assert_eq!(
        m(r#"streamhouse_object_store_request_duration_seconds_count{op="put"}"#).await,
        11.0
    );
    assert_eq!(
        m(r#"streamhouse_metadata_query_duration_seconds_count{op="commit"}"#).await,
        10.0
    );
    // Every metadata call is metered, not only the hot ones: the lease loop's heartbeats,
    // and the lookup of the missing topic, counted as a failed `get_topic`.
    assert!(m(r#"streamhouse_metadata_query_duration_seconds_count{op="heartbeat"}"#).await >= 1.0);
    assert_eq!(
        m(r#"streamhouse_metadata_errors_total{op="get_topic"}"#).await,
        1.0
    );
    assert_eq!(
        m(r#"streamhouse_metadata_errors_total{op="commit"}"#).await,
        0.0
    );
    // The lease loop sets the lease count on its next pass, within a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while m("streamhouse_partition_lease_count").await != 2.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            agent.scrape().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(m("streamhouse_partition_failover_total").await, 0.0);
    assert_eq!(m("streamhouse_segment_cache_hit_ratio").await, 1.0);
    assert_eq!(
        m(concat!(
            r#"streamhouse_build_info{version=""#,
            env!("CARGO_PKG_VERSION"),
            r#""}"#
        ))
        .await,
        1.0
    );
}
