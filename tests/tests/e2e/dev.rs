//! `streamhouse-control-plane dev`: one command starts the agent and the control plane on
//! the embedded default, sharing its SQLite store, and prints the dashboard's URL and a
//! first administrator's sign-in, which works; records the CLI's tenant produces show in the
//! dashboard's `default` organization; an operator's suspension stops its producers; SIGTERM
//! stops both.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use streamhouse_client::{Client, ProduceRecord};
use streamhouse_tests::{Api, bin, free_port};

/// Polls `f` until it yields, for at most 20 s.
async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(f: impl Fn() -> F) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "not within 20 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_command_runs_the_agent_and_the_control_plane_and_prints_a_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let (http, grpc, metrics) = (free_port(), free_port(), free_port());
    let mut dev = Command::new(bin("streamhouse-control-plane"))
        .arg("dev")
        .current_dir(dir.path())
        .env(
            "STREAMHOUSE_CONTROL_PLANE__HTTP_ADDR",
            format!("127.0.0.1:{http}"),
        )
        .env("STREAMHOUSE_AGENT__GRPC_ADDR", format!("127.0.0.1:{grpc}"))
        .env(
            "STREAMHOUSE_AGENT__METRICS_ADDR",
            format!("127.0.0.1:{metrics}"),
        )
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = dev.stdout.take().unwrap();
    let banner = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let done = line.starts_with("Stop both");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    });
    let banner = tokio::time::timeout(Duration::from_secs(60), banner)
        .await
        .expect("the banner within 60 s")
        .unwrap();
    let field = |name: &str| {
        banner
            .iter()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {banner:?}"))
            .trim()
            .to_owned()
    };
    let url = field("dashboard:");
    assert_eq!(url, format!("http://localhost:{http}"));
    let sign_in = field("sign in:");
    let (email, password) = sign_in.split_once(" / ").unwrap();
    assert_eq!(email, "admin@streamhouse.local");
    assert!(field("agent:").starts_with(&format!("http://127.0.0.1:{grpc}")));

    // The dashboard's page, and the printed sign-in.
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<div id=\"root\">"));
    let mut admin = Api::new(&url);
    let r = admin
        .post(
            "/api/v1/session",
            json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    // What the CLI's tenant produces shows in the `default` organization.
    let client = Client::connect(&format!("http://127.0.0.1:{grpc}"))
        .await
        .unwrap();
    client.create_topic("orders", 1, None, "lz4").await.unwrap();
    client
        .produce("orders", vec![ProduceRecord::new("hello")])
        .await
        .unwrap();
    let topics = admin.get("/api/v1/orgs/default/topics").await;
    assert_eq!(topics.body[0]["name"], "orders", "{topics:?}");

    // An operator suspends the organization: its producers are refused, naming why, until
    // it is active again (within the agents' plan cache of 10 s).
    let set = |status: &'static str| {
        let mut admin = admin.clone();
        async move {
            let r = admin
                .call(
                    "PATCH",
                    "/api/v1/orgs/default",
                    Some(json!({"status": status})),
                )
                .await;
            assert_eq!(r.status, 200, "{r:?}");
        }
    };
    set("suspended").await;
    let refused = wait_for(|| async {
        client
            .produce("orders", vec![ProduceRecord::new("x")])
            .await
            .err()
    })
    .await;
    assert_eq!(
        refused.code(),
        Some(tonic::Code::ResourceExhausted),
        "{refused}"
    );
    assert!(refused.to_string().contains("suspended"), "{refused}");
    set("active").await;
    wait_for(|| async {
        client
            .produce("orders", vec![ProduceRecord::new("y")])
            .await
            .ok()
    })
    .await;

    kill(Pid::from_raw(dev.id() as i32), Signal::SIGTERM).unwrap();
    let status = tokio::task::spawn_blocking(move || dev.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(
        Client::connect(&format!("http://127.0.0.1:{grpc}"))
            .await
            .is_err()
            || Client::connect(&format!("http://127.0.0.1:{grpc}"))
                .await
                .unwrap()
                .list_topics()
                .await
                .is_err(),
        "the agent stopped with it"
    );
}
