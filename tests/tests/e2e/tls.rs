//! TLS and mutual TLS on two agents (with API keys, over PostgreSQL): clients need the
//! right CA and a certificate the agents' CA signed; expired, wrong-CA and missing client
//! certificates and plaintext clients are refused; produces forwarded between agents travel
//! over mutual TLS; a replaced certificate is served to new connections while open ones go
//! on; and the CLI's `--tls-*` flags work.

use std::path::Path;
use std::time::{Duration, Instant};

use streamhouse_client::{
    Certificate, Client, ClientTlsConfig, ConnectOptions, Identity, ProduceRecord,
};
use streamhouse_tests::{
    AgentProcess, Metadata, TestCa, TestCert, admin, assert_acked_readable, bin, env_refs,
};

const SECRET: &str = "tls-e2e-cluster-secret-0123456789abcdef";

fn tls(ca: &Path, cert: Option<&TestCert>) -> ClientTlsConfig {
    let mut t =
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(std::fs::read(ca).unwrap()));
    if let Some(c) = cert {
        t = t.identity(Identity::from_pem(
            std::fs::read(&c.cert).unwrap(),
            std::fs::read(&c.key).unwrap(),
        ));
    }
    t
}

fn https(agent: &AgentProcess) -> String {
    agent.url.replace("http://", "https://")
}

async fn connect(url: &str, tls: Option<ClientTlsConfig>, key: &str) -> Option<Client> {
    let options = ConnectOptions {
        api_key: Some(key.to_owned()),
        tenant: None,
        tls,
    };
    Client::connect_with(url, &options).await.ok()
}

/// Whether a client so configured is served: connecting and one call both succeed.
async fn served(url: &str, tls: Option<ClientTlsConfig>, key: &str) -> bool {
    match connect(url, tls, key).await {
        Some(c) => c.list_topics().await.is_ok(),
        None => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_refuses_bad_certificates_and_reloads_without_dropping_connections() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path();
    let ca = TestCa::new(pki, "ca");
    let other_ca = TestCa::new(pki, "other-ca");
    let server = [
        ca.issue(pki, "agent-a", false),
        ca.issue(pki, "agent-b", false),
    ];
    let client = ca.issue(pki, "client", false);
    let expired = ca.issue(pki, "expired", true);
    let stranger = other_ca.issue(pki, "stranger", false);

    let db = Metadata::Postgres.env().await;
    admin(dir.path(), &env_refs(&db), &["tenant", "create", "acme"]);
    let key = admin(
        dir.path(),
        &env_refs(&db),
        &[
            "key",
            "create",
            "--tenant",
            "acme",
            "--name",
            "ops",
            "--permissions",
            "read,write,admin",
        ],
    );
    let key = key.trim();
    let mut agents = Vec::new();
    for (name, cert) in ["a", "b"].iter().zip(&server) {
        let mut env = db.clone();
        for (k, v) in [
            ("STREAMHOUSE_AUTH__MODE", "api_key"),
            ("STREAMHOUSE_AUTH__CLUSTER_SECRET", SECRET),
            ("STREAMHOUSE_TLS__CERT_FILE", cert.cert.to_str().unwrap()),
            ("STREAMHOUSE_TLS__KEY_FILE", cert.key.to_str().unwrap()),
            ("STREAMHOUSE_TLS__CLIENT_CA_FILE", ca.pem.to_str().unwrap()),
            ("STREAMHOUSE_TLS__RELOAD_INTERVAL_MS", "200"),
        ] {
            env.push((k.into(), v.into()));
        }
        let agent = AgentProcess::launch(dir.path(), name, &env_refs(&env));
        agent
            .wait_for_log("agent serving", Duration::from_secs(30))
            .await;
        agents.push(agent);
    }
    let (a, b) = (https(&agents[0]), https(&agents[1]));

    // Refused: plaintext, no client certificate, an expired one, one of another CA, and a
    // client that does not trust the agents' CA.
    assert!(!served(&agents[0].url, None, key).await, "plaintext");
    assert!(
        !served(&a, Some(tls(&ca.pem, None)), key).await,
        "no client certificate"
    );
    assert!(
        !served(&a, Some(tls(&ca.pem, Some(&expired))), key).await,
        "expired"
    );
    assert!(
        !served(&a, Some(tls(&ca.pem, Some(&stranger))), key).await,
        "other CA"
    );
    assert!(
        !served(&a, Some(tls(&other_ca.pem, Some(&client))), key).await,
        "untrusted server"
    );

    // Served: produces through both agents, the partitions each does not lead forwarded to
    // the other over mutual TLS.
    let good = || Some(tls(&ca.pem, Some(&client)));
    let c = connect(&a, good(), key)
        .await
        .expect("a good client connects");
    c.create_topic("t", 4, None, "none").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.describe_cluster().await.unwrap().agents.len() < 2 {
        assert!(Instant::now() < deadline, "the agents never saw each other");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let agents_seen = c.describe_cluster().await.unwrap().agents;
    assert!(
        agents_seen
            .iter()
            .all(|x| x.address.starts_with("https://")),
        "{agents_seen:?}"
    );
    let mut acked = std::collections::BTreeMap::new();
    for url in [&a, &b] {
        let p = connect(url, good(), key).await.unwrap();
        for i in 0..8u32 {
            let v = format!("{url}-{i}");
            let ack = p
                .produce(
                    "t",
                    vec![ProduceRecord::new(v.clone()).with_partition(i % 4)],
                )
                .await
                .unwrap();
            acked.insert((ack[0].partition, ack[0].offset), v);
        }
    }
    assert_acked_readable(&c, "t", &acked).await;

    // The CLI's flags.
    let out = std::process::Command::new(bin("streamhouse"))
        .args(["--addr", &b, "--api-key", key, "--tls-ca"])
        .arg(&ca.pem)
        .arg("--tls-cert")
        .arg(&client.cert)
        .arg("--tls-key")
        .arg(&client.key)
        .args(["topic", "list"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains('t'),
        "{out:?}"
    );

    // Agent a's certificate is replaced by one of another CA: new connections get it (so
    // only clients trusting that CA connect), while the connection opened before goes on.
    let rotated = other_ca.issue(pki, "agent-a-rotated", false);
    std::fs::copy(&rotated.key, &server[0].key).unwrap();
    std::fs::copy(&rotated.cert, &server[0].cert).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !served(&a, Some(tls(&other_ca.pem, Some(&client))), key).await {
        assert!(
            Instant::now() < deadline,
            "the new certificate is not served:\n{}",
            agents[0].log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !served(&a, good(), key).await,
        "the old certificate is still served"
    );
    c.produce("t", vec![ProduceRecord::new("after the reload")])
        .await
        .expect("the connection opened before the reload still works");
    assert!(agents[0].log().contains("TLS certificate reloaded"));
}
