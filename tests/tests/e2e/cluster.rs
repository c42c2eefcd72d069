//! Several agents on one PostgreSQL metadata store: partitions spread over the live agents,
//! produces sent to any agent are forwarded to the leader, a graceful shutdown hands
//! partitions over at once, agent groups refuse other groups' tenants, and cluster clients
//! prefer their own zone.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use streamhouse_client::{Client, ProduceRecord, RetryPolicy};
use streamhouse_tests::{AgentProcess, Metadata, assert_acked_readable, bin, env_refs};

/// Waits until `client`'s agent sees `n` live agents serving its tenant.
async fn wait_for_members(client: &Client, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let agents = client.describe_cluster().await.unwrap().agents;
        if agents.len() == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} agents, want {n}",
            agents.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How many partitions an agent's log says it started leading.
fn leads(agent: &AgentProcess) -> usize {
    agent.log().matches("leading partition").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_spread_and_produces_to_any_agent_reach_the_leader() {
    let dir = tempfile::tempdir().unwrap();
    let env = Metadata::Postgres.env().await;
    // The agents share the data directory, hence one local object store.
    let mut agents = Vec::new();
    for name in ["a", "b", "c"] {
        agents.push(AgentProcess::start_named(dir.path(), name, &env_refs(&env)).await);
    }
    let client = agents[0].client().await;
    wait_for_members(&client, 3).await;
    client.create_topic("t", 12, None, "none").await.unwrap();
    // Every agent takes its share within a few lease-loop passes.
    let deadline = Instant::now() + Duration::from_secs(20);
    while agents.iter().map(leads).sum::<usize>() < 12 {
        assert!(Instant::now() < deadline, "not all partitions are led");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for a in &agents {
        assert!(leads(a) >= 1, "agent leads nothing:\n{}", a.log());
    }
    // Each agent is sent records for every partition; the ones it does not lead are
    // forwarded, and all come back at their acknowledged offsets.
    let mut acked = BTreeMap::new();
    for (i, a) in agents.iter().enumerate() {
        let c = a.client().await;
        for p in 0..12u32 {
            let v = format!("via-{i}-to-{p}");
            let ack = c
                .produce("t", vec![ProduceRecord::new(v.clone()).with_partition(p)])
                .await
                .unwrap();
            assert_eq!(ack[0].partition, p);
            assert!(acked.insert((p, ack[0].offset), v).is_none());
        }
    }
    assert_acked_readable(&agents[2].client().await, "t", &acked).await;
    // Nothing moved while all three stayed up: 12 leaderships in all.
    assert_eq!(agents.iter().map(leads).sum::<usize>(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_hands_partitions_over_without_waiting_for_the_lease() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = Metadata::Postgres.env().await;
    // A long lease: only a handover, not an expiry, can move partitions within the test.
    env.push(("STREAMHOUSE_LEASE__TTL_MS".into(), "20000".into()));
    let mut a = AgentProcess::start_named(dir.path(), "a", &env_refs(&env)).await;
    let b = AgentProcess::start_named(dir.path(), "b", &env_refs(&env)).await;
    let client_b = b.client().await;
    wait_for_members(&client_b, 2).await;
    client_b.create_topic("t", 8, None, "none").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while leads(&a) + leads(&b) < 8 {
        assert!(Instant::now() < deadline, "not all partitions are led");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(leads(&a) >= 1, "a leads nothing");
    for p in 0..8u32 {
        client_b
            .produce("t", vec![ProduceRecord::new("before").with_partition(p)])
            .await
            .unwrap();
    }

    let stopped = Instant::now();
    assert_eq!(a.terminate(), Some(0), "{}", a.log());
    // B now leads all of A's partitions, long before A's leases would have expired.
    let no_retry = client_b.clone().with_retry(RetryPolicy {
        timeout: Duration::from_secs(5),
        ..RetryPolicy::default()
    });
    for p in 0..8u32 {
        no_retry
            .produce("t", vec![ProduceRecord::new("after").with_partition(p)])
            .await
            .unwrap_or_else(|e| panic!("partition {p} after the handover: {e}\n{}", b.log()));
    }
    let took = stopped.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "handover took {took:?}, as long as a lease"
    );
    assert!(a.log().contains("shut down"));
    let (_, parts) = client_b.describe_topic("t").await.unwrap();
    assert!(parts.iter().all(|p| p.high_watermark == 2), "{parts:?}");
    // The metrics moved with the leases: B leads all eight, having taken over A's.
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.metric("streamhouse_partition_lease_count").await < 8.0 {
        assert!(Instant::now() < deadline, "{}", b.scrape().await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let taken = b.metric("streamhouse_partition_failover_total").await;
    assert_eq!(taken as usize, leads(&a), "{}", b.scrape().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_serve_only_their_tenants_and_clients_prefer_their_zone() {
    let dir = tempfile::tempdir().unwrap();
    let env = Metadata::Postgres.env().await;
    let with = |group: &str, zone: &str| {
        let mut e = env.clone();
        e.push(("STREAMHOUSE_AGENT__GROUP".into(), group.into()));
        e.push(("STREAMHOUSE_AGENT__ZONE".into(), zone.into()));
        e
    };
    let assign = std::process::Command::new(bin("streamhouse-agent"))
        .args(["tenant-group", "acme", "analytics"])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert!(assign.status.success(), "{assign:?}");
    let default =
        AgentProcess::start_named(dir.path(), "d1", &env_refs(&with("default", "z1"))).await;
    let x1 = AgentProcess::start_named(dir.path(), "x1", &env_refs(&with("analytics", "z1"))).await;
    let x2 = AgentProcess::start_named(dir.path(), "x2", &env_refs(&with("analytics", "z2"))).await;

    // The default group's agent refuses acme's requests and names the right group.
    let wrong = default.client().await.with_tenant("acme").unwrap();
    let e = wrong.create_topic("t", 4, None, "none").await.unwrap_err();
    assert_eq!(e.code(), Some(tonic::Code::FailedPrecondition), "{e}");
    assert!(e.to_string().contains("agent group \"analytics\""), "{e}");
    // ...but tells a cluster client where acme is served.
    let found = wrong.describe_cluster().await.unwrap();
    assert_eq!(found.group, "analytics");
    let mut ids: Vec<_> = found.agents.iter().map(|a| a.agent_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["x1", "x2"]);

    // A cluster client seeded with the wrong agent ends up on acme's group, in its zone.
    let acme = Client::connect_cluster(&[default.url.as_str()], Some("acme"), "z2")
        .await
        .unwrap();
    assert_eq!(acme.agents(), vec![x2.url.clone()]);
    acme.create_topic("t", 4, None, "none").await.unwrap();
    let mut acked = BTreeMap::new();
    for p in 0..4u32 {
        let v = format!("r{p}");
        let a = acme
            .produce("t", vec![ProduceRecord::new(v.clone()).with_partition(p)])
            .await
            .unwrap();
        acked.insert((p, a[0].offset), v);
    }
    assert_acked_readable(&x1.client().await.with_tenant("acme").unwrap(), "t", &acked).await;
    // The default tenant is still served by the default group only.
    let e = x1.client().await.list_topics().await.unwrap_err();
    assert_eq!(e.code(), Some(tonic::Code::FailedPrecondition), "{e}");
    default.client().await.list_topics().await.unwrap();

    // A cluster client follows the membership: an agent that joins later is used too.
    let client = Client::connect_cluster(&[default.url.as_str()], None, "")
        .await
        .unwrap();
    assert_eq!(client.agents(), vec![default.url.clone()]);
    let d2 = AgentProcess::start_named(dir.path(), "d2", &env_refs(&with("default", "z1"))).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.agents().len() < 2 {
        assert!(Instant::now() < deadline, "{:?}", client.agents());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut want = vec![default.url.clone(), d2.url.clone()];
    want.sort();
    assert_eq!(client.agents(), want);
    client.list_topics().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_produce_continues_the_senders_trace() {
    let collector = streamhouse_tests::OtlpCollector::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = Metadata::Postgres.env().await;
    env.push((
        "STREAMHOUSE_TRACE__OTLP_ENDPOINT".into(),
        collector.endpoint.clone(),
    ));
    let a = AgentProcess::start_named(dir.path(), "a", &env_refs(&env)).await;
    let b = AgentProcess::start_named(dir.path(), "b", &env_refs(&env)).await;
    let client = a.client().await;
    wait_for_members(&client, 2).await;
    client.create_topic("t", 2, None, "none").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while leads(&a) + leads(&b) < 2 {
        assert!(Instant::now() < deadline, "not all partitions are led");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // One partition each: one of these produces is forwarded from A to B.
    for p in 0..2u32 {
        client
            .produce("t", vec![ProduceRecord::new("x").with_partition(p)])
            .await
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let spans = collector.spans();
        let produces: Vec<_> = spans.iter().filter(|s| s.name == "produce").collect();
        let continued = produces.iter().any(|child| {
            produces
                .iter()
                .any(|p| p.span_id == child.parent_span_id && p.trace_id == child.trace_id)
        });
        if continued {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no produce span is the child of another: {produces:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
