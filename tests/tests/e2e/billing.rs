//! Stripe billing against localstripe, on PostgreSQL: a customer per organization, a
//! subscription once it has a card, a plan change prorated by Stripe, a closed month's
//! overage billed as invoice items with exact amounts, signed webhooks recording invoices and
//! payment failures (past due, then suspended after the grace period, then active once paid);
//! a control plane killed between sending an invoice item and recording it bills it once, and
//! so do two replicas billing at once.

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use streamhouse_core::tenancy::month_start_ms;
use streamhouse_tests::{Api, ControlPlaneProcess, Metadata, browser_script, env_refs};

const WEBHOOK_SECRET: &str = "whsec_e2e_streamhouse";
const GB: u64 = 1_000_000_000;

fn stripe_url() -> String {
    std::env::var("STREAMHOUSE_TEST_STRIPE_URL")
        .expect("STREAMHOUSE_TEST_STRIPE_URL is not set: run scripts/test.sh")
}

/// A call to localstripe.
async fn stripe(method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> Value {
    let req = reqwest::Client::new()
        .request(method.clone(), format!("{}{path}", stripe_url()))
        .basic_auth("sk_test_streamhouse", Some(""));
    let req = if method == reqwest::Method::GET {
        req
    } else {
        let body: Vec<String> = form.iter().map(|(k, v)| format!("{k}={v}")).collect();
        req.header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
    };
    let text = req.send().await.unwrap().text().await.unwrap();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The control plane's environment: the database, and billing through localstripe with a
/// fast job and a one-second grace period.
fn env(db: &[(String, String)]) -> Vec<(String, String)> {
    let mut env = db.to_vec();
    for (k, v) in [
        ("STREAMHOUSE_STRIPE__API_BASE", stripe_url()),
        ("STRIPE_KEY", "sk_test_streamhouse".into()),
        ("STREAMHOUSE_STRIPE__WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
        (
            "STREAMHOUSE_STRIPE__PUBLISHABLE_KEY",
            "pk_test_streamhouse".into(),
        ),
        (
            "STREAMHOUSE_STRIPE__JS_URL",
            format!("{}/js.stripe.com/v3/", stripe_url()),
        ),
        ("STREAMHOUSE_STRIPE__JOB_INTERVAL_MS", "200".into()),
        ("STREAMHOUSE_STRIPE__GRACE_PERIOD_MS", "1000".into()),
        ("STREAMHOUSE_STRIPE__PERIOD_CLOSE_DELAY_MS", "0".into()),
        (
            "STREAMHOUSE_STRIPE__INGRESS_OVERAGE_CENTS_PER_GB",
            "10".into(),
        ),
        (
            "STREAMHOUSE_STRIPE__STORAGE_OVERAGE_CENTS_PER_GB_MONTH",
            "5".into(),
        ),
    ] {
        env.push((k.into(), v));
    }
    env
}

/// Polls `f` until it yields, for at most 30 s.
async fn wait_for<T, F: Future<Output = Option<T>>>(what: &str, f: impl Fn() -> F) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn billing(api: &Api, org: &str) -> Value {
    api.clone()
        .get(&format!("/api/v1/orgs/{org}/billing"))
        .await
        .body
}

/// Last month's usage of `org`, as the agents would have metered it: `ingress` bytes, and
/// `stored` bytes over every hour of the month.
fn seed_last_month(db_url: &str, org: &str, ingress: u64, stored: u64) {
    let now = streamhouse_core::clock::now_ms();
    let end = month_start_ms(now);
    let start = month_start_ms(end - 1);
    let hours = (end - start) as u64 / 3_600_000;
    let sql = format!(
        "INSERT INTO usage_daily VALUES ('{org}', '*', {start}, {ingress}, 1, 0, 0, 0, {})",
        stored * hours
    );
    let psql = std::env::var("STREAMHOUSE_PSQL").expect("STREAMHOUSE_PSQL: run scripts/test.sh");
    let out = std::process::Command::new(psql)
        .args([db_url, "-v", "ON_ERROR_STOP=1", "-c", &sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An organization signed up, with last month's usage seeded, before any billing runs (a
/// closed month is billed once, on the first run that sees it): signed up on a control plane
/// without billing, which is then stopped. Its owner's session works on any replica.
async fn org_with_last_month(
    dir: &std::path::Path,
    db: &[(String, String)],
    ingress: u64,
    stored: u64,
) -> (Api, String) {
    let plain = ControlPlaneProcess::start(dir, "signup", &env_refs(db)).await;
    let mut ann = plain.client();
    let org = ann.sign_up("ann@acme.test", "Acme").await;
    let db_url = &db.iter().find(|(k, _)| k.ends_with("__URL")).unwrap().1;
    seed_last_month(db_url, &org, ingress, stored);
    (ann, org)
}

/// The invoice items of `customer` that carry a ledger key: (key, amount).
async fn billed_items(customer: &str) -> Vec<(String, u64)> {
    let items = stripe(
        reqwest::Method::GET,
        &format!("/v1/invoiceitems?customer={customer}&limit=100"),
        &[],
    )
    .await;
    let mut out: Vec<(String, u64)> = items["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| {
            Some((
                i["metadata"]["ledger_key"].as_str()?.to_owned(),
                i["amount"].as_u64()?,
            ))
        })
        .collect();
    out.sort();
    out
}

/// A Stripe event signed as Stripe signs them.
fn signed(event: &Value, secret: &str) -> (String, String) {
    let body = event.to_string();
    let t = streamhouse_core::clock::now_ms() / 1000;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let sig: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (body, format!("t={t},v1={sig}"))
}

async fn post_event(cp: &ControlPlaneProcess, event: &Value, secret: &str) -> u16 {
    let (body, sig) = signed(event, secret);
    reqwest::Client::new()
        .post(format!("{}/api/v1/stripe/webhook", cp.url))
        .header("stripe-signature", sig)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn status(api: &Api, org: &str) -> String {
    api.clone().get(&format!("/api/v1/orgs/{org}")).await.body["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizations_subscribe_change_plans_pay_overage_once_and_follow_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let db = Metadata::Postgres.env().await;
    // Last month: 2.5 GB beyond Starter's 10 GB of ingress (10 cents a GB), and 300 GB
    // stored on average, 200 GB beyond its 100 GB (5 cents a GB-month).
    let (ann, org) = org_with_last_month(dir.path(), &db, 12 * GB + GB / 2, 300 * GB).await;
    let env = env(&db);
    let cp = ControlPlaneProcess::start(dir.path(), "cp", &env_refs(&env)).await;
    // localstripe delivers its events to this control plane, signed with its secret. One
    // registration, replaced by each run: localstripe delivers to every registered endpoint in
    // turn, and one left by an earlier run on a port now taken by another server would hold
    // the deliveries up.
    let url = format!("{}/api/v1/stripe/webhook", cp.url);
    stripe(
        reqwest::Method::POST,
        "/_config/webhooks/streamhouse-e2e",
        &[("url", &url), ("secret", WEBHOOK_SECRET)],
    )
    .await;

    let mut ann = cp.client().with_session(&ann);
    let customer = wait_for("a customer", || async {
        billing(&ann, &org).await["customer_id"]
            .as_str()
            .map(str::to_owned)
    })
    .await;
    let c = stripe(
        reqwest::Method::GET,
        &format!("/v1/customers/{customer}"),
        &[],
    )
    .await;
    assert_eq!(c["metadata"]["tenant"], org.as_str());
    assert_eq!(c["email"], "ann@acme.test");

    // Last month's overage, billed on the first run, at that run's plan (Starter).
    let lines = wait_for("two confirmed overage lines", || async {
        let b = billing(&ann, &org).await;
        let lines = b["overage"].as_array()?.clone();
        (lines.len() == 2 && lines.iter().all(|l| l["state"] == "confirmed")).then_some(lines)
    })
    .await;
    let amounts: Vec<(&str, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["metric"].as_str().unwrap(),
                l["amount_cents"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(amounts, [("ingress", 25), ("storage", 1_000)]);
    let period = lines[0]["period"].as_str().unwrap();
    assert_eq!(
        billed_items(&customer).await,
        [
            (format!("{org}/{period}/ingress"), 25),
            (format!("{org}/{period}/storage"), 1_000)
        ]
    );

    // A card: the subscription to the Starter plan follows.
    let r = ann
        .post(
            &format!("/api/v1/orgs/{org}/billing/payment-method"),
            json!({"token": "tok_nonsense"}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (400, Some("token")),
        "{r:?}"
    );
    // The owner enters a card in the dashboard's form (Stripe.js from localstripe).
    browser_script(
        &cp,
        "billing.py",
        &[
            ("ORG", org.clone()),
            ("EMAIL", "ann@acme.test".into()),
            ("PASSWORD", "correct horse battery".into()),
        ],
    )
    .await;
    let sub = wait_for("a subscription", || async {
        let b = billing(&ann, &org).await;
        b["subscription_id"].as_str().map(str::to_owned)
    })
    .await;
    let s = stripe(
        reqwest::Method::GET,
        &format!("/v1/subscriptions/{sub}"),
        &[],
    )
    .await;
    assert_eq!(
        s["items"]["data"][0]["plan"]["id"], "streamhouse-starter",
        "{s}"
    );
    // The first invoice holds the plan's $49 and last month's overage, and was paid: a
    // webhook from localstripe recorded it.
    wait_for("the first invoice, paid, from a webhook", || async {
        let b = billing(&ann, &org).await;
        let paid = b["invoices"]
            .as_array()?
            .iter()
            .any(|i| i["status"] == "paid" && i["amount_due_cents"] == 4900 + 25 + 1_000);
        paid.then_some(())
    })
    .await;

    // A plan change moves the subscription (Stripe prorates it).
    let r = ann
        .call(
            "PATCH",
            &format!("/api/v1/orgs/{org}"),
            Some(json!({"plan": "growth"})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    wait_for("the subscription on Growth", || async {
        let s = stripe(
            reqwest::Method::GET,
            &format!("/v1/subscriptions/{sub}"),
            &[],
        )
        .await;
        (s["items"]["data"][0]["plan"]["id"] == "streamhouse-growth").then_some(())
    })
    .await;

    // Webhooks: a bad signature is refused; a failed payment makes the organization past
    // due, the grace period's end suspends it, a payment makes it active again.
    let failed = json!({"type": "invoice.payment_failed", "data": {"object": {
        "id": "in_e2e_failed", "customer": customer, "status": "open", "amount_due": 10_125,
        "amount_paid": 0, "currency": "usd", "created": 1_796_000_000}}});
    assert_eq!(post_event(&cp, &failed, "whsec_wrong").await, 400);
    assert_eq!(status(&ann, &org).await, "active");
    assert_eq!(post_event(&cp, &failed, WEBHOOK_SECRET).await, 200);
    assert_eq!(status(&ann, &org).await, "past_due");
    wait_for("a suspension after the grace period", || async {
        (status(&ann, &org).await == "suspended").then_some(())
    })
    .await;
    let mut paid = failed.clone();
    paid["type"] = json!("invoice.paid");
    paid["data"]["object"]["status"] = json!("paid");
    paid["data"]["object"]["amount_paid"] = json!(10_125);
    assert_eq!(post_event(&cp, &paid, WEBHOOK_SECRET).await, 200);
    assert_eq!(status(&ann, &org).await, "active");
    let b = billing(&ann, &org).await;
    assert!(b["past_due_since"].is_null(), "{b}");
    let invoice = b["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "in_e2e_failed")
        .cloned()
        .unwrap();
    assert_eq!(
        (
            invoice["status"].as_str(),
            invoice["amount_paid_cents"].as_u64()
        ),
        (Some("paid"), Some(10_125))
    );
    let audit = ann
        .get(&format!("/api/v1/orgs/{org}/audit"))
        .await
        .body
        .to_string();
    for action in [
        "org.past_due",
        "org.suspend",
        "org.paid",
        "billing.payment_method",
    ] {
        assert!(
            audit.contains(action),
            "{action} missing from the audit log"
        );
    }
    let metrics = reqwest::get(format!("{}/metrics", cp.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"stripe_calls_total{op="invoiceitem.create",result="ok"} 2"#),
        "{metrics}"
    );
}

/// Waits for the customer of `org`.
async fn customer_of(ann: &Api, org: &str) -> String {
    wait_for("a customer", || async {
        billing(ann, org).await["customer_id"]
            .as_str()
            .map(str::to_owned)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_plane_killed_between_sending_and_recording_bills_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = Metadata::Postgres.env().await;
    // Last month: 1 GB beyond Starter's ingress, 10 cents.
    let (ann, org) = org_with_last_month(dir.path(), &db, 11 * GB, 0).await;
    let mut crashing = env(&db);
    crashing.push(("STREAMHOUSE_FAILPOINT".into(), "billing.after_send".into()));
    // It aborts on its first billing run, perhaps before it answers: launched, not awaited.
    let mut first = ControlPlaneProcess::launch(dir.path(), "cp1", &env_refs(&crashing));
    let exit = first.wait_exit(Duration::from_secs(30)).await;
    assert!(
        exit.is_some_and(|s| !s.success()),
        "the failpoint aborts the first control plane:\n{}",
        first.log()
    );
    assert!(
        first.log().contains("failpoint billing.after_send"),
        "{}",
        first.log()
    );

    // The restarted control plane finds the line `sent`, finds its item in Stripe, and
    // records it rather than sending it again.
    let second = ControlPlaneProcess::start(dir.path(), "cp2", &env_refs(&env(&db))).await;
    let ann = second.client().with_session(&ann);
    let customer = customer_of(&ann, &org).await;
    assert_eq!(
        billed_items(&customer).await.len(),
        1,
        "the item reached Stripe before the crash"
    );
    wait_for("the line confirmed", || async {
        let b = billing(&ann, &org).await;
        let l = b["overage"].as_array()?.first()?.clone();
        (l["state"] == "confirmed").then_some(())
    })
    .await;
    // More runs, then still one item.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let items = billed_items(&customer).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].1, 10, "1 GB at 10 cents: {items:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_billing_at_once_send_each_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = Metadata::Postgres.env().await;
    let (ann, org) = org_with_last_month(dir.path(), &db, 11 * GB, 0).await;
    let env = env(&db);
    let one = ControlPlaneProcess::start(dir.path(), "cp1", &env_refs(&env)).await;
    let _two = ControlPlaneProcess::start(dir.path(), "cp2", &env_refs(&env)).await;
    let ann = one.client().with_session(&ann);
    let customer = customer_of(&ann, &org).await;
    wait_for("the line confirmed", || async {
        let b = billing(&ann, &org).await;
        let l = b["overage"].as_array()?.first()?.clone();
        (l["state"] == "confirmed").then_some(())
    })
    .await;
    // More runs of both replicas, then still one item.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let items = billed_items(&customer).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].1, 10, "1 GB at 10 cents");
}
