//! The delivery scripts, run for real where nothing needs a cloud: the image filesystem
//! (`scripts/image-rootfs.sh`), the smoke test against a running agent, the overlay and Job
//! glue of `scripts/deploylib.py` rendered with kubectl, the dry runs of deploy, rollback and
//! disaster recovery, and the Argo CD Applications.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use streamhouse_tests::kube::{container, object, overlays, parse_yaml, render, repo};
use streamhouse_tests::{AgentProcess, bin};

fn script(name: &str) -> Command {
    Command::new(repo().join("scripts").join(name))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn each_image_filesystem_holds_what_its_binary_needs_and_runs_it() {
    let bin_dir = bin("streamhouse-agent").parent().unwrap().to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    for image in ["agent", "control-plane"] {
        let out = ok(script("image-rootfs.sh")
            .args([image, bin_dir.to_str().unwrap()])
            .arg(dir.path().join(image))
            .output()
            .unwrap());
        assert!(out.contains("runs in"), "{out}");
        let config: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("{image}-image.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(config["User"], "65532:65532");
        assert_eq!(
            config["Labels"]["org.opencontainers.image.version"],
            env!("CARGO_PKG_VERSION")
        );
    }
    // The agent served from inside it, as the non-root user.
    let log = std::fs::read_to_string(dir.path().join("agent-image.log")).unwrap();
    assert!(log.contains("agent serving"), "{log}");
    // The Dockerfiles build the same binaries, as that user.
    for image in ["agent", "control-plane"] {
        let dockerfile =
            std::fs::read_to_string(repo().join(format!("docker/{image}.Dockerfile"))).unwrap();
        assert!(dockerfile.contains(&format!("--bin streamhouse-{image}")));
        assert!(dockerfile.contains("cargo build --release --locked"));
        assert!(dockerfile.contains("USER 65532:65532"));
        assert!(dockerfile.contains("org.opencontainers.image.version=\"${VERSION}\""));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smoke_test_passes_on_a_running_agent_and_fails_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(dir.path(), &[]).await;
    let smoke = |addr: &str| {
        script("smoke-test.sh")
            .arg(addr)
            .env("STREAMHOUSE_CLI", bin("streamhouse"))
            .env("STREAMHOUSE_TENANT", "smoke")
            .output()
            .unwrap()
    };
    let out = tokio::task::spawn_blocking({
        let url = agent.url.clone();
        move || smoke(&url)
    })
    .await
    .unwrap();
    assert!(ok(out).contains("OK: 100 records"));
    // The topic is gone afterwards.
    let client = agent.client().await.with_tenant("smoke").unwrap();
    assert!(client.list_topics().await.unwrap().is_empty());
    drop(agent);
    let out = smoke("http://127.0.0.1:1");
    assert!(!out.status.success(), "{}", text(&out));
}

/// A copy of kustomize/ and observability/ (which the base refers to) to edit.
fn kustomize_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for d in ["kustomize", "observability"] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(repo().join(d))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    dir
}

fn deploylib(args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = script("deploylib.py")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn terraform_outputs_and_image_tags_land_in_the_rendered_manifests() {
    let copy = kustomize_copy();
    let outputs = serde_json::json!({
        "region": {"value": "eu-west-1"},
        "bucket_name": {"value": "records-from-terraform"},
        "agent_identity": {"value": "arn:aws:iam::222222222222:role/agent-from-terraform"},
        "control_plane_identity": {"value": "arn:aws:iam::222222222222:role/cp-from-terraform"},
        "project_id": {"value": "project-from-terraform"},
        "storage_account": {"value": "accountfromterraform"},
        "key_vault_url": {"value": "https://vault-from-terraform.vault.azure.net/"},
    });
    let file = copy.path().join("outputs.json");
    std::fs::write(&file, outputs.to_string()).unwrap();
    // Each cloud's identity annotation gets the agents' identity output.
    let identity = outputs["agent_identity"]["value"].as_str().unwrap();
    for (cloud, account) in [
        ("aws", "eks.amazonaws.com/role-arn"),
        ("gcp", "iam.gke.io/gcp-service-account"),
        ("azure", "azure.workload.identity/client-id"),
    ] {
        let overlay = copy
            .path()
            .join(format!("kustomize/overlays/staging-{cloud}"));
        ok(deploylib(
            &[
                "overlay-from-outputs",
                "staging",
                cloud,
                file.to_str().unwrap(),
                overlay.to_str().unwrap(),
            ],
            None,
        ));
        let old = ok(deploylib(
            &["set-image-tag", overlay.to_str().unwrap(), "9.9.9"],
            None,
        ));
        assert_eq!(old.trim(), "0.1.0");
        let objects = render(&overlay);
        let sa = object(&objects, "ServiceAccount", "streamhouse-agent");
        assert_eq!(sa["metadata"]["annotations"][account], identity, "{cloud}");
        let sts = object(&objects, "StatefulSet", "streamhouse-agent");
        let cp = object(&objects, "Deployment", "streamhouse-control-plane");
        assert!(
            container(sts, "agent")["image"]
                .as_str()
                .unwrap()
                .ends_with("/streamhouse-agent:9.9.9")
        );
        assert!(
            container(cp, "control-plane")["image"]
                .as_str()
                .unwrap()
                .ends_with("/streamhouse-control-plane:9.9.9")
        );
        let env = object(&objects, "ConfigMap", "streamhouse-env");
        let bucket_key = match cloud {
            "aws" => "S3_BUCKET",
            "gcp" => "STREAMHOUSE_OBJECT_STORE__BUCKET",
            _ => "STREAMHOUSE_OBJECT_STORE__CONTAINER",
        };
        assert_eq!(env["data"][bucket_key], "records-from-terraform", "{cloud}");
    }
    // A missing output is an error naming it, and writes nothing.
    std::fs::write(&file, "{}").unwrap();
    let overlay = copy.path().join("kustomize/overlays/dev-gcp");
    let before = std::fs::read_to_string(overlay.join("deploy.env")).unwrap();
    let out = deploylib(
        &[
            "overlay-from-outputs",
            "dev",
            "gcp",
            file.to_str().unwrap(),
            overlay.to_str().unwrap(),
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("bucket_name"), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(overlay.join("deploy.env")).unwrap(),
        before
    );
    let out = deploylib(
        &["set-image-tag", overlay.to_str().unwrap(), "bad tag"],
        None,
    );
    assert!(!out.status.success());
}

#[test]
fn the_rebuild_metadata_job_runs_the_agent_as_the_statefulset_does() {
    for name in ["prod-aws", "prod-azure"] {
        let objects = render(&repo().join("kustomize/overlays").join(name));
        let sts = object(&objects, "StatefulSet", "streamhouse-agent");
        let job = ok(deploylib(
            &["job-from-statefulset", "rebuild-metadata", "--dry-run"],
            Some(&sts.to_string()),
        ));
        let job = &parse_yaml(&job)[0];
        assert_eq!(job["kind"], "Job");
        let spec = &job["spec"]["template"]["spec"];
        let agent = &spec["containers"][0];
        let args: Vec<String> = serde_json::from_value(agent["args"].clone()).unwrap();
        assert_eq!(args[args.len() - 2..], ["rebuild-metadata", "--dry-run"]);
        // The binary accepts exactly these flags and subcommand.
        let out = Command::new(bin("streamhouse-agent"))
            .args(&args)
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(spec["serviceAccountName"], "streamhouse-agent");
        assert_eq!(spec["restartPolicy"], "Never");
        assert!(agent.get("readinessProbe").is_none());
        // The Job's pods get the NetworkPolicy made for them.
        let np = object(&objects, "NetworkPolicy", "streamhouse-agent-jobs");
        assert_eq!(
            np["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
            job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
        );
        if name.ends_with("azure") {
            assert_eq!(
                job["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"],
                "true"
            );
        }
    }
}

#[test]
fn deploy_rollback_and_recovery_dry_runs_name_every_step() {
    let out = ok(script("deploy.sh")
        .args(["staging", "azure", "--dry-run", "--image-tag", "1.2.3"])
        .output()
        .unwrap());
    for step in [
        "terraform -chdir=terraform/stacks/azure init -reconfigure -backend-config=../../environments/staging/azure/backend.hcl",
        "apply -var-file=../../environments/staging/azure/terraform.tfvars",
        "set-image-tag kustomize/overlays/staging-azure 1.2.3",
        "az aks get-credentials --name streamhouse-staging",
        "kubectl apply --server-side -k kustomize/overlays/staging-azure",
        "rollout status statefulset/streamhouse-agent",
        "scripts/smoke-test.sh",
    ] {
        assert!(out.contains(step), "{step}\n{out}");
    }
    let bad = script("deploy.sh").args(["qa", "aws"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));

    let out = ok(script("rollback.sh")
        .args(["prod", "gcp", "--to", "0.0.9", "--dry-run"])
        .output()
        .unwrap());
    assert!(out.contains("from 0.1.0 to 0.0.9"), "{out}");
    assert!(
        out.contains("set-image-tag kustomize/overlays/prod-gcp 0.0.9"),
        "{out}"
    );
    assert!(!out.contains("terraform -chdir"), "{out}");

    let out = ok(script("disaster-recovery.sh")
        .args(["rebuild-metadata", "prod", "aws", "--dry-run"])
        .output()
        .unwrap());
    let stop = out.find("--replicas=0").expect("stops the agents");
    let job = out
        .find("job-from-statefulset rebuild-metadata")
        .expect(&out);
    let start = out.find("--replicas=3").expect("starts the agents");
    assert!(stop < job && job < start, "{out}");
    let out = ok(script("disaster-recovery.sh")
        .args([
            "data-corruption",
            "prod",
            "gcp",
            "--to-time",
            "2026-12-01T10:00:00Z",
            "--dry-run",
        ])
        .output()
        .unwrap());
    assert!(out.contains("gcloud sql instances clone streamhouse-prod streamhouse-prod-restored --point-in-time 2026-12-01T10:00:00Z"), "{out}");
    let bad = script("disaster-recovery.sh")
        .args(["data-corruption", "prod", "gcp"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

#[test]
fn each_cluster_has_an_argo_cd_application_for_its_own_overlay() {
    for name in overlays() {
        let path = repo().join(format!("kustomize/argocd/{name}.yaml"));
        let app = &parse_yaml(&std::fs::read_to_string(&path).unwrap())[0];
        assert_eq!(app["kind"], "Application", "{name}");
        assert_eq!(
            app["spec"]["source"]["path"],
            format!("kustomize/overlays/{name}")
        );
        assert_eq!(app["spec"]["destination"]["namespace"], "streamhouse");
        assert!(Path::new(&repo().join(app["spec"]["source"]["path"].as_str().unwrap())).is_dir());
        // Production syncs by hand; the others follow main.
        assert_eq!(
            app["spec"]["syncPolicy"].get("automated").is_some(),
            !name.starts_with("prod-"),
            "{name}"
        );
    }
}
