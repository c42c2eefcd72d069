//! Authentication and authorization with API keys on two agents over PostgreSQL: every RPC
//! needs a key, each key is limited to its tenant, its permissions and its topic patterns,
//! another tenant's topics are indistinguishable from missing ones, only agents (proving the
//! cluster secret) may forward or read chunks from each other, a revocation reaches both
//! agents within the key cache's TTL, and the audit log records it all. Then development mode:
//! loopback only, unless `auth.mode = "none"` is set on purpose.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use streamhouse_client::{Client, ClientError, ConnectOptions, ProduceRecord};
use streamhouse_proto::internal::v1::ReadChunkRequest;
use streamhouse_proto::internal::v1::agent_internal_client::AgentInternalClient;
use streamhouse_proto::v1 as pb;
use streamhouse_proto::v1::stream_house_client::StreamHouseClient;
use streamhouse_tests::{
    AgentProcess, Metadata, admin, assert_acked_readable, env_refs, free_port,
};
use tonic::Code;

const SECRET: &str = "e2e-cluster-secret-0123456789abcdef0123456789";

/// The status code of a refused call.
fn code<T: std::fmt::Debug>(r: Result<T, ClientError>) -> Code {
    r.expect_err("the call is refused")
        .code()
        .expect("a gRPC status")
}

async fn with_key(url: &str, key: &str) -> Client {
    let options = ConnectOptions {
        api_key: Some(key.to_owned()),
        ..ConnectOptions::default()
    };
    Client::connect_with(url, &options).await.unwrap()
}

/// A produce request with `headers`, sent with a bare gRPC client.
async fn raw_produce(url: &str, headers: &[(&'static str, &str)]) -> tonic::Status {
    let mut c = StreamHouseClient::connect(url.to_owned()).await.unwrap();
    let mut req = tonic::Request::new(pb::ProduceRequest {
        topic: "orders".into(),
        records: vec![pb::ProduceRecord::new("forged")],
    });
    for (k, v) in headers {
        req.metadata_mut().insert(*k, v.parse().unwrap());
    }
    c.produce(req).await.expect_err("refused")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_authenticate_and_authorize_every_rpc_on_every_agent() {
    let dir = tempfile::tempdir().unwrap();
    let db = Metadata::Postgres.env().await;
    let mut env = db.clone();
    for (k, v) in [
        ("STREAMHOUSE_AUTH__MODE", "api_key"),
        ("STREAMHOUSE_AUTH__CLUSTER_SECRET", SECRET),
        ("STREAMHOUSE_AUTH__KEY_CACHE_TTL_MS", "1000"),
    ] {
        env.push((k.into(), v.into()));
    }
    let db = env_refs(&db);
    admin(dir.path(), &db, &["tenant", "create", "acme"]);
    admin(
        dir.path(),
        &db,
        &["tenant", "create", "beta", "--plan", "growth"],
    );
    let key = |tenant: &str, name: &str, permissions: &str, topics: &[&str]| {
        let mut args = vec![
            "key",
            "create",
            "--tenant",
            tenant,
            "--name",
            name,
            "--permissions",
            permissions,
        ];
        let topics = topics.join(",");
        if !topics.is_empty() {
            args.extend(["--topics", &topics]);
        }
        admin(dir.path(), &db, &args).trim().to_owned()
    };
    let acme_ops = key("acme", "ops", "read,write,admin", &[]);
    let producer = key("acme", "producer", "write", &["orders*"]);
    let reader = key("acme", "reader", "read", &[]);
    let beta_ops = key("beta", "ops", "read,write,admin", &[]);

    let agents = [
        AgentProcess::start_named(dir.path(), "a", &env_refs(&env)).await,
        AgentProcess::start_named(dir.path(), "b", &env_refs(&env)).await,
    ];
    let (a, b) = (&agents[0].url, &agents[1].url);

    // Without a key, or with a bad one, nothing is served.
    let anonymous = agents[0].client().await;
    assert_eq!(code(anonymous.list_topics().await), Code::Unauthenticated);
    assert_eq!(
        code(
            anonymous
                .produce("orders", vec![ProduceRecord::new("x")])
                .await
        ),
        Code::Unauthenticated
    );
    let err = anonymous.create_topic("orders", 1, None, "none").await;
    assert!(
        format!("{err:?}").contains("requires an API key"),
        "{err:?}"
    );
    let wrong_secret = format!("{}{}", &reader[..reader.len() - 4], "0000");
    for bad in ["shk_nonsense", wrong_secret.as_str()] {
        let c = with_key(a, bad).await;
        assert_eq!(code(c.list_topics().await), Code::Unauthenticated, "{bad}");
    }

    // Each tenant has its own namespace.
    let ops = with_key(a, &acme_ops).await;
    ops.create_topic("orders", 6, None, "none").await.unwrap();
    ops.create_topic("payroll", 1, None, "none").await.unwrap();
    let beta = with_key(b, &beta_ops).await;
    beta.create_topic("orders", 2, None, "none").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while ops.describe_cluster().await.unwrap().agents.len() < 2 {
        assert!(Instant::now() < deadline, "the agents never saw each other");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The write-only key produces to its topics through both agents: the partitions the
    // receiving agent does not lead are forwarded, carrying the cluster secret.
    let mut acked = BTreeMap::new();
    for url in [a, b] {
        let p = with_key(url, &producer).await;
        for i in 0..24 {
            let v = format!("{url}-{i}");
            let ack = p
                .produce(
                    "orders",
                    vec![ProduceRecord::new(v.clone()).with_partition(i % 6)],
                )
                .await
                .unwrap();
            acked.insert((ack[0].partition, ack[0].offset), v);
        }
        assert_eq!(
            code(p.produce("payroll", vec![ProduceRecord::new("x")]).await),
            Code::PermissionDenied
        );
        assert_eq!(
            code(p.fetch("orders", 0, 0, 1 << 20, 0).await),
            Code::PermissionDenied
        );
        assert_eq!(
            code(p.create_topic("orders-eu", 1, None, "none").await),
            Code::PermissionDenied
        );
        assert_eq!(code(p.list_topics().await), Code::PermissionDenied);
    }
    assert_acked_readable(&with_key(b, &reader).await, "orders", &acked).await;
    let r = with_key(a, &reader).await;
    assert_eq!(
        code(r.produce("orders", vec![ProduceRecord::new("x")]).await),
        Code::PermissionDenied
    );
    assert_eq!(code(r.delete_topic("orders").await), Code::PermissionDenied);
    let names: Vec<String> = r
        .list_topics()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["orders", "payroll"]);
    // beta's `orders` is another topic, empty.
    let (_, parts) = beta.describe_topic("orders").await.unwrap();
    assert_eq!(parts.len(), 2);
    assert!(parts.iter().all(|p| p.high_watermark == 0));

    // Another tenant's topic answers exactly as a missing one does.
    let theirs = beta.describe_topic("payroll").await.unwrap_err();
    let missing = beta.describe_topic("pay-roll").await.unwrap_err();
    assert_eq!(theirs.code(), Some(Code::NotFound));
    assert_eq!(theirs.code(), missing.code());
    assert_eq!(
        theirs.to_string(),
        missing.to_string().replace("pay-roll", "payroll")
    );
    // A key acts for its own tenant only.
    let options = ConnectOptions {
        api_key: Some(acme_ops.clone()),
        tenant: Some("beta".into()),
        tls: None,
    };
    let mixed = Client::connect_with(a, &options).await.unwrap();
    assert_eq!(code(mixed.list_topics().await), Code::PermissionDenied);

    // Only agents forward: a client setting the forwarding header is refused, with a valid
    // key, with a made-up cluster secret, or with neither.
    let bearer = format!("Bearer {beta_ops}");
    for headers in [
        vec![
            ("x-streamhouse-forwarded-by", "a"),
            ("x-streamhouse-tenant", "acme"),
        ],
        vec![
            ("x-streamhouse-forwarded-by", "a"),
            ("x-streamhouse-tenant", "acme"),
            ("authorization", bearer.as_str()),
        ],
        vec![
            ("x-streamhouse-forwarded-by", "a"),
            ("x-streamhouse-tenant", "acme"),
            (
                "x-streamhouse-cluster-auth",
                "e2e-cluster-secret-guessed-0000000000000",
            ),
        ],
    ] {
        let status = raw_produce(b, &headers).await;
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "{headers:?}: {status:?}"
        );
        assert!(status.message().contains("cluster secret"), "{status:?}");
    }
    assert_acked_readable(&r, "orders", &acked).await;
    // And only agents read chunks from one another.
    let mut internal = AgentInternalClient::connect(a.clone()).await.unwrap();
    let chunk = ReadChunkRequest {
        object_key: "not-an-object".into(),
        object_size: 1 << 20,
        chunk_bytes: 1 << 20,
        index: 0,
    };
    let status = internal.read_chunk(chunk.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let mut proven = tonic::Request::new(chunk);
    proven
        .metadata_mut()
        .insert("x-streamhouse-cluster-auth", SECRET.parse().unwrap());
    let status = internal.read_chunk(proven).await.unwrap_err();
    assert_eq!(
        status.code(),
        Code::InvalidArgument,
        "past authentication: {status:?}"
    );

    // Lookups are cached: far more hits than misses so far.
    let hits = agents[0]
        .metric("streamhouse_auth_key_lookups_total{result=\"hit\"}")
        .await;
    let misses = agents[0]
        .metric("streamhouse_auth_key_lookups_total{result=\"miss\"}")
        .await;
    assert!(hits > 3.0 * misses, "{hits} hits, {misses} misses");

    // A revocation reaches every agent within the cache's TTL (1 s here).
    let producer_id = &producer[..16];
    admin(dir.path(), &db, &["key", "revoke", producer_id]);
    let revoked = Instant::now();
    for url in [a, b] {
        let p = with_key(url, &producer).await;
        loop {
            match p.produce("orders", vec![ProduceRecord::new("late")]).await {
                Err(e) if e.code() == Some(Code::Unauthenticated) => break,
                r => assert!(
                    revoked.elapsed() < Duration::from_secs(10),
                    "still accepted 10 s after the revocation: {r:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    println!(
        "revocation took effect on both agents after {:?}",
        revoked.elapsed()
    );

    // The audit log holds the changes and the refusals, with where they came from.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = admin(dir.path(), &db, &["audit", "--limit", "200"]);
        let has = |action: &str, target: &str| {
            log.lines()
                .any(|l| l.contains(action) && l.contains(target))
        };
        if has("topic.create", "payroll")
            && has("key.revoke", producer_id)
            && has("key.create", producer_id)
            && has("auth.failed", "127.0.0.1:")
        {
            break;
        }
        assert!(Instant::now() < deadline, "incomplete audit log:\n{log}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Last-used times are written when the agents stop, at the latest.
    for mut agent in agents {
        assert_eq!(agent.terminate(), Some(0));
    }
    let keys = admin(dir.path(), &db, &["key", "list", "--tenant", "acme"]);
    let line = |id: &str| keys.lines().find(|l| l.starts_with(id)).unwrap().to_owned();
    assert!(!line(&reader[..16]).contains("never"), "{keys}");
    assert!(line(producer_id).contains("revoked"), "{keys}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn development_mode_is_for_loopback_unless_auth_is_off_on_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let everywhere = format!("0.0.0.0:{}", free_port());
    // (agent name, its environment, what its refusal to start says)
    type Refused<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let refused: [Refused; 3] = [
        (
            "open",
            vec![("STREAMHOUSE_AGENT__GRPC_ADDR", everywhere.as_str())],
            "auth.mode = \"api_key\"",
        ),
        (
            "nosecret",
            vec![("STREAMHOUSE_AUTH__MODE", "api_key")],
            "needs auth.cluster_secret",
        ),
        (
            "shortsecret",
            vec![
                ("STREAMHOUSE_AUTH__MODE", "api_key"),
                ("STREAMHOUSE_AUTH__CLUSTER_SECRET", "hunter2"),
            ],
            "at least 32",
        ),
    ];
    for (name, env, why) in refused {
        let mut agent = AgentProcess::launch(dir.path(), name, &env);
        let (code, log) = agent.wait_exit(Duration::from_secs(30));
        assert_eq!(code, Some(1), "{name}:\n{log}");
        assert!(log.contains(why), "{name}: no {why:?} in\n{log}");
        assert!(
            !log.contains("hunter2"),
            "the secret is not repeated:\n{log}"
        );
    }
    // On purpose, any address serves without keys, with a warning.
    let env = [
        ("STREAMHOUSE_AGENT__GRPC_ADDR", everywhere.as_str()),
        ("STREAMHOUSE_AUTH__MODE", "none"),
    ];
    let agent = AgentProcess::start_named(dir.path(), "none", &env).await;
    assert!(
        agent
            .log()
            .contains("any client that reaches this address acts as any tenant")
    );
    let c = agent.client().await.with_tenant("anyone").unwrap();
    c.create_topic("t", 1, None, "none").await.unwrap();
    c.produce("t", vec![ProduceRecord::new("v")]).await.unwrap();
}
