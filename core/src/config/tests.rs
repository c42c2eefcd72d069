//! Loading and validating the configuration.

use std::io::Write;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn defaults_are_the_embedded_setup() {
    let c = Config::load(None, env(&[])).unwrap();
    assert_eq!(c.metadata.backend, "sqlite");
    assert_eq!(c.object_store.backend, "local");
    assert_eq!(c.agent.grpc_addr.to_string(), "127.0.0.1:9090");
    assert_eq!(c.agent.max_record_bytes, 1 << 20);
    assert_eq!(c.lease.ttl_ms, 10_000);
}

#[test]
fn file_then_env_then_plan_variables() {
    let f = file(
        "[agent]\nid = \"from-file\"\ngroup = \"g1\"\n[lease]\nttl_ms = 5000\n\
         [metadata]\nbackend = \"sqlite\"\npath = \"/tmp/x.db\"\n",
    );
    let c = Config::load(
        Some(f.path()),
        env(&[
            ("STREAMHOUSE_LEASE__TTL_MS", "7000"),
            ("STREAMHOUSE_AGENT__GRPC_ADDR", "0.0.0.0:9999"),
            ("AGENT_ID", "agent-7"),
            ("AVAILABILITY_ZONE", "us-east-1a"),
            // Ignored: the metadata backend is not postgres.
            ("POSTGRES_URL", "postgres://x"),
            ("S3_BUCKET", "b"),
        ]),
    )
    .unwrap();
    assert_eq!(c.agent.id, "agent-7");
    assert_eq!(c.agent.group, "g1");
    assert_eq!(c.agent.zone, "us-east-1a");
    assert_eq!(c.lease.ttl_ms, 7000);
    assert_eq!(c.agent.grpc_addr.port(), 9999);
    assert_eq!(
        c.metadata.options.get("path").and_then(|v| v.as_str()),
        Some("/tmp/x.db")
    );
    assert!(!c.metadata.options.contains_key("url"));
    assert!(!c.object_store.options.contains_key("bucket"));
}

#[test]
fn environment_values_are_read_as_the_key_wants() {
    let c = Config::load(
        None,
        env(&[
            ("AGENT_ID", "5"),
            ("STREAMHOUSE_AGENT__ZONE", "1"),
            ("STREAMHOUSE_LEASE__TTL_MS", "4000"),
        ]),
    )
    .unwrap();
    assert_eq!(
        (c.agent.id.as_str(), c.agent.zone.as_str(), c.lease.ttl_ms),
        ("5", "1", 4000)
    );
    let e = Config::load(None, env(&[("STREAMHOUSE_LEASE__TTL_MS", "soon")])).unwrap_err();
    assert!(e.to_string().contains("ttl_ms"), "{e}");
}

#[test]
fn plan_variables_apply_to_their_backend() {
    let f = file("[metadata]\nbackend = \"postgres\"\n");
    let c = Config::load(Some(f.path()), env(&[("POSTGRES_URL", "postgres://db/x")])).unwrap();
    assert_eq!(
        c.metadata.options.get("url").and_then(|v| v.as_str()),
        Some("postgres://db/x")
    );
}

#[test]
fn unknown_keys_are_named() {
    let f = file("[agent]\ngrpc_adr = \"0.0.0.0:1\"\n");
    let e = Config::load(Some(f.path()), env(&[]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("grpc_adr"), "{e}");
    let f = file("[agnet]\nid = \"x\"\n");
    let e = Config::load(Some(f.path()), env(&[]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("agnet"), "{e}");
    let e = Config::load(None, env(&[("STREAMHOUSE_LEASE__TTL", "1")]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ttl") && e.contains("environment variables"),
        "{e}"
    );
    // The CLI's variables are not configuration.
    Config::load(
        None,
        env(&[
            ("STREAMHOUSE_ADDR", "http://x:1"),
            ("STREAMHOUSE_CONFIG", "a.toml"),
        ]),
    )
    .unwrap();
}

#[test]
fn backend_options_reject_unknown_keys() {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Opts {
        path: String,
    }
    let s = BackendSection::new("metadata", "sqlite").with("path", "a.db");
    assert_eq!(s.options::<Opts>().unwrap().path, "a.db");
    let e = BackendSection::new("metadata", "sqlite")
        .with("pth", "a.db")
        .options::<Opts>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("pth") && e.contains("[metadata]"), "{e}");
}

#[test]
fn missing_file_and_bad_values_are_clear() {
    let e = Config::load(Some(Path::new("/nonexistent.toml")), env(&[])).unwrap_err();
    assert!(e.to_string().contains("/nonexistent.toml"));
    let e = Config::load(None, env(&[("STREAMHOUSE_LEASE__TTL_MS", "10")])).unwrap_err();
    assert!(e.to_string().contains("ttl_ms"), "{e}");
}

#[test]
fn limits_that_would_acknowledge_unreadable_batches_are_refused() {
    // 256 MiB messages: a batch of one request's records could pass the decoder's limit.
    let e = Config::load(
        None,
        env(&[("STREAMHOUSE_AGENT__MAX_MESSAGE_BYTES", "268435456")]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("object format reads back"), "{e}");
    let e = Config::load(
        None,
        env(&[("STREAMHOUSE_AGENT__MAX_RECORD_BYTES", "16777216")]),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("a sixth of agent.max_message_bytes"),
        "{e}"
    );
    let e = Config::load(None, env(&[("STREAMHOUSE_AGENT__MAX_SUBSCRIPTIONS", "0")])).unwrap_err();
    assert!(
        e.to_string().contains("agent.max_subscriptions must be"),
        "{e}"
    );
    let c = Config::load(
        None,
        env(&[("STREAMHOUSE_AGENT__MAX_MESSAGE_BYTES", "134217728")]),
    )
    .unwrap();
    assert_eq!(c.agent.max_records_per_request, 100_000);
}

#[test]
fn read_cache_settings_are_checked() {
    let c = Config::load(
        None,
        env(&[
            ("STREAMHOUSE_READ__CACHE_BYTES", "0"),
            ("STREAMHOUSE_READ__ZONE_CACHE", "false"),
        ]),
    )
    .unwrap();
    assert_eq!((c.read.cache_bytes, c.read.zone_cache), (0, false));
    assert_eq!(c.read.chunk_bytes, 8 << 20);
    let e = Config::load(None, env(&[("STREAMHOUSE_READ__CHUNK_BYTES", "1000")])).unwrap_err();
    assert!(e.to_string().contains("read.chunk_bytes = 1000"), "{e}");
    let e = Config::load(
        None,
        env(&[("STREAMHOUSE_READ__DISK_CACHE_BYTES", "1048576")]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("needs read.disk_cache_dir"), "{e}");
}

#[test]
fn the_control_planes_variables_are_left_to_it() {
    let c = Config::load(
        None,
        env(&[
            ("STREAMHOUSE_CONTROL_PLANE__HTTP_ADDR", "127.0.0.1:1"),
            ("STREAMHOUSE_AGENTS__CLUSTER_SECRET", "x"),
            ("STREAMHOUSE_AGENT__ID", "a1"),
        ]),
    )
    .unwrap();
    assert_eq!(c.agent.id, "a1");
    let e = Config::load(None, env(&[("STREAMHOUSE_CONTROL__X", "1")])).unwrap_err();
    assert!(
        e.0.contains("control"),
        "other unknown sections stay errors: {e}"
    );
}

#[test]
fn the_zone_comes_from_zone_file_when_unset() {
    let zone = file("us-east-1b\n");
    let path = zone.path().to_str().unwrap();
    let c = Config::load(None, env(&[("STREAMHOUSE_AGENT__ZONE_FILE", path)])).unwrap();
    assert_eq!(c.agent.resolved_zone().unwrap(), "us-east-1b");
    // An explicit zone wins; a missing file is an error naming the key.
    let c = Config::load(
        None,
        env(&[
            ("STREAMHOUSE_AGENT__ZONE_FILE", "/nonexistent/zone"),
            ("AVAILABILITY_ZONE", "eu-west-1a"),
        ]),
    )
    .unwrap();
    assert_eq!(c.agent.resolved_zone().unwrap(), "eu-west-1a");
    let c = Config::load(
        None,
        env(&[("STREAMHOUSE_AGENT__ZONE_FILE", "/nonexistent/zone")]),
    )
    .unwrap();
    let err = c.agent.resolved_zone().unwrap_err().0;
    assert!(err.contains("agent.zone_file"), "{err}");
}
