//! The deployment manifests as `kubectl kustomize` renders them, for the deploy tests: the
//! objects of an overlay, and what a container of theirs would see (its config file and its
//! environment), to run the real binaries with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::tool;

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// The nine `<env>-<cloud>` overlays, sorted.
pub fn overlays() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("kustomize/overlays"))
        .expect("kustomize/overlays")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The objects `kubectl kustomize <dir>` renders.
pub fn render(dir: &Path) -> Vec<Value> {
    let out = Command::new(tool("kubectl"))
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_yaml(&String::from_utf8(out.stdout).unwrap())
}

/// Every document of a YAML stream, as JSON values.
pub fn parse_yaml(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| serde::Deserialize::deserialize(d).expect("YAML"))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// The one object of `kind` whose name is `name` or, for generated ConfigMaps, `name-<hash>`.
pub fn object<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == kind)
        .filter(|o| {
            let n = o["metadata"]["name"].as_str().unwrap_or_default();
            n == name
                || n.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|h| h.len() == 10 && h.chars().all(|c| c.is_ascii_alphanumeric()))
        })
        .collect();
    assert_eq!(found.len(), 1, "{kind} {name}: {found:?}");
    found[0]
}

/// The container `name` of a workload's pod template.
pub fn container<'a>(workload: &'a Value, name: &str) -> &'a Value {
    workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name}"))
}

/// The environment a container starts with: its `envFrom` ConfigMaps (in order), then its
/// `env`, with `$(VAR)` references expanded. What Kubernetes fills in at run time gets a
/// stand-in: field references (`fieldref:<path>`) and Secret keys (`secret:<name>/<key>`,
/// or `stand_in(name, key)` where it returns one); optional Secret keys are left out.
pub fn container_env(
    objects: &[Value],
    container: &Value,
    stand_in: impl Fn(&str, &str) -> Option<String>,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for from in container["envFrom"].as_array().into_iter().flatten() {
        let name = from["configMapRef"]["name"].as_str().expect("configMapRef");
        let cm = objects
            .iter()
            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("envFrom names ConfigMap {name}, which is not rendered"));
        for (k, v) in cm["data"].as_object().into_iter().flatten() {
            env.insert(k.clone(), v.as_str().unwrap().to_owned());
        }
    }
    for e in container["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap().to_owned();
        let value = if let Some(v) = e["value"].as_str() {
            let mut v = v.to_owned();
            for (k, known) in &env {
                v = v.replace(&format!("$({k})"), known);
            }
            v
        } else if let Some(path) = e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            format!("fieldref:{path}")
        } else if let Some(s) = e["valueFrom"].get("secretKeyRef") {
            let (secret, key) = (s["name"].as_str().unwrap(), s["key"].as_str().unwrap());
            match stand_in(secret, key) {
                Some(v) => v,
                None if s["optional"] == true => continue,
                None => format!("secret:{secret}/{key}"),
            }
        } else {
            panic!("env {name}: {e}");
        };
        env.insert(name, value);
    }
    env
}

/// The file `key` of the ConfigMap a workload mounts at `mount_path`.
pub fn mounted_file(objects: &[Value], workload: &Value, container: &Value, path: &str) -> String {
    let (dir, key) = path.rsplit_once('/').expect("a file path");
    let mount = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == dir)
        .unwrap_or_else(|| panic!("nothing is mounted at {dir}"));
    let volume = workload["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .expect("the mount's volume");
    let cm = volume["configMap"]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("{dir} is not a ConfigMap volume"));
    objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == cm)
        .unwrap_or_else(|| panic!("ConfigMap {cm} is not rendered"))["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("ConfigMap {cm} has no {key}"))
        .to_owned()
}
