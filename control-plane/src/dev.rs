//! `streamhouse-control-plane dev`: StreamHouse on one machine in one command. It starts the
//! agent (the `streamhouse-agent` binary beside this one) on the embedded default, serves the
//! control plane and its dashboard on the same SQLite store (the agent holds the database's
//! lock; the control plane opens it beside it, as administrative commands do), and prints the
//! dashboard's URL with a first administrator's sign-in.
//!
//! The administrator `admin@streamhouse.local` is an operator and the owner of the
//! `default` organization, the tenant the CLI acts for without a key; its password is
//! generated once and kept in `data/dev-admin-password` (readable by its owner only).

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use streamhouse_core::accounts::{Role, User};
use streamhouse_core::clock::now_ms;
use streamhouse_core::tenancy::{Plan, Tenant};
use streamhouse_core::{MetadataError, TenantId};
use tokio::process::Command;

use crate::auth::{hash_password, random_token};
use crate::config::Config;
use crate::routes::account::user_id;
use crate::state::Shared;

/// The first administrator's email.
pub const ADMIN_EMAIL: &str = "admin@streamhouse.local";
const PASSWORD_FILE: &str = "data/dev-admin-password";

/// Runs the agent and the control plane until SIGTERM or Ctrl-C.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if config.metadata.backend != "sqlite" {
        bail!(
            "`dev` runs on the embedded default (metadata backend sqlite); with {:?}, run the \
             agents and `streamhouse-control-plane serve` separately",
            config.metadata.backend
        );
    }
    let exe = std::env::current_exe().context("this binary's path")?;
    let agent_bin = exe.with_file_name("streamhouse-agent");
    if !agent_bin.is_file() {
        bail!(
            "{} is missing: build every binary with `cargo build --release`",
            agent_bin.display()
        );
    }
    // The schema first, so the agent finds it migrated rather than racing to migrate it.
    let state = crate::open_state(config.clone()).await?;
    let mut agent = Command::new(&agent_bin)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", agent_bin.display()))?;
    let agent_url = wait_for_agent(&state, &mut agent).await?;
    let password = first_admin(&state).await?;
    let addr = config.control_plane.http_addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let url = format!("http://localhost:{}", listener.local_addr()?.port());
    println!();
    println!("StreamHouse is running.");
    println!("  dashboard: {url}");
    match &password {
        Some(p) => println!("  sign in:   {ADMIN_EMAIL} / {p}"),
        None => println!(
            "  sign in:   {ADMIN_EMAIL} (its password file {PASSWORD_FILE} is gone; create \
             another operator with `streamhouse-control-plane create-operator --email ...`)"
        ),
    }
    println!("  agent:     {agent_url} (gRPC; the CLI acts for tenant `default` without a key)");
    println!("Stop both with Ctrl-C.");
    let served = crate::serve(state, listener, shutdown).await;
    stop_agent(&mut agent).await;
    served
}

/// Waits until the agent heartbeats into the store (it then serves), or fails if it exits;
/// its URL.
async fn wait_for_agent(
    state: &Shared,
    agent: &mut tokio::process::Child,
) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = agent.try_wait()? {
            bail!("the agent exited with {status}; its log is above");
        }
        if let Some(a) = state
            .store
            .live_agents()
            .await
            .ok()
            .and_then(|a| a.into_iter().next())
        {
            return Ok(a.addr);
        }
        if Instant::now() > deadline {
            bail!("the agent did not start within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stops the agent as Kubernetes would: SIGTERM, then its shutdown timeout.
async fn stop_agent(agent: &mut tokio::process::Child) {
    if let Some(pid) = agent.id().and_then(|p| i32::try_from(p).ok()) {
        // The agent flushes what it buffered and hands its leases over on SIGTERM.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    if tokio::time::timeout(Duration::from_secs(30), agent.wait())
        .await
        .is_err()
    {
        let _ = agent.kill().await;
    }
}

/// Makes sure the `default` organization and its administrator exist; the password, when
/// this process knows it.
async fn first_admin(state: &Shared) -> anyhow::Result<Option<String>> {
    let default = TenantId::default_tenant();
    let mut tenant = Tenant::new(default.clone(), Plan::Enterprise, now_ms());
    tenant.name = "Default (development)".into();
    match state.store.create_tenant(&tenant).await {
        Ok(()) | Err(MetadataError::AlreadyExists(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let user = match state.store.user_by_email(ADMIN_EMAIL).await {
        Ok(u) => u,
        Err(MetadataError::NotFound(_)) => {
            let password = random_token()[..20].to_owned();
            write_secret(Path::new(PASSWORD_FILE), &password)?;
            let u = User {
                id: user_id(),
                email: ADMIN_EMAIL.into(),
                password_hash: hash_password(password)
                    .await
                    .map_err(|_| anyhow::anyhow!("cannot hash the password"))?,
                operator: true,
                created_at_ms: now_ms(),
            };
            state.store.create_user(&u).await?;
            u
        }
        Err(e) => return Err(e.into()),
    };
    state
        .store
        .set_member(&default, &user.id, Role::Owner)
        .await?;
    Ok(std::fs::read_to_string(PASSWORD_FILE)
        .ok()
        .map(|p| p.trim().to_owned()))
}

fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(f, "{secret}")?;
    Ok(())
}
