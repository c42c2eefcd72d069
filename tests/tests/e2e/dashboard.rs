//! The dashboard in a real browser (Debian's Chromium, driven by Playwright from
//! `tests/browser/dashboard.py`) against a real agent requiring API keys and the control
//! plane on its SQLite store. Screenshots of every page land in `.ci-work/artifacts/dashboard`.

use std::process::Command;

use streamhouse_tests::{AgentProcess, ControlPlaneProcess, bin, browser_script};

const SECRET: &str = "e2e-cluster-secret-0123456789abcdef0123456789";
const OPERATOR_PASSWORD: &str = "operator password 42";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_signs_up_makes_a_key_and_a_topic_and_shows_what_an_agent_took() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(
        dir.path(),
        &[
            ("STREAMHOUSE_AUTH__MODE", "api_key"),
            ("STREAMHOUSE_AUTH__CLUSTER_SECRET", SECRET),
            ("STREAMHOUSE_AUTH__KEY_CACHE_TTL_MS", "1000"),
        ],
    )
    .await;
    let out = Command::new(bin("streamhouse-control-plane"))
        .current_dir(dir.path())
        .args(["create-operator", "--email", "ops@streamhouse.test"])
        .env("STREAMHOUSE_OPERATOR_PASSWORD", OPERATOR_PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cp = ControlPlaneProcess::start(
        dir.path(),
        "cp",
        &[("STREAMHOUSE_AGENTS__CLUSTER_SECRET", SECRET)],
    )
    .await;
    browser_script(
        &cp,
        "dashboard.py",
        &[
            ("AGENT_URL", agent.url.clone()),
            ("STREAMHOUSE_CLI", bin("streamhouse").display().to_string()),
            ("OPERATOR_EMAIL", "ops@streamhouse.test".into()),
            ("OPERATOR_PASSWORD", OPERATOR_PASSWORD.into()),
        ],
    )
    .await;
}
