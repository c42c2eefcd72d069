//! The agent on PostgreSQL when the database misbehaves: restarted under load, down when the
//! agent starts, wrong credentials or database name, TLS with `sslmode=verify-full`; and the
//! `migrate` command.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use streamhouse_client::{ProduceRecord, RetryPolicy};
use streamhouse_tests::{
    AgentProcess, PG_PASSWORD, PgCluster, TestCa, assert_acked_readable, bin, env_refs, free_port,
};

fn pg_env(url: &str) -> Vec<(String, String)> {
    vec![
        ("STREAMHOUSE_METADATA__BACKEND".into(), "postgres".into()),
        ("STREAMHOUSE_METADATA__URL".into(), url.into()),
        ("STREAMHOUSE_LEASE__TTL_MS".into(), "3000".into()),
        // Fail fast while the server is down, so producers see errors rather than hangs.
        (
            "STREAMHOUSE_METADATA__ACQUIRE_TIMEOUT_MS".into(),
            "1000".into(),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_restart_under_load_loses_nothing() {
    let pg = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let env = pg_env(&pg.url());
    let agent = AgentProcess::start(dir.path(), &env_refs(&env)).await;
    let client = agent.client().await.with_retry(RetryPolicy {
        timeout: Duration::ZERO,
        ..RetryPolicy::default()
    });
    client.create_topic("t", 3, None, "none").await.unwrap();

    let acked: Arc<Mutex<BTreeMap<(u32, u64), String>>> = Arc::default();
    let errors = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut producers = Vec::new();
    for p in 0..4 {
        let (client, acked, errors, stop) =
            (client.clone(), acked.clone(), errors.clone(), stop.clone());
        producers.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let v = format!("{p}-{i}");
                i += 1;
                let r = client
                    .produce("t", vec![ProduceRecord::new(v.clone()).with_key(v.clone())])
                    .await;
                match r {
                    Ok(a) => {
                        let prev = acked
                            .lock()
                            .unwrap()
                            .insert((a[0].partition, a[0].offset), v);
                        assert!(prev.is_none(), "an offset was acknowledged twice");
                    }
                    Err(e) => {
                        assert!(
                            e.is_retriable(),
                            "errors during the outage are retriable: {e}"
                        );
                        errors.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = acked.lock().unwrap().len();
    assert!(before > 0);

    pg.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.start_again();
    // The agent reconnects by itself; once it has, produces succeed again.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut recovered_at = None;
    while recovered_at.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "no recovery:\n{}",
            agent.log()
        );
        let n = acked.lock().unwrap().len();
        tokio::time::sleep(Duration::from_millis(200)).await;
        if acked.lock().unwrap().len() > n + 20 {
            recovered_at = Some(errors.load(Ordering::SeqCst));
        }
    }
    assert!(
        errors.load(Ordering::SeqCst) > 0,
        "producers saw the outage"
    );
    // None after recovery.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let errors_after = errors.load(Ordering::SeqCst) - recovered_at.unwrap();
    stop.store(true, Ordering::SeqCst);
    for p in producers {
        p.await.unwrap();
    }
    assert_eq!(errors_after, 0, "errors after recovery:\n{}", agent.log());

    // Every acknowledged record is there, at its offset, and offsets are dense.
    let acked = acked.lock().unwrap().clone();
    assert_acked_readable(&client, "t", &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_at_start_is_waited_for_with_a_clear_log_line() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://postgres:{PG_PASSWORD}@127.0.0.1:{port}/postgres");
    let env = pg_env(&url);
    let mut agent = AgentProcess::launch(dir.path(), "agent", &env_refs(&env));
    agent
        .wait_for_log(
            &format!("metadata database 127.0.0.1:{port}/postgres as postgres is unreachable"),
            Duration::from_secs(20),
        )
        .await;
    assert!(
        !agent.log().contains(PG_PASSWORD),
        "the password is never logged"
    );
    let _pg = PgCluster::start_on(port);
    agent.wait_ready().await;
    let client = agent.client().await;
    client.create_topic("t", 1, None, "none").await.unwrap();
    client
        .produce("t", vec![ProduceRecord::new("x")])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_or_database_are_one_clear_error() {
    let pg = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    for (name, url, says) in [
        (
            "bad-password",
            pg.url_with("wrong", "postgres"),
            "rejected the credentials",
        ),
        (
            "bad-database",
            pg.url_with(PG_PASSWORD, "nope"),
            "the database does not exist",
        ),
    ] {
        let env = pg_env(&url);
        let mut agent = AgentProcess::launch(dir.path(), name, &env_refs(&env));
        let (code, log) = agent.wait_exit(Duration::from_secs(20));
        assert_eq!(code, Some(1), "{log}");
        let err: Vec<_> = log
            .lines()
            .filter(|l| l.starts_with("streamhouse-agent:"))
            .collect();
        assert_eq!(err.len(), 1, "{log}");
        assert!(err[0].contains(says), "{log}");
        assert!(
            !log.contains("wrong@"),
            "the password is never printed: {log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_command_prepares_the_schema_for_agents_that_do_not_migrate() {
    let pg = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let mut env = pg_env(&pg.url());
    let out = std::process::Command::new(bin("streamhouse-agent"))
        .arg("migrate")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // Commands log to stderr: their stdout is their answer.
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("migrations applied"),
        "{out:?}"
    );
    env.push((
        "STREAMHOUSE_METADATA__RUN_MIGRATIONS".into(),
        "false".into(),
    ));
    let agent = AgentProcess::start(dir.path(), &env_refs(&env)).await;
    let client = agent.client().await;
    client.create_topic("t", 1, None, "none").await.unwrap();
    assert!(
        !agent.log().contains("metadata schema is up to date"),
        "{}",
        agent.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_auth_signs_a_token_from_the_credential_chain_and_sends_it_as_the_password() {
    // Without AWS, the furthest the token path runs: credentials from the environment, a
    // signed token, and a connection that offers it. The server, not RDS, rejects it.
    let pg = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let mut env = pg_env(&format!(
        "postgres://postgres@127.0.0.1:{}/postgres",
        pg.port
    ));
    env.extend([
        ("STREAMHOUSE_METADATA__IAM_AUTH".into(), "true".into()),
        ("STREAMHOUSE_METADATA__REGION".into(), "eu-west-1".into()),
        ("AWS_ACCESS_KEY_ID".into(), "AKIDEXAMPLE".into()),
        (
            "AWS_SECRET_ACCESS_KEY".into(),
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        ),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ]);
    let mut agent = AgentProcess::launch(dir.path(), "iam", &env_refs(&env));
    let (code, log) = agent.wait_exit(Duration::from_secs(30));
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("password authentication failed for user \"postgres\""),
        "the token was offered as the password: {log}"
    );
    assert!(
        !log.contains("X-Amz-Signature"),
        "the token is never printed: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_the_database_down_is_bounded() {
    let pg = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let mut env = pg_env(&pg.url());
    env.push((
        "STREAMHOUSE_AGENT__SHUTDOWN_TIMEOUT_MS".into(),
        "5000".into(),
    ));
    env.push(("STREAMHOUSE_LEASE__TTL_MS".into(), "10000".into()));
    let mut agent = AgentProcess::start(dir.path(), &env_refs(&env)).await;
    let client = agent.client().await;
    client.create_topic("t", 200, None, "none").await.unwrap();
    // Lead every partition, so each has a lease to release.
    for p in 0..200 {
        client
            .produce("t", vec![ProduceRecord::new("x").with_partition(p)])
            .await
            .unwrap();
    }
    pg.stop();
    let started = std::time::Instant::now();
    let code = agent.terminate();
    let took = started.elapsed();
    println!("SIGTERM with the database down: exit {code:?} after {took:?}");
    assert_eq!(code, Some(0), "{}", agent.log());
    // 5 s of shutdown timeout, plus the process's own start of shutdown and exit.
    assert!(took < Duration::from_secs(8), "shutdown took {took:?}");
    assert!(
        agent.log().contains("they lapse after their TTL"),
        "{}",
        agent.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_releases_every_lease_in_one_statement() {
    let pg = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let env = pg_env(&pg.url());
    let mut agent = AgentProcess::start(dir.path(), &env_refs(&env)).await;
    let client = agent.client().await;
    client.create_topic("t", 300, None, "none").await.unwrap();
    for p in 0..300 {
        client
            .produce("t", vec![ProduceRecord::new("x").with_partition(p)])
            .await
            .unwrap();
    }
    assert_eq!(agent.terminate(), Some(0), "{}", agent.log());
    assert!(
        agent.log().contains("released leases leases=300"),
        "{}",
        agent.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_postgres_verifies_the_server_certificate_against_a_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "pg-ca");
    let other = TestCa::new(dir.path(), "other-ca");
    let pg = PgCluster::start_tls(&ca.issue(dir.path(), "pg", false));
    let url = |ca: &TestCa| {
        format!(
            "{}?sslmode=verify-full&sslrootcert={}",
            pg.url(),
            ca.pem.display()
        )
    };
    let agent = AgentProcess::start(dir.path(), &env_refs(&pg_env(&url(&ca)))).await;
    let c = agent.client().await;
    c.create_topic("t", 1, None, "none").await.unwrap();
    let ack = c.produce("t", vec![ProduceRecord::new("v")]).await.unwrap();
    assert_eq!(ack[0].offset, 0);
    drop(agent);
    // A server whose certificate the CA file does not vouch for: one clear error at start,
    // no retrying, and neither the password nor the whole URL in the message.
    let other_dir = tempfile::tempdir().unwrap();
    let mut agent = AgentProcess::launch(other_dir.path(), "a", &env_refs(&pg_env(&url(&other))));
    let (code, log) = agent.wait_exit(Duration::from_secs(60));
    assert_eq!(code, Some(1), "{log}");
    assert!(log.to_lowercase().contains("certificate"), "{log}");
    assert!(!log.contains(PG_PASSWORD), "{log}");
}
