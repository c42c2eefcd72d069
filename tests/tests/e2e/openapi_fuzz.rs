//! The control plane's REST API fuzzed from its own OpenAPI document by schemathesis: every
//! operation, with a real organization, topic and admin key to reach past the checks, must
//! answer without a 5xx, with a documented status, content type and body schema.

use std::process::Command;

use serde_json::json;
use streamhouse_tests::{ControlPlaneProcess, tool};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_its_openapi_document_says() {
    let dir = tempfile::tempdir().unwrap();
    let cp = ControlPlaneProcess::start(dir.path(), "cp", &[]).await;
    let mut ann = cp.client();
    let org = ann.sign_up("ann@fuzz.test", "Fuzz").await;
    let r = ann
        .post(
            &format!("/api/v1/orgs/{org}/topics"),
            json!({"name": "orders"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let (_, key) = ann.create_key(&org, &["read", "write", "admin"]).await;
    // Half the generated requests name this organization and topic, so they reach the
    // handlers rather than stopping at "not found".
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            "headers = {{ Authorization = \"Bearer {key}\" }}\n\
             [parameters]\n\"path.org\" = \"{org}\"\n\"path.topic\" = \"orders\"\n"
        ),
    )
    .unwrap();
    let out = tokio::task::spawn_blocking({
        let url = format!("{}/api/v1/openapi.json", cp.url);
        let dir = dir.path().to_path_buf();
        move || {
            Command::new(tool("schemathesis"))
                .current_dir(&dir)
                .arg("--config-file")
                .arg(&config)
                .args(["run", &url])
                .args([
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance,\
                     response_schema_conformance",
                    "--max-examples",
                    "30",
                    "--workers",
                    "1",
                    "--no-color",
                    // The fuzzer's own credential must outlive the run.
                    "--exclude-operation-id",
                    "revoke",
                    "--exclude-operation-id",
                    "sign_out",
                ])
                .output()
                .expect("run schemathesis")
        }
    })
    .await
    .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{report}"
    );
    assert!(report.contains("passed"), "{report}");
    assert!(!cp.log().contains("panicked"), "{}", cp.log());
    // Still serving.
    assert_eq!(cp.client().get("/api/v1/orgs").await.status, 401);
}
