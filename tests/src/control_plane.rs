//! The real `streamhouse-control-plane` binary as a child process, and a small HTTP client
//! that keeps a browser's session the way the dashboard does: the session cookie, and the
//! CSRF token repeated in `x-csrf-token` on every change.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::{bin, free_port};

/// A running control plane.
#[derive(Debug)]
pub struct ControlPlaneProcess {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    log: PathBuf,
}

impl ControlPlaneProcess {
    /// Starts a control plane in `dir` (so the embedded default finds the agent's
    /// `data/metadata.db` there) with `env` overrides, and waits until `/readyz` answers.
    pub async fn start(dir: &Path, name: &str, env: &[(&str, &str)]) -> Self {
        // A free port can be taken by another test's process between `free_port` and the
        // control plane's bind: then it exits at once, and a new port is tried.
        for _ in 0..5 {
            let mut cp = Self::launch(dir, name, env);
            if cp.wait_ready().await {
                return cp;
            }
        }
        panic!("no free port for the control plane in 5 tries");
    }

    /// Spawns a control plane without waiting for it to serve.
    pub fn launch(dir: &Path, name: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("control plane log");
        let child = Command::new(bin("streamhouse-control-plane"))
            .current_dir(dir)
            .env(
                "STREAMHOUSE_CONTROL_PLANE__HTTP_ADDR",
                format!("127.0.0.1:{port}"),
            )
            .envs(env.iter().copied())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("spawn streamhouse-control-plane");
        Self {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Waits until it serves: true, or false if it exited because its port was taken.
    async fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = reqwest::Client::new();
        loop {
            if let Some(s) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                let log = self.log();
                if log.contains("Address already in use") {
                    return false;
                }
                panic!("the control plane exited with {s}:\n{log}");
            }
            let ready = http.get(format!("{}/readyz", self.url)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "not ready in 30 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits up to `timeout` for the process to exit; its status, if it did.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(s) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Some(s);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// Its log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A client without credentials.
    pub fn client(&self) -> Api {
        Api::new(&self.url)
    }
}

impl Drop for ControlPlaneProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs the Playwright script `tests/browser/<script>` against the control plane `cp` (as
/// `CP_URL`, on `localhost`, which browsers treat as a secure origin), with `env` added and
/// screenshots going to `.ci-work/artifacts/dashboard`; panics with its output and the
/// control plane's log if it fails.
pub async fn browser_script(cp: &ControlPlaneProcess, script: &str, env: &[(&str, String)]) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut cmd = Command::new(crate::process::tool("playwright_python"));
    cmd.arg(root.join("tests/browser").join(script))
        .env("CP_URL", cp.url.replace("127.0.0.1", "localhost"))
        .env("SCREENSHOT_DIR", root.join(".ci-work/artifacts/dashboard"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run python"))
        .await
        .expect("the browser script's thread");
    assert!(
        out.status.success(),
        "{script} failed:\n{}{}\ncontrol plane log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        cp.log()
    );
}

/// A response: its status, headers and JSON body (`Null` when it has none).
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as JSON.
    pub body: Value,
}

impl Reply {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// An HTTP client of the control plane's API, as a browser session or a program with a key.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
    /// The session cookie's token, once signed in.
    pub session: Option<String>,
    /// The CSRF token of the session.
    pub csrf: Option<String>,
    /// An API key to send instead of a session.
    pub key: Option<String>,
}

impl Api {
    /// A client of the control plane at `base`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::new(),
            session: None,
            csrf: None,
            key: None,
        }
    }

    /// The same server, as a program holding `key`.
    pub fn with_key(&self, key: &str) -> Self {
        Self {
            session: None,
            csrf: None,
            key: Some(key.to_owned()),
            ..self.clone()
        }
    }

    /// A client of this one's server holding `other`'s session (another replica's client).
    pub fn with_session(&self, other: &Api) -> Self {
        Self {
            session: other.session.clone(),
            csrf: other.csrf.clone(),
            key: None,
            ..self.clone()
        }
    }

    /// Sends a request with the session (and CSRF token) or key this client holds; keeps
    /// the session cookies a response sets.
    pub async fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.try_call(method, path, body)
            .await
            .expect("the control plane answers")
    }

    /// As [`Api::call`], with the transport's error instead of a panic: a server that
    /// answers before reading a large body and closes the connection may reset it under the
    /// answer.
    pub async fn try_call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Reply, reqwest::Error> {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(m, format!("{}{path}", self.base));
        if let Some(k) = &self.key {
            req = req.bearer_auth(k);
        }
        if let Some(s) = &self.session {
            req = req.header("cookie", format!("sh_session={s}"));
        }
        if let Some(c) = &self.csrf {
            req = req.header("x-csrf-token", c);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        for c in headers.get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            match kv.split_once('=') {
                Some(("sh_session", v)) => {
                    self.session = Some(v.to_owned()).filter(|v| !v.is_empty())
                }
                Some(("sh_csrf", v)) => self.csrf = Some(v.to_owned()).filter(|v| !v.is_empty()),
                _ => {}
            }
        }
        let text = r.text().await.unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// `GET`.
    pub async fn get(&mut self, path: &str) -> Reply {
        self.call("GET", path, None).await
    }

    /// `POST` with a JSON body.
    pub async fn post(&mut self, path: &str, body: Value) -> Reply {
        self.call("POST", path, Some(body)).await
    }

    /// Signs up: a new account and organization; returns the organization's id.
    pub async fn sign_up(&mut self, email: &str, org: &str) -> String {
        let r = self
            .post(
                "/api/v1/signup",
                serde_json::json!({"email": email, "password": "correct horse battery", "organization": org}),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        r.body["organizations"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates an API key in `org` with `scopes`; returns (id, whole key).
    pub async fn create_key(&mut self, org: &str, scopes: &[&str]) -> (String, String) {
        let r = self
            .post(
                &format!("/api/v1/orgs/{org}/keys"),
                serde_json::json!({"name": "test", "scopes": scopes}),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        (
            r.body["key"]["id"].as_str().unwrap().to_owned(),
            r.body["secret"].as_str().unwrap().to_owned(),
        )
    }
}
