//! The control plane as its users meet it: signing up, API keys that then authenticate on a
//! real agent, topics and their messages, consumer groups with lag, quotas, the audit log;
//! two organizations that cannot see each other on any route of the OpenAPI document;
//! errors as JSON with stable codes; and two replicas on PostgreSQL sharing sessions.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use streamhouse_client::{Client, ConnectOptions, ProduceRecord};
use streamhouse_tests::{AgentProcess, ControlPlaneProcess, Metadata, env_refs};

const SECRET: &str = "e2e-cluster-secret-0123456789abcdef0123456789";

async fn with_key(url: &str, key: &str) -> Client {
    let options = ConnectOptions {
        api_key: Some(key.to_owned()),
        ..ConnectOptions::default()
    };
    Client::connect_with(url, &options).await.unwrap()
}

/// The control plane reads messages through agents with their cluster secret.
const CP_ENV: &[(&str, &str)] = &[("STREAMHOUSE_AGENTS__CLUSTER_SECRET", SECRET)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_organization_creates_a_key_and_a_topic_and_reads_what_an_agent_took() {
    let dir = tempfile::tempdir().unwrap();
    let agent = AgentProcess::start(
        dir.path(),
        &[
            ("STREAMHOUSE_AUTH__MODE", "api_key"),
            ("STREAMHOUSE_AUTH__CLUSTER_SECRET", SECRET),
            ("STREAMHOUSE_AUTH__KEY_CACHE_TTL_MS", "500"),
        ],
    )
    .await;
    // The same SQLite database as the agent, opened beside it.
    let cp = ControlPlaneProcess::start(dir.path(), "cp", CP_ENV).await;
    let mut ann = cp.client();
    let org = ann.sign_up("ann@acme.test", "Acme").await;
    assert!(org.starts_with("acme-"), "{org}");
    let me = ann.get("/api/v1/session").await;
    assert_eq!(me.body["organizations"][0]["role"], "owner", "{me:?}");
    let quota = ann.get(&format!("/api/v1/orgs/{org}/quota")).await;
    assert_eq!(quota.body["plan"], "starter", "{quota:?}");
    assert_eq!(quota.body["ingress_limit_bytes"], 10_000_000_000u64);
    assert_eq!(quota.body["monthly_price_cents"], 4900);

    let r = ann
        .post(
            &format!("/api/v1/orgs/{org}/topics"),
            json!({"name": "orders", "partitions": 2, "retention_ms": 86_400_000}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let (key_id, key) = ann.create_key(&org, &["read", "write"]).await;
    assert!(key.starts_with(&format!("{key_id}_")), "{key_id} {key}");
    let listed = ann.get(&format!("/api/v1/orgs/{org}/keys")).await;
    assert_eq!(listed.body[0]["id"], key_id.as_str());
    assert!(
        !listed.body.to_string().contains(&key[key_id.len() + 1..]),
        "the secret is shown once, never listed"
    );

    // The key the control plane made authenticates on the agent.
    let client = with_key(&agent.url, &key).await;
    let records = (0..30)
        .map(|i| ProduceRecord::new(format!("order-{i}")).with_key("k"))
        .collect();
    let acks = client.produce("orders", records).await.unwrap();
    let partition = acks[0].partition;
    client
        .commit_offsets("billing", "orders", &[(partition, 10)])
        .await
        .unwrap();

    let detail = ann.get(&format!("/api/v1/orgs/{org}/topics/orders")).await;
    let hw: u64 = detail.body["partition_offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["high_watermark"].as_u64().unwrap())
        .sum();
    assert_eq!(hw, 30, "{detail:?}");
    assert!(
        detail.body["stored_bytes"].as_u64().unwrap() > 0,
        "{detail:?}"
    );

    let msgs = ann
        .get(&format!(
            "/api/v1/orgs/{org}/topics/orders/partitions/{partition}/messages?limit=5"
        ))
        .await;
    assert_eq!(msgs.status, 200, "{msgs:?}");
    let values: Vec<&str> = msgs
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        values,
        ["order-25", "order-26", "order-27", "order-28", "order-29"]
    );
    assert_eq!(msgs.body[0]["key"], "k");

    let groups = ann.get(&format!("/api/v1/orgs/{org}/groups")).await;
    assert_eq!(groups.body[0]["group"], "billing", "{groups:?}");
    assert_eq!(groups.body[0]["lag"], 20);

    // A change of retention, then a revocation the agent honours within its key cache TTL.
    let r = ann
        .call(
            "PATCH",
            &format!("/api/v1/orgs/{org}/topics/orders"),
            Some(json!({"retention_ms": null})),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["retention_ms"]),
        (200, &Value::Null),
        "{r:?}"
    );
    let r = ann
        .call("DELETE", &format!("/api/v1/orgs/{org}/keys/{key_id}"), None)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body["revoked_at"].is_string());
    let start = Instant::now();
    loop {
        let e = client
            .produce("orders", vec![ProduceRecord::new("late")])
            .await;
        if let Err(e) = e {
            assert_eq!(e.code(), Some(tonic::Code::Unauthenticated), "{e}");
            assert!(e.to_string().contains("revoked"), "{e}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "still accepted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let audit = ann.get(&format!("/api/v1/orgs/{org}/audit")).await;
    let actions: Vec<&str> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "org.create",
        "topic.create",
        "key.create",
        "topic.retention",
        "key.revoke",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert!(
        audit.body[0]["source"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert!(audit.body.to_string().contains("user:ann@acme.test"));

    let r = ann
        .call("DELETE", &format!("/api/v1/orgs/{org}/topics/orders"), None)
        .await;
    assert_eq!(r.status, 204, "{r:?}");
    let r = ann.get(&format!("/api/v1/orgs/{org}/topics/orders")).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
}

/// The path of a route of the OpenAPI document with its parameters filled in.
fn fill(template: &str, org: &str, topic: &str, key: &str, user: &str) -> String {
    template
        .replace("{org}", org)
        .replace("{topic}", topic)
        .replace("{id}", key)
        .replace("{user}", user)
        .replace("{partition}", "0")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_organizations_cannot_see_or_touch_each_other_on_any_route() {
    let dir = tempfile::tempdir().unwrap();
    let cp = ControlPlaneProcess::start(dir.path(), "cp", CP_ENV).await;
    let mut ann = cp.client();
    let acme = ann.sign_up("ann@acme.test", "Acme").await;
    let r = ann
        .post(
            &format!("/api/v1/orgs/{acme}/topics"),
            json!({"name": "orders"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let (key_id, _) = ann.create_key(&acme, &["read"]).await;
    let ann_id = ann.get("/api/v1/session").await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut bob = cp.client();
    let beta = bob.sign_up("bob@beta.test", "Beta").await;
    let (_, beta_key) = bob.create_key(&beta, &["read", "write", "admin"]).await;
    let mut bob_key = cp.client().with_key(&beta_key);

    let doc = cp.client().get("/api/v1/openapi.json").await.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut checked = 0;
    for (template, ops) in doc["paths"].as_object().unwrap() {
        if !template.contains("{org}") && template != "/api/v1/agents" {
            continue;
        }
        let path = fill(template, &acme, "orders", &key_id, &ann_id);
        for method in ops.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            let body = (method != "GET" && method != "DELETE").then(|| {
                json!({"name": "x", "scopes": ["read"], "email": "eve@beta.test",
                       "role": "admin", "group": "g", "retention_ms": 5000})
            });
            for (who, api) in [
                ("bob's session", &mut bob),
                ("bob's admin key", &mut bob_key),
            ] {
                let r = api.call(&method, &path, body.clone()).await;
                let expected = if template == "/api/v1/agents" || template.ends_with("/agent-group")
                {
                    // Operators' routes: refused to customers whatever they name.
                    [403, 404]
                } else {
                    [404, 404]
                };
                assert!(
                    expected.contains(&r.status),
                    "{who}: {method} {path} answered {}: {}",
                    r.status,
                    r.body
                );
                assert!(!r.code().is_empty(), "a JSON error: {r:?}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "only {checked} route calls checked");

    // Nothing of Acme changed, and Bob sees only Beta.
    let topics = ann.get(&format!("/api/v1/orgs/{acme}/topics")).await;
    assert_eq!(topics.body.as_array().unwrap().len(), 1, "{topics:?}");
    assert_eq!(topics.body[0]["retention_ms"], Value::Null);
    let keys = ann.get(&format!("/api/v1/orgs/{acme}/keys")).await;
    assert_eq!(keys.body.as_array().unwrap().len(), 1);
    assert!(keys.body[0]["revoked_at"].is_null(), "{keys:?}");
    let members = ann.get(&format!("/api/v1/orgs/{acme}/members")).await;
    assert_eq!(members.body.as_array().unwrap().len(), 1, "{members:?}");
    let orgs = bob.get("/api/v1/orgs").await;
    assert_eq!(orgs.body.as_array().unwrap().len(), 1);
    assert_eq!(orgs.body[0]["id"], beta.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_json_with_stable_codes_and_sessions_are_guarded() {
    let dir = tempfile::tempdir().unwrap();
    let cp = ControlPlaneProcess::start(
        dir.path(),
        "cp",
        &[(
            "STREAMHOUSE_CONTROL_PLANE__SIGN_IN_ATTEMPTS_PER_MINUTE",
            "3",
        )],
    )
    .await;
    let mut anon = cp.client();
    let r = anon.get("/api/v1/nowhere").await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = anon.call("PUT", "/api/v1/orgs", None).await;
    assert_eq!((r.status, r.code()), (405, "method_not_allowed"));
    let r = anon.get("/api/v1/orgs").await;
    assert_eq!((r.status, r.code()), (401, "unauthenticated"));
    // The server answers before reading all of the body and closes the connection, which
    // can reset it under the answer (no lingering close): a client sees the 413 or a reset,
    // and its connection is gone either way. So each try uses a client of its own.
    let big = json!({"email": "x".repeat(2 << 20), "password": "p", "organization": "o"});
    let mut answered = None;
    for _ in 0..10 {
        let mut once = cp.client();
        if let Ok(r) = once
            .try_call("POST", "/api/v1/signup", Some(big.clone()))
            .await
        {
            answered = Some(r);
            break;
        }
    }
    let r = answered.expect("a 413 in ten tries");
    assert_eq!((r.status, r.code()), (413, "payload_too_large"), "{r:?}");
    let r = anon
        .post("/api/v1/signup", json!({"email": "a@b.io"}))
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_request"), "{r:?}");
    let r = anon
        .post(
            "/api/v1/signup",
            json!({"email": "a@b.io", "password": "short", "organization": "o"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_field"));
    assert_eq!(r.body["error"]["field"], "password");

    let mut ann = cp.client();
    let org = ann.sign_up("ann@acme.test", "Acme").await;
    let r = ann
        .post(
            &format!("/api/v1/orgs/{org}/topics"),
            json!({"name": "bad name!"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (400, Some("name"))
    );
    let r = ann
        .post(
            &format!("/api/v1/orgs/{org}/topics"),
            json!({"name": "t", "partitions": 0}),
        )
        .await;
    assert_eq!(r.body["error"]["field"], "partitions", "{r:?}");

    // A change without the CSRF token is refused: another site's form cannot make one.
    let mut forged = ann.clone();
    forged.csrf = None;
    let r = forged
        .post(&format!("/api/v1/orgs/{org}/topics"), json!({"name": "t"}))
        .await;
    assert_eq!((r.status, r.code()), (403, "csrf_failed"), "{r:?}");
    assert_eq!(
        forged
            .get(&format!("/api/v1/orgs/{org}/topics"))
            .await
            .status,
        200
    );

    // Cookies: the session is HttpOnly, SameSite=Strict and Secure.
    let r = cp
        .client()
        .post(
            "/api/v1/session",
            json!({"email": "ann@acme.test", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let cookie = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("sh_session="))
        .unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(cookie.contains(attr), "{cookie}");
    }

    // Wrong passwords, then the rate limit (3 a minute here), which holds for the right one.
    for _ in 0..2 {
        let r = cp
            .client()
            .post(
                "/api/v1/session",
                json!({"email": "ann@acme.test", "password": "wrong one!!"}),
            )
            .await;
        assert_eq!((r.status, r.code()), (401, "unauthenticated"));
    }
    let r = cp
        .client()
        .post(
            "/api/v1/session",
            json!({"email": "ann@acme.test", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (429, "rate_limited"), "{r:?}");
    assert!(r.headers.contains_key("retry-after"));

    // Signing out ends the session, whoever kept its cookie.
    let mut kept = ann.clone();
    let r = ann.call("DELETE", "/api/v1/session", None).await;
    assert_eq!(r.status, 204);
    let r = kept.get("/api/v1/orgs").await;
    assert_eq!((r.status, r.code()), (401, "unauthenticated"));

    let page = reqwest::get(format!("{}/metrics", cp.url)).await.unwrap();
    let text = page.text().await.unwrap();
    assert!(
        text.contains(r#"route="/api/v1/orgs/{org}/topics""#),
        "metrics by route template:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_on_postgresql_share_sessions_keys_and_roles() {
    let dir = tempfile::tempdir().unwrap();
    let db = Metadata::Postgres.env().await;
    let env = env_refs(&db);
    let one = ControlPlaneProcess::start(dir.path(), "cp1", &env).await;
    let two = ControlPlaneProcess::start(dir.path(), "cp2", &env).await;
    let mut ann = one.client();
    let org = ann.sign_up("ann@acme.test", "Acme").await;
    // The same session on the other replica.
    let mut ann2 = two.client();
    ann2.session = ann.session.clone();
    ann2.csrf = ann.csrf.clone();
    let (_, key) = ann2.create_key(&org, &["read", "write", "admin"]).await;
    let r = one
        .client()
        .with_key(&key)
        .post(&format!("/api/v1/orgs/{org}/topics"), json!({"name": "t"}))
        .await;
    assert_eq!(
        r.status, 201,
        "a key made on one replica works on the other: {r:?}"
    );

    // A read-only member sees but cannot change.
    let r = ann
        .post(
            &format!("/api/v1/orgs/{org}/members"),
            json!({"email": "rita@acme.test", "role": "read-only", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let mut rita = two.client();
    let r = rita
        .post(
            "/api/v1/session",
            json!({"email": "rita@acme.test", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        rita.get(&format!("/api/v1/orgs/{org}/topics")).await.status,
        200
    );
    let r = rita
        .call("DELETE", &format!("/api/v1/orgs/{org}/topics/t"), None)
        .await;
    assert_eq!((r.status, r.code()), (403, "forbidden"), "{r:?}");
    let ann_id = ann.get("/api/v1/session").await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = ann
        .call(
            "DELETE",
            &format!("/api/v1/orgs/{org}/members/{ann_id}"),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "conflict"),
        "the last owner stays: {r:?}"
    );

    // Signing out on one replica ends the session on both.
    assert_eq!(
        ann2.call("DELETE", "/api/v1/session", None).await.status,
        204
    );
    assert_eq!(ann.get("/api/v1/orgs").await.status, 401);
}
