//! A private PostgreSQL cluster a test may stop, restart and break.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::free_port;

/// A private PostgreSQL cluster that a test may stop, restart and break, with password
/// authentication. Needs the server binaries (`STREAMHOUSE_TEST_PG_BIN`, set by
/// `scripts/services.sh`); runs the server as the `postgres` user when the test is root.
#[derive(Debug)]
pub struct PgCluster {
    dir: tempfile::TempDir,
    /// Port it listens on, on 127.0.0.1.
    pub port: u16,
    bin: PathBuf,
    /// Server options beyond the defaults, such as TLS.
    extra: String,
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
        let c = Self {
            dir,
            port,
            bin,
            extra: String::new(),
        };
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

    /// Creates and starts a cluster on a free port that also serves TLS with `cert` (the
    /// files are copied into the cluster's directory, the key readable by the server only).
    pub fn start_tls(cert: &crate::TestCert) -> Self {
        let mut c = Self::start();
        c.pg_ctl("stop");
        let (crt, key) = (
            c.dir.path().join("server.crt"),
            c.dir.path().join("server.key"),
        );
        std::fs::copy(&cert.cert, &crt).unwrap();
        std::fs::copy(&cert.key, &key).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        c.chown(&crt);
        c.chown(&key);
        c.extra = format!(
            " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            crt.display(),
            key.display()
        );
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
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off{}",
            self.port,
            self.dir.path().display(),
            self.extra
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

    /// Freezes the server (SIGSTOP on the postmaster and every backend): connections stay
    /// open and nothing answers, as with a server stalled on its disk.
    pub fn pause(&self) {
        self.signal_all(nix::sys::signal::Signal::SIGSTOP);
    }

    /// Lets a frozen server run again.
    pub fn resume(&self) {
        self.signal_all(nix::sys::signal::Signal::SIGCONT);
    }

    /// Sends `sig` to the postmaster and its children.
    fn signal_all(&self, sig: nix::sys::signal::Signal) {
        use nix::unistd::Pid;
        let pid_file = self.dir.path().join("data/postmaster.pid");
        let pid: i32 = std::fs::read_to_string(pid_file)
            .expect("postmaster.pid")
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .expect("a pid");
        let mut pids = vec![pid];
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid ...: the command may hold spaces, the fields after ')'
            // do not.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<i32>().ok());
            if ppid == Some(pid)
                && let Some(child) = entry.file_name().to_str().and_then(|s| s.parse().ok())
            {
                pids.push(child);
            }
        }
        for p in pids {
            let _ = nix::sys::signal::kill(Pid::from_raw(p), sig);
        }
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
