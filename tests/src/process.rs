//! The real `streamhouse-agent` binary as a child process in a temp directory: start it, wait
//! until it serves, stop it with SIGKILL, SIGTERM or SIGSTOP, read its log and metrics.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use streamhouse_client::Client;

/// Path of one of the workspace's binaries.
pub fn bin(name: &str) -> PathBuf {
    let dir = match std::env::var_os("STREAMHOUSE_BIN_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let exe = std::env::current_exe().expect("test executable path");
            exe.parent()
                .and_then(Path::parent)
                .expect("target/<profile>/deps")
                .to_path_buf()
        }
    };
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the binaries first with `cargo build --bins` (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Runs an administrative command of `streamhouse-agent` (`tenant`, `key`, `audit`) in `dir`
/// with `env` (the metadata store's variables), returning its stdout; panics with its
/// stderr if it fails.
pub fn admin(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = Command::new(bin("streamhouse-agent"))
        .current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .output()
        .expect("run streamhouse-agent");
    assert!(
        out.status.success(),
        "streamhouse-agent {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A running agent process in its own working directory.
#[derive(Debug)]
pub struct AgentProcess {
    child: Option<Child>,
    /// gRPC address, `http://127.0.0.1:PORT`.
    pub url: String,
    port: u16,
    /// Port of its Prometheus endpoint.
    pub metrics_port: u16,
    dir: PathBuf,
    name: String,
    env: Vec<(String, String)>,
}

impl AgentProcess {
    /// Starts an agent with no config file (the embedded default) in `dir`, so its data
    /// lands in `dir/data`; `env` adds `STREAMHOUSE_*` overrides.
    pub async fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        Self::start_named(dir, "agent", env).await
    }

    /// Like [`AgentProcess::start`], with agent id `name` and log file `<name>.log`, so
    /// several agents can share one data directory (and so one SQLite metadata store).
    pub async fn start_named(dir: &Path, name: &str, env: &[(&str, &str)]) -> Self {
        let mut a = Self::launch(dir, name, env);
        a.wait_ready().await;
        a
    }

    /// Spawns the agent without waiting for it to serve (see [`AgentProcess::wait_ready`]).
    pub fn launch(dir: &Path, name: &str, env: &[(&str, &str)]) -> Self {
        // A listener address in `env` (such as 0.0.0.0:PORT) keeps its port.
        let port = env
            .iter()
            .find(|(k, _)| *k == "STREAMHOUSE_AGENT__GRPC_ADDR")
            .and_then(|(_, v)| v.rsplit(':').next()?.parse().ok())
            .filter(|p| *p != 0)
            .unwrap_or_else(free_port);
        let mut a = Self {
            child: None,
            url: format!("http://127.0.0.1:{port}"),
            port,
            metrics_port: free_port(),
            dir: dir.to_path_buf(),
            name: name.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        a.spawn();
        a
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("agent log");
        let child = Command::new(bin("streamhouse-agent"))
            .current_dir(&self.dir)
            .env(
                "STREAMHOUSE_AGENT__GRPC_ADDR",
                format!("127.0.0.1:{}", self.port),
            )
            .env("STREAMHOUSE_AGENT__ID", &self.name)
            .env(
                "STREAMHOUSE_AGENT__METRICS_ADDR",
                format!("127.0.0.1:{}", self.metrics_port),
            )
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn streamhouse-agent");
        self.child = Some(child);
    }

    /// Waits until the health service answers SERVING.
    pub async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("agent exited with {status} while starting:\n{}", self.log());
            }
            if health_serving(&self.url).await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "agent not ready after 30 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join(format!("{}.log", self.name))
    }

    /// The agent's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn signal(&self, sig: Signal) {
        let c = self.child.as_ref().expect("agent running");
        kill(Pid::from_raw(c.id() as i32), sig).expect("signal");
    }

    /// SIGSTOP: the process freezes (as in a long GC pause or a network partition) while
    /// its leases run out.
    pub fn pause(&self) {
        self.signal(Signal::SIGSTOP);
    }

    /// SIGCONT: the frozen process resumes, unaware that time passed.
    pub fn resume(&self) {
        self.signal(Signal::SIGCONT);
    }

    /// The agent's peak resident memory so far (`VmHWM`), in bytes.
    pub fn peak_rss_bytes(&self) -> u64 {
        let c = self.child.as_ref().expect("agent running");
        let status = std::fs::read_to_string(format!("/proc/{}/status", c.id())).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|kb| kb.trim().parse::<u64>().ok())
            .expect("VmHWM in /proc/<pid>/status")
            * 1024
    }

    /// A client connected to the agent.
    pub async fn client(&self) -> Client {
        Client::connect(&self.url).await.expect("connect to agent")
    }

    /// SIGKILL: the process dies at once, flushing nothing.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("SIGKILL");
            c.wait().expect("reap");
        }
    }

    /// SIGTERM and wait for a graceful exit; returns its exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        kill(Pid::from_raw(c.id() as i32), Signal::SIGTERM).expect("SIGTERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = c.try_wait().expect("wait") {
                return s.code();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("agent did not exit within 30 s of SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the agent again on the same port and data directory.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the agent before restarting it");
        self.spawn();
        self.wait_ready().await;
    }

    /// Waits for the process to exit by itself; returns its exit code and log.
    pub fn wait_exit(&mut self, timeout: Duration) -> (Option<i32>, String) {
        let mut c = self.child.take().expect("agent running");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = c.try_wait().expect("wait") {
                return (s.code(), self.log());
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("agent still running after {timeout:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the agent's log contains `needle`.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in the log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The agent's `/metrics` page.
    pub async fn scrape(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.metrics_port))
            .await
            .expect("connect to the metrics port");
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: agent\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert!(out.starts_with("HTTP/1.0 200"), "{out}");
        out
    }

    /// The value of an unlabelled metric on the agent's `/metrics` page.
    pub async fn metric(&self, name: &str) -> f64 {
        let page = self.scrape().await;
        page.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{page}"))
    }

    /// The directory the agent runs in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Whether the agent's `grpc.health.v1` service reports SERVING.
pub async fn health_serving(url: &str) -> bool {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    let Ok(channel) = tonic::transport::Endpoint::from_shared(url.to_owned())
        .expect("url")
        .connect_timeout(Duration::from_millis(500))
        .connect()
        .await
    else {
        return false;
    };
    let mut c = HealthClient::new(channel);
    matches!(
        c.check(HealthCheckRequest { service: String::new() }).await,
        Ok(r) if r.get_ref().status == 1
    )
}

/// Path of an external tool the tests drive: `STREAMHOUSE_<NAME>` (upper case), else the
/// name on `PATH`. `scripts/test.sh` installs the tools; a missing one fails the test.
pub fn tool(name: &str) -> PathBuf {
    let var = format!("STREAMHOUSE_{}", name.to_ascii_uppercase());
    if let Some(p) = std::env::var_os(&var) {
        return PathBuf::from(p);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("{name} is not installed: run scripts/test.sh, which installs it, or set {var}")
        })
}
