//! The dashboard in a real browser (Debian's Chromium, driven by Playwright from
//! `tests/browser/dashboard.py`) against a real agent requiring API keys and the control
//! plane on its SQLite store. Screenshots of every page land in `.ci-work/artifacts/dashboard`.

use std::path::PathBuf;
use std::process::Command;

use streamhouse_tests::{AgentProcess, ControlPlaneProcess, bin, tool};

const SECRET: &str = "e2e-cluster-secret-0123456789abcdef0123456789";
const OPERATOR_PASSWORD: &str = "operator password 42";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_signs_up_makes_a_key_and_a_topic_and_shows_what_an_agent_took() {
    let dir = tempfile::tempdir().unwrap();
    let _agent = AgentProcess::start(
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
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let shots = root.join(".ci-work/artifacts/dashboard");
    // Browsers treat localhost as a secure origin: the session cookie is `Secure`.
    let url = cp.url.replace("127.0.0.1", "localhost");
    let script = root.join("tests/browser/dashboard.py");
    let agent_url = _agent.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(tool("playwright_python"))
            .arg(script)
            .env("CP_URL", url)
            .env("AGENT_URL", agent_url)
            .env("STREAMHOUSE_CLI", bin("streamhouse"))
            .env("SCREENSHOT_DIR", &shots)
            .env("OPERATOR_EMAIL", "ops@streamhouse.test")
            .env("OPERATOR_PASSWORD", OPERATOR_PASSWORD)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "the browser test failed:\n{}{}\ncontrol plane log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        cp.log()
    );
}
