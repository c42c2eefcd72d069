//! The Kubernetes manifests (`kustomize/`) against the real binaries: every overlay's agent
//! and control-plane config loads with the binaries' own loaders and names backends built
//! into them; every port, probe, flag and mounted file the manifests use is one the binaries
//! have; the pods meet the restricted Pod Security Standard; the monitoring objects are the
//! files `observability/` tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use streamhouse_tests::kube::{
    container, container_env, mounted_file, object, overlays, render, repo,
};
use streamhouse_tests::{AgentProcess, ControlPlaneProcess, bin, health_serving};

/// Where the test puts the cluster secret the pods get from the streamhouse-cluster Secret.
const SECRET_FILE_VAR: [&str; 2] = [
    "STREAMHOUSE_AUTH__CLUSTER_SECRET_FILE",
    "STREAMHOUSE_AGENTS__CLUSTER_SECRET_FILE",
];

/// A stand-in for what the External Secrets Operator puts in the streamhouse-metadata Secret.
fn metadata_secret(secret: &str, key: &str) -> Option<String> {
    match (secret, key) {
        ("streamhouse-metadata", "url") => {
            Some("postgres://streamhouse@db.internal:5432/streamhouse".into())
        }
        _ => None,
    }
}

/// Runs `binary` with a container's args (its config file replaced by `config`) plus `extra`,
/// in exactly the container's environment; returns stdout, or panics with stderr.
fn run_as_container(
    binary: &str,
    args: &[String],
    config: &Path,
    env: &BTreeMap<String, String>,
    extra: &[&str],
) -> String {
    let mut args = args.to_vec();
    let i = args.iter().position(|a| a == "--config").expect("--config") + 1;
    args[i] = config.display().to_string();
    let out = Command::new(bin(binary))
        .args(&args)
        .args(extra)
        .env_clear()
        .envs(env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{binary} {args:?} {extra:?} with {env:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `key: value` lines of a `check-config` answer.
fn fields(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn port_of(container: &Value, name: &str) -> u64 {
    container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no containerPort {name}"))["containerPort"]
        .as_u64()
        .unwrap()
}

fn addr_port(addr: &str) -> u64 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn every_overlays_config_loads_in_the_binaries_and_names_their_backends() {
    let names = overlays();
    assert_eq!(names.len(), 9, "{names:?}");
    for name in names {
        let objects = render(&repo().join("kustomize/overlays").join(&name));
        let (env_name, cloud) = name.split_once('-').unwrap();
        let dir = tempfile::tempdir().unwrap();
        // The mounted streamhouse-cluster Secret, at a path of the test's.
        let secret = dir.path().join("cluster-secret");
        std::fs::write(&secret, "s".repeat(64)).unwrap();
        let mount = |mut env: BTreeMap<String, String>| {
            for var in SECRET_FILE_VAR {
                env.insert(var.into(), secret.display().to_string());
            }
            env
        };

        // The agents: the ConfigMap's agent.toml in the StatefulSet's environment.
        let sts = object(&objects, "StatefulSet", "streamhouse-agent");
        let agent = container(sts, "agent");
        let args: Vec<String> = serde_json::from_value(agent["args"].clone()).unwrap();
        let path = &args[args.iter().position(|a| a == "--config").unwrap() + 1];
        let config = dir.path().join("agent.toml");
        std::fs::write(&config, mounted_file(&objects, sts, agent, path)).unwrap();
        let env = mount(container_env(&objects, agent, metadata_secret));
        let checked = fields(&run_as_container(
            "streamhouse-agent",
            &args,
            &config,
            &env,
            &["check-config"],
        ));
        let (metadata, objects_kind) = match (env_name, cloud) {
            ("dev", "aws") => ("postgres", "s3"),
            (_, "aws") => ("aurora", "s3"),
            (_, "gcp") => ("postgres", "gcs"),
            (_, "azure") => ("postgres", "azure"),
            _ => panic!("{name}"),
        };
        assert_eq!(checked["metadata"], metadata, "{name}");
        assert_eq!(checked["object_store"], objects_kind, "{name}");
        assert_eq!(checked["auth"], "ApiKey", "{name}");
        assert_eq!(addr_port(&checked["grpc_addr"]), port_of(agent, "grpc"));
        assert_eq!(
            addr_port(&checked["metrics_addr"]),
            port_of(agent, "metrics")
        );
        // The SIGTERM handover fits in the grace period, after the preStop sleep.
        let pod = &sts["spec"]["template"]["spec"];
        let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
        let pre_stop = agent["lifecycle"]["preStop"]["sleep"]["seconds"]
            .as_u64()
            .unwrap();
        let handover: u64 = checked["shutdown_timeout_ms"].parse().unwrap();
        assert!(
            grace >= pre_stop + handover / 1000 + 10,
            "{name}: grace {grace} s < preStop {pre_stop} s + handover {handover} ms + 10 s"
        );
        // The cloud's identity reaches the agents' service account.
        let sa = object(&objects, "ServiceAccount", "streamhouse-agent");
        let annotation = match cloud {
            "aws" => "eks.amazonaws.com/role-arn",
            "gcp" => "iam.gke.io/gcp-service-account",
            _ => "azure.workload.identity/client-id",
        };
        assert!(
            sa["metadata"]["annotations"][annotation].is_string(),
            "{name}: {sa}"
        );

        // The control plane: its ConfigMap's control-plane.toml.
        let cp_deploy = object(&objects, "Deployment", "streamhouse-control-plane");
        let cp = container(cp_deploy, "control-plane");
        let args: Vec<String> = serde_json::from_value(cp["args"].clone()).unwrap();
        let path = &args[args.iter().position(|a| a == "--config").unwrap() + 1];
        let config = dir.path().join("control-plane.toml");
        std::fs::write(&config, mounted_file(&objects, cp_deploy, cp, path)).unwrap();
        let env = mount(container_env(&objects, cp, metadata_secret));
        // The manifest's subcommand (`serve`) is replaced by the check.
        let flags: Vec<String> = args.iter().filter(|a| *a != "serve").cloned().collect();
        let checked = fields(&run_as_container(
            "streamhouse-control-plane",
            &flags,
            &config,
            &env,
            &["check-config"],
        ));
        assert_eq!(checked["metadata"], metadata, "{name}");
        assert_eq!(addr_port(&checked["http_addr"]), port_of(cp, "http"));
    }
}

/// Every container of ours runs with flags its binary accepts (clap refuses unknown ones
/// before printing help).
fn check_flags(binary: &str, args: &[String]) {
    let out = Command::new(bin(binary))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{binary} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Service `name`'s port `port` targets a named port of the container.
fn service_targets(objects: &[Value], name: &str, container: &Value) {
    let svc = object(objects, "Service", name);
    for p in svc["spec"]["ports"].as_array().unwrap() {
        let target = p["targetPort"].as_str().expect("named targetPort");
        assert_eq!(
            port_of(container, target),
            p["port"].as_u64().unwrap(),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_port_probe_and_flag_in_the_manifests_is_one_the_binaries_have() {
    // GCP's overlay has every base object (AWS's drops PgBouncer).
    let objects = render(&repo().join("kustomize/overlays/prod-gcp"));
    let sts = object(&objects, "StatefulSet", "streamhouse-agent");
    let agent = container(sts, "agent");
    let cp_deploy = object(&objects, "Deployment", "streamhouse-control-plane");
    let cp = container(cp_deploy, "control-plane");
    check_flags(
        "streamhouse-agent",
        &serde_json::from_value::<Vec<String>>(agent["args"].clone()).unwrap(),
    );
    check_flags(
        "streamhouse-control-plane",
        &serde_json::from_value::<Vec<String>>(cp["args"].clone()).unwrap(),
    );

    // Probes: gRPC health on the agent's gRPC port, for the whole server (no service name);
    // the control plane's liveness and readiness paths on its HTTP port.
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        let grpc = &agent[probe]["grpc"];
        assert_eq!(
            grpc["port"].as_u64(),
            Some(port_of(agent, "grpc")),
            "{probe}"
        );
        assert!(grpc.get("service").is_none(), "{probe}");
    }
    let mut cp_paths = Vec::new();
    for probe in ["readinessProbe", "livenessProbe"] {
        let http = &cp[probe]["httpGet"];
        assert_eq!(http["port"], "http", "{probe}");
        cp_paths.push(http["path"].as_str().unwrap().to_owned());
    }
    service_targets(&objects, "streamhouse-agent", agent);
    service_targets(&objects, "streamhouse-agent-lb", agent);
    service_targets(&objects, "streamhouse-control-plane", cp);

    // Prometheus scrapes the named ports the Services have, at /metrics.
    let mut scraped = BTreeMap::new();
    for (monitor, service) in [
        ("streamhouse-agent", "streamhouse-agent"),
        ("streamhouse-control-plane", "streamhouse-control-plane"),
    ] {
        let sm = object(&objects, "ServiceMonitor", monitor);
        let svc = object(&objects, "Service", service);
        for (k, v) in sm["spec"]["selector"]["matchLabels"].as_object().unwrap() {
            assert_eq!(
                &svc["metadata"]["labels"][k], v,
                "{monitor} selects {service}"
            );
        }
        let endpoint = &sm["spec"]["endpoints"][0];
        let port = endpoint["port"].as_str().unwrap();
        assert!(
            svc["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == port),
            "{monitor}: {service} has no port {port}"
        );
        scraped.insert(monitor, endpoint["path"].as_str().unwrap().to_owned());
    }
    // Only the headless Service carries the scrape label: one target per agent, job
    // "streamhouse-agent" as the alert rules select.
    let lb = object(&objects, "Service", "streamhouse-agent-lb");
    assert!(lb["metadata"]["labels"]["streamhouse.io/scrape"].is_null());

    // The NetworkPolicy admits the ports the agents listen on.
    let np = object(&objects, "NetworkPolicy", "streamhouse-agent");
    let admitted: Vec<u64> = np["spec"]["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["ports"].as_array().unwrap().iter())
        .map(|p| p["port"].as_u64().unwrap())
        .collect();
    assert_eq!(
        admitted,
        [port_of(agent, "grpc"), port_of(agent, "metrics")]
    );

    // The HorizontalPodAutoscaler behaves as the plan says: scale down after 300 s of lower
    // load, one pod per 120 s.
    let hpa = object(&objects, "HorizontalPodAutoscaler", "streamhouse-agent");
    let down = &hpa["spec"]["behavior"]["scaleDown"];
    assert_eq!(down["stabilizationWindowSeconds"], 300);
    assert_eq!(down["policies"][0]["type"], "Pods");
    assert_eq!(down["policies"][0]["value"], 1);
    assert_eq!(down["policies"][0]["periodSeconds"], 120);
    assert!(
        sts["spec"].get("replicas").is_none(),
        "the HPA owns replicas"
    );

    // Now the real thing: an agent answers the probe's health check and the scrape path...
    let dir = tempfile::tempdir().unwrap();
    let running = AgentProcess::start(dir.path(), &[]).await;
    assert!(health_serving(&running.url).await);
    let http = reqwest::Client::new();
    let url = format!(
        "http://127.0.0.1:{}{}",
        running.metrics_port, scraped["streamhouse-agent"]
    );
    let page = http.get(&url).send().await.unwrap();
    assert!(page.status().is_success(), "{url}");
    assert!(page.text().await.unwrap().contains("streamhouse_"));
    // ...and so does a control plane.
    let cp_proc = ControlPlaneProcess::start(dir.path(), "cp", &[]).await;
    cp_paths.push(scraped["streamhouse-control-plane"].clone());
    for path in cp_paths {
        let r = http
            .get(format!("{}{path}", cp_proc.url))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }
}

#[test]
fn pods_meet_the_restricted_pod_security_standard_and_every_reference_resolves() {
    for name in overlays() {
        let objects = render(&repo().join("kustomize/overlays").join(&name));
        let ns = object(&objects, "Namespace", "streamhouse");
        assert_eq!(
            ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            "restricted"
        );
        let names = |kind: &str| -> Vec<String> {
            objects
                .iter()
                .filter(|o| o["kind"] == kind)
                .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned())
                .collect()
        };
        let config_maps = names("ConfigMap");
        // Secrets come from ExternalSecrets, or from Kubernetes itself (the CA bundle).
        let secrets: Vec<String> = objects
            .iter()
            .filter(|o| o["kind"] == "ExternalSecret")
            .map(|o| o["spec"]["target"]["name"].as_str().unwrap().to_owned())
            .collect();
        for w in objects
            .iter()
            .filter(|o| ["StatefulSet", "Deployment"].contains(&o["kind"].as_str().unwrap()))
        {
            let what = format!("{name}: {}", w["metadata"]["name"]);
            let pod = &w["spec"]["template"]["spec"];
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{what}");
            assert_eq!(
                pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
                "{what}"
            );
            let all = pod["containers"]
                .as_array()
                .unwrap()
                .iter()
                .chain(pod["initContainers"].as_array().into_iter().flatten());
            for c in all {
                // Every image is a registry path with a version tag: never the base's
                // placeholder name that an overlay failed to replace.
                let image = c["image"].as_str().unwrap();
                assert!(
                    image.contains('/')
                        && image.rsplit_once(':').is_some_and(|(_, t)| !t.is_empty()),
                    "{what}: image {image}"
                );
                let sc = &c["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}");
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}");
                assert_eq!(
                    sc["capabilities"]["drop"],
                    serde_json::json!(["ALL"]),
                    "{what}"
                );
                assert!(c["resources"]["limits"]["memory"].is_string(), "{what}");
                for from in c["envFrom"].as_array().into_iter().flatten() {
                    let cm = from["configMapRef"]["name"].as_str().unwrap();
                    assert!(config_maps.iter().any(|n| n == cm), "{what}: {cm}");
                }
                for e in c["env"].as_array().into_iter().flatten() {
                    if let Some(s) = e["valueFrom"]["secretKeyRef"]["name"].as_str() {
                        assert!(secrets.iter().any(|n| n == s), "{what}: Secret {s}");
                    }
                }
            }
            for v in pod["volumes"].as_array().into_iter().flatten() {
                if let Some(cm) = v["configMap"]["name"].as_str() {
                    assert!(config_maps.iter().any(|n| n == cm), "{what}: {cm}");
                }
                if let Some(s) = v["secret"]["secretName"].as_str() {
                    assert!(secrets.iter().any(|n| n == s), "{what}: Secret {s}");
                }
            }
        }
    }
}

#[test]
fn the_monitoring_objects_are_the_files_the_observability_tests_check() {
    let objects = render(&repo().join("kustomize/overlays/prod-aws"));
    let rule = object(&objects, "PrometheusRule", "streamhouse-alerts");
    let file: Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo().join("observability/prometheus/streamhouse-alerts.yml"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(rule["spec"], file["spec"]);
    assert_eq!(
        rule["metadata"]["labels"]["release"], "kube-prometheus-stack",
        "the monitoring module's rule selector"
    );
    let dir = repo().join("observability/grafana");
    let mut boards = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap();
        let cm = objects
            .iter()
            .find(|o| o["kind"] == "ConfigMap" && o["data"].get(file).is_some())
            .unwrap_or_else(|| panic!("no ConfigMap holds {file}"));
        assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
        assert_eq!(
            cm["data"][file].as_str().unwrap(),
            std::fs::read_to_string(&path).unwrap()
        );
        boards += 1;
    }
    assert_eq!(boards, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zone_comes_from_the_file_the_init_container_writes() {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("zone");
    std::fs::write(&zone, "eu-west-1b\n").unwrap();
    let agent = AgentProcess::start(
        dir.path(),
        &[("STREAMHOUSE_AGENT__ZONE_FILE", zone.to_str().unwrap())],
    )
    .await;
    let cluster = agent.client().await.describe_cluster().await.unwrap();
    assert_eq!(cluster.agents.len(), 1);
    assert_eq!(cluster.agents[0].zone, "eu-west-1b");
    drop(agent);

    // The init container failed: the agent refuses to start, naming the key.
    let out = Command::new(bin("streamhouse-agent"))
        .current_dir(dir.path())
        .env("STREAMHOUSE_AGENT__GRPC_ADDR", "127.0.0.1:0")
        .env("STREAMHOUSE_AGENT__ZONE_FILE", dir.path().join("missing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("agent.zone_file"), "{err}");
}

#[test]
fn check_config_names_what_is_wrong() {
    let check = |env: &[(&str, &str)]| {
        let out = Command::new(bin("streamhouse-agent"))
            .arg("check-config")
            .env_clear()
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = check(&[("STREAMHOUSE_OBJECT_STORE__BACKEND", "s4")]);
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown object store backend \"s4\""), "{err}");
    assert!(err.contains("s3"), "the known kinds: {err}");
    let (code, err) = check(&[
        ("STREAMHOUSE_OBJECT_STORE__BACKEND", "s3"),
        ("STREAMHOUSE_OBJECT_STORE__BUCKET", "b"),
        ("STREAMHOUSE_OBJECT_STORE__BUKET", "b"),
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("buket"), "{err}");
    let (code, err) = check(&[("STREAMHOUSE_METADATA__BACKEND", "postgres")]);
    assert_eq!(code, Some(1));
    assert!(err.contains("needs `url`"), "{err}");
}
