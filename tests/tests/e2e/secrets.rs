//! Secrets stay secret: a run that uses every kind the agent handles — a database password,
//! API keys (good, wrong and revoked), the cluster secret, TLS private keys, S3 credentials —
//! with debug logging, forwarding between two agents and refused requests, then
//! `--print-config` (Azure's access key too) and both agents' metrics; none of these outputs
//! holds any of the secrets.

use std::time::Duration;

use streamhouse_client::{
    Certificate, Client, ClientTlsConfig, ConnectOptions, Identity, ProduceRecord,
};
use streamhouse_tests::{
    AgentProcess, Objects, PG_PASSWORD, PgCluster, TestCa, admin, bin, env_refs,
};

const CLUSTER_SECRET: &str = "cluster-secret-never-printed-0123456789abcdef";
const AZURE_KEY: &str = "YXp1cmUta2V5LW5ldmVyLXByaW50ZWQ=";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_logs_errors_print_config_or_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "ca");
    let server = ca.issue(dir.path(), "agent", false);
    let client_cert = ca.issue(dir.path(), "client", false);
    let pg = PgCluster::start();
    let mut env = vec![
        (
            "STREAMHOUSE_METADATA__BACKEND".to_owned(),
            "postgres".to_owned(),
        ),
        ("STREAMHOUSE_METADATA__URL".to_owned(), pg.url()),
    ];
    let db = env.clone();
    env.extend(Objects::S3.env());
    for (k, v) in [
        ("STREAMHOUSE_LOG__LEVEL", "debug"),
        ("STREAMHOUSE_AUTH__MODE", "api_key"),
        ("STREAMHOUSE_AUTH__CLUSTER_SECRET", CLUSTER_SECRET),
        ("STREAMHOUSE_TLS__CERT_FILE", server.cert.to_str().unwrap()),
        ("STREAMHOUSE_TLS__KEY_FILE", server.key.to_str().unwrap()),
        ("STREAMHOUSE_TLS__CLIENT_CA_FILE", ca.pem.to_str().unwrap()),
    ] {
        env.push((k.into(), v.into()));
    }
    admin(dir.path(), &env_refs(&db), &["tenant", "create", "acme"]);
    let key_args = [
        "key",
        "create",
        "--tenant",
        "acme",
        "--name",
        "k",
        "--permissions",
    ];
    let mut args = key_args.to_vec();
    args.push("read,write,admin");
    let key = admin(dir.path(), &env_refs(&db), &args).trim().to_owned();
    let revoked = admin(dir.path(), &env_refs(&db), &args).trim().to_owned();
    admin(
        dir.path(),
        &env_refs(&db),
        &["key", "revoke", &revoked[..16]],
    );

    let mut agents = Vec::new();
    for name in ["a", "b"] {
        let a = AgentProcess::launch(dir.path(), name, &env_refs(&env));
        a.wait_for_log("agent serving", Duration::from_secs(30))
            .await;
        agents.push(a);
    }
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(&ca.pem).unwrap()))
        .identity(Identity::from_pem(
            std::fs::read(&client_cert.cert).unwrap(),
            std::fs::read(&client_cert.key).unwrap(),
        ));
    let connect = |url: String, key: String| {
        let tls = tls.clone();
        async move {
            let options = ConnectOptions {
                api_key: Some(key),
                tenant: None,
                tls: Some(tls),
            };
            Client::connect_with(&url.replace("http://", "https://"), &options)
                .await
                .unwrap()
        }
    };
    let c = connect(agents[0].url.clone(), key.clone()).await;
    c.create_topic("t", 4, None, "none").await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while c.describe_cluster().await.unwrap().agents.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no cluster");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Through both agents, so produces are forwarded with the cluster secret.
    for a in &agents {
        let p = connect(a.url.clone(), key.clone()).await;
        for partition in 0..4 {
            p.produce("t", vec![ProduceRecord::new("v").with_partition(partition)])
                .await
                .unwrap();
        }
    }
    c.fetch("t", 0, 0, 1 << 20, 0).await.unwrap();
    // Refused keys: a wrong secret and a revoked key; their errors name the key's id only.
    let wrong = format!("{}{}", &key[..key.len() - 8], "00000000");
    let mut errors = String::new();
    for bad in [&wrong, &revoked] {
        let e = connect(agents[1].url.clone(), bad.clone())
            .await
            .list_topics()
            .await
            .unwrap_err();
        errors.push_str(&format!("{e} {e:?}\n"));
    }

    // --print-config with every secret set, Azure's key included.
    let mut print_env = env.clone();
    print_env.push(("STREAMHOUSE_OBJECT_STORE__BACKEND".into(), "azure".into()));
    print_env.push((
        "STREAMHOUSE_OBJECT_STORE__ACCESS_KEY".into(),
        AZURE_KEY.into(),
    ));
    print_env.retain(|(k, _)| {
        !k.starts_with("STREAMHOUSE_OBJECT_STORE__BUCKET")
            && !k.starts_with("STREAMHOUSE_OBJECT_STORE__ENDPOINT")
            && !k.starts_with("STREAMHOUSE_OBJECT_STORE__FORCE_PATH_STYLE")
    });
    print_env.push(("STREAMHOUSE_OBJECT_STORE__ACCOUNT".into(), "acct".into()));
    let printed = std::process::Command::new(bin("streamhouse-agent"))
        .arg("--print-config")
        .envs(print_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap();
    assert!(printed.status.success(), "{printed:?}");
    let printed = String::from_utf8_lossy(&printed.stdout).into_owned();
    assert!(printed.contains("<redacted>"), "{printed}");

    let mut metrics = String::new();
    for a in &agents {
        metrics.push_str(&a.scrape().await);
    }
    let audit = admin(dir.path(), &env_refs(&db), &["audit", "--limit", "100"]);
    let mut logs = String::new();
    for mut a in agents {
        assert_eq!(a.terminate(), Some(0));
        logs.push_str(&a.log());
    }
    assert!(logs.contains("DEBUG"), "debug logging was on");

    let tls_key = std::fs::read_to_string(&server.key).unwrap();
    let key_body = tls_key.lines().nth(1).expect("a PEM body line").to_owned();
    let s3_secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap();
    let secrets = [
        ("database password", PG_PASSWORD.to_owned()),
        ("API key secret", key[17..].to_owned()),
        ("wrong API key secret", wrong[17..].to_owned()),
        ("revoked API key secret", revoked[17..].to_owned()),
        ("cluster secret", CLUSTER_SECRET.to_owned()),
        ("TLS private key", key_body),
        ("S3 secret key", s3_secret),
        ("Azure access key", AZURE_KEY.to_owned()),
    ];
    for (what, output) in [
        ("logs", &logs),
        ("errors", &errors),
        ("--print-config", &printed),
        ("metrics", &metrics),
        ("audit log", &audit),
    ] {
        for (secret, value) in &secrets {
            assert!(!value.is_empty());
            assert!(
                !output.contains(value.as_str()),
                "the {secret} is in the {what}"
            );
        }
    }
}
