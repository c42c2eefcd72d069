//! Helpers for the end-to-end tests: start the real `streamhouse-agent` binary in a temp
//! directory, wait until it serves, stop it with SIGKILL or SIGTERM.
//!
//! The binaries must be built first (`cargo build --bins`; `scripts/test.sh` does it). They
//! are looked up next to the test executable's `deps/` directory, or in `STREAMHOUSE_BIN_DIR`.

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
        let port = free_port();
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

/// The metadata store an end-to-end test runs the agent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metadata {
    /// The embedded default: SQLite in the agent's data directory.
    Sqlite,
    /// The test PostgreSQL server, directly (a fresh database).
    Postgres,
    /// The same server through PgBouncer in transaction pooling mode.
    PgBouncer,
}

impl Metadata {
    /// `STREAMHOUSE_METADATA__*` variables selecting this store (a fresh database for the
    /// PostgreSQL routes).
    pub async fn env(self) -> Vec<(String, String)> {
        use streamhouse_metadata_postgres::testing::fresh_database;
        let pg = |url: String, pooler: bool| {
            vec![
                (
                    "STREAMHOUSE_METADATA__BACKEND".to_owned(),
                    "postgres".to_owned(),
                ),
                ("STREAMHOUSE_METADATA__URL".to_owned(), url),
                (
                    "STREAMHOUSE_METADATA__TRANSACTION_POOLER".to_owned(),
                    pooler.to_string(),
                ),
            ]
        };
        match self {
            Metadata::Sqlite => Vec::new(),
            Metadata::Postgres => pg(fresh_database("STREAMHOUSE_TEST_POSTGRES_URL").await, false),
            Metadata::PgBouncer => pg(fresh_database("STREAMHOUSE_TEST_PGBOUNCER_URL").await, true),
        }
    }
}

/// The object store an end-to-end test runs the agent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objects {
    /// The embedded default: a directory in the agent's data directory.
    Local,
    /// SeaweedFS's S3 API (`scripts/services.sh`), under a fresh prefix of the test bucket.
    S3,
    /// fake-gcs-server's JSON API (`scripts/services.sh`), under a fresh prefix of the test
    /// bucket.
    Gcs,
    /// Azurite's Blob API (`scripts/services.sh`), under a fresh prefix of the test container.
    Azure,
}

impl Objects {
    /// `STREAMHOUSE_OBJECT_STORE__*` variables selecting this store.
    pub fn env(self) -> Vec<(String, String)> {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!("{name} is not set: run scripts/test.sh, or `source scripts/services.sh`")
            })
        };
        match self {
            Objects::Local => Vec::new(),
            Objects::S3 => vec![
                ("STREAMHOUSE_OBJECT_STORE__BACKEND".into(), "s3".into()),
                (
                    "STREAMHOUSE_OBJECT_STORE__BUCKET".into(),
                    var("STREAMHOUSE_TEST_S3_BUCKET"),
                ),
                (
                    "STREAMHOUSE_OBJECT_STORE__ENDPOINT".into(),
                    var("STREAMHOUSE_TEST_S3_ENDPOINT"),
                ),
                (
                    "STREAMHOUSE_OBJECT_STORE__FORCE_PATH_STYLE".into(),
                    "true".into(),
                ),
                (
                    "STREAMHOUSE_OBJECT_STORE__PREFIX".into(),
                    format!("e2e-{}", std::process::id()),
                ),
            ],
            Objects::Gcs => vec![
                ("STREAMHOUSE_OBJECT_STORE__BACKEND".into(), "gcs".into()),
                (
                    "STREAMHOUSE_OBJECT_STORE__BUCKET".into(),
                    var("STREAMHOUSE_TEST_GCS_BUCKET"),
                ),
                (
                    "STREAMHOUSE_OBJECT_STORE__ENDPOINT".into(),
                    var("STREAMHOUSE_TEST_GCS_ENDPOINT"),
                ),
                ("STREAMHOUSE_OBJECT_STORE__ANONYMOUS".into(), "true".into()),
                (
                    "STREAMHOUSE_OBJECT_STORE__PREFIX".into(),
                    format!("e2e-{}", std::process::id()),
                ),
            ],
            Objects::Azure => vec![
                ("STREAMHOUSE_OBJECT_STORE__BACKEND".into(), "azure".into()),
                (
                    "STREAMHOUSE_OBJECT_STORE__CONTAINER".into(),
                    var("STREAMHOUSE_TEST_AZURE_CONTAINER"),
                ),
                (
                    "STREAMHOUSE_OBJECT_STORE__USE_EMULATOR".into(),
                    "true".into(),
                ),
                (
                    "STREAMHOUSE_OBJECT_STORE__PREFIX".into(),
                    format!("e2e-{}", std::process::id()),
                ),
            ],
        }
    }
}

/// Borrowed view of owned variables, for [`AgentProcess::start`].
pub fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// A private PostgreSQL cluster that a test may stop, restart and break, with password
/// authentication. Needs the server binaries (`STREAMHOUSE_TEST_PG_BIN`, set by
/// `scripts/services.sh`); runs the server as the `postgres` user when the test is root.
#[derive(Debug)]
pub struct PgCluster {
    dir: tempfile::TempDir,
    /// Port it listens on, on 127.0.0.1.
    pub port: u16,
    bin: PathBuf,
}

/// Password of the private cluster's `postgres` user.
pub const PG_PASSWORD: &str = "s3cret-test";

impl PgCluster {
    /// Creates and starts a cluster on a free port.
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Creates and starts a cluster on `port`.
    pub fn start_on(port: u16) -> Self {
        let bin = PathBuf::from(
            std::env::var("STREAMHOUSE_TEST_PG_BIN")
                .unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".to_owned()),
        );
        let dir = tempfile::Builder::new()
            .prefix("sh-pg")
            .tempdir()
            .expect("temp dir");
        let c = Self { dir, port, bin };
        c.chown(c.dir.path());
        let pw = c.dir.path().join("pw");
        std::fs::write(&pw, PG_PASSWORD).unwrap();
        c.chown(&pw);
        c.run(&[
            "initdb",
            "-D",
            &c.data(),
            "-A",
            "scram-sha-256",
            "-U",
            "postgres",
            "--pwfile",
            pw.to_str().unwrap(),
            "--no-sync",
        ]);
        c.pg_ctl("start");
        c
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn chown(&self, path: &Path) {
        if nix::unistd::geteuid().is_root() {
            let status = Command::new("chown")
                .arg("postgres:")
                .arg(path)
                .status()
                .unwrap();
            assert!(status.success());
        }
    }

    /// A PostgreSQL server tool, run as `postgres` when the test is root (the server refuses
    /// to run as root).
    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if nix::unistd::geteuid().is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        }
    }

    fn run(&self, args: &[&str]) {
        let out = self
            .command(args[0])
            .args(&args[1..])
            .output()
            .expect("run PostgreSQL tool");
        assert!(out.status.success(), "{args:?}: {out:?}");
    }

    fn pg_ctl(&self, action: &str) {
        let log = self.dir.path().join("log").display().to_string();
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        self.run(&[
            "pg_ctl",
            "-D",
            &self.data(),
            "-l",
            &log,
            "-m",
            "fast",
            "-w",
            "-o",
            &opts,
            action,
        ]);
    }

    /// Stops the server (fast shutdown: open connections are dropped).
    pub fn stop(&self) {
        self.pg_ctl("stop");
    }

    /// Starts the stopped server again.
    pub fn start_again(&self) {
        self.pg_ctl("start");
    }

    /// URL of `database` as `postgres` with `password`.
    pub fn url_with(&self, password: &str, database: &str) -> String {
        format!(
            "postgres://postgres:{password}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// URL of the `postgres` database with the right password.
    pub fn url(&self) -> String {
        self.url_with(PG_PASSWORD, "postgres")
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// Asserts that each partition of `topic` holds exactly the acknowledged records
/// `(partition, offset) -> value`: offsets dense from the log start, every value as
/// acknowledged, nothing else.
pub async fn assert_acked_readable(
    client: &Client,
    topic: &str,
    acked: &std::collections::BTreeMap<(u32, u64), String>,
) {
    let (_, parts) = client.describe_topic(topic).await.expect("describe");
    for p in parts {
        let want: Vec<_> = acked
            .range((p.partition, 0)..(p.partition + 1, 0))
            .collect();
        assert_eq!(
            p.high_watermark,
            want.len() as u64,
            "partition {} holds exactly the acknowledged records",
            p.partition
        );
        let mut offset = p.log_start_offset;
        while offset < p.high_watermark {
            let f = client
                .fetch(topic, p.partition, offset, 1 << 20, 0)
                .await
                .expect("fetch");
            assert!(!f.records.is_empty(), "nothing at {}:{offset}", p.partition);
            for r in f.records {
                assert_eq!(r.offset, offset, "dense offsets");
                let v = String::from_utf8(r.value.expect("value").to_vec()).expect("utf-8");
                assert_eq!(
                    &v,
                    &acked[&(p.partition, offset)],
                    "{}:{offset}",
                    p.partition
                );
                offset += 1;
            }
        }
    }
}

/// How a [`FaultyProxy`] treats connections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Forward everything.
    None,
    /// Refuse new connections and cut open ones: the service is down.
    All,
    /// Refuse this share of new connections and cut this share of open ones after a random
    /// delay of up to 200 ms: a flaky network or an overloaded service.
    Share(f64),
}

/// A TCP proxy in front of a real service that injects faults on demand.
#[derive(Debug)]
pub struct FaultyProxy {
    /// Address to connect to instead of the service.
    pub addr: std::net::SocketAddr,
    fault: tokio::sync::watch::Sender<Fault>,
}

impl FaultyProxy {
    /// Starts forwarding 127.0.0.1:<free port> to `target`.
    pub async fn start(target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (fault, watch) = tokio::sync::watch::channel(Fault::None);
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let mut watch = watch.clone();
                let current = *watch.borrow();
                let cut_after = match current {
                    Fault::None => None,
                    Fault::All => continue,
                    Fault::Share(p) => {
                        if rand::random::<f64>() < p {
                            continue;
                        }
                        (rand::random::<f64>() < p)
                            .then(|| Duration::from_millis(rand::random::<u64>() % 200))
                    }
                };
                tokio::spawn(async move {
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let cut = async {
                        match cut_after {
                            Some(d) => tokio::time::sleep(d).await,
                            None => {
                                let _ = watch.wait_for(|f| *f == Fault::All).await;
                            }
                        }
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                        _ = cut => {}
                    }
                });
            }
        });
        Self { addr, fault }
    }

    /// Changes the fault; `Fault::All` also cuts every open connection.
    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }
}

/// Produces record `v<i>` to partition `i % 2` of `topic` with no retries, recording the
/// acknowledgement in `acked` — the probe the fault tests run while they break things.
pub async fn produce_recorded(
    client: &Client,
    topic: &str,
    i: u32,
    acked: &mut std::collections::BTreeMap<(u32, u64), String>,
) -> Result<(), streamhouse_client::ClientError> {
    let value = format!("v{i}");
    let no_retry = client.clone().with_retry(streamhouse_client::RetryPolicy {
        timeout: Duration::ZERO,
        ..streamhouse_client::RetryPolicy::default()
    });
    let a = no_retry
        .produce(
            topic,
            vec![streamhouse_client::ProduceRecord::new(value.clone()).with_partition(i % 2)],
        )
        .await?;
    acked.insert((a[0].partition, a[0].offset), value);
    Ok(())
}

/// A minimal OTLP/gRPC trace collector on a free local port: keeps every span it is sent.
#[derive(Debug, Clone)]
pub struct OtlpCollector {
    /// The URL to give agents as `trace.otlp_endpoint`.
    pub endpoint: String,
    spans: std::sync::Arc<std::sync::Mutex<Vec<Span>>>,
}

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::Span;

impl OtlpCollector {
    /// Starts the collector in the background.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = Self {
            endpoint: format!("http://{}", listener.local_addr().unwrap()),
            spans: std::sync::Arc::default(),
        };
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(c.clone()))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        c
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }
}

#[tonic::async_trait]
impl TraceService for OtlpCollector {
    async fn export(
        &self,
        req: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for rs in req.into_inner().resource_spans {
            for ss in rs.scope_spans {
                spans.extend(ss.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}
