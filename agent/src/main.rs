//! `streamhouse-agent`: runs a StreamHouse agent.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use streamhouse_agent::admin::{KeyCommand, TenantCommand};
use streamhouse_agent::{Agent, init_logging};
use streamhouse_core::config::Config;

/// A StreamHouse agent: Kafka-style streams stored in object storage.
///
/// With no config file it runs on the embedded default: SQLite metadata and objects under
/// ./data, gRPC on 127.0.0.1:9090.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// TOML config file; environment variables STREAMHOUSE_<SECTION>__<KEY> override it.
    #[arg(long, short, env = "STREAMHOUSE_CONFIG")]
    config: Option<PathBuf>,
    /// Print the configuration as loaded, as TOML, secrets redacted, and exit.
    #[arg(long)]
    print_config: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Run the metadata store's schema migrations and exit (for operators who run them
    /// before rolling out agents, with `run_migrations = false` in the agent's config).
    Migrate,
    /// Assign a tenant's topics to an agent group (`[agent] group`) and exit; agents of other
    /// groups then refuse its requests, naming the group. Tenants start in `default`.
    TenantGroup {
        /// The tenant.
        tenant: String,
        /// The agent group to serve it.
        group: String,
    },
    /// Create and list tenants (each has a plan; API keys belong to one).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Rebuild an empty metadata store from the bucket: tenants, topics, partitions, the
    /// offset index, high watermarks and consumer-group offsets (from the newest snapshot).
    /// Stop every agent first. See docs/operations.md.
    RebuildMetadata {
        /// Print what would be restored, and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check the config without connecting to anything, and exit: it loads, and the metadata
    /// and object-store backends it names are built into this binary and accept their
    /// options (secret files are not read: they are mounted where the agent runs). Prints the
    /// backends and addresses, for deploy pipelines.
    CheckConfig,
    /// Count the record objects in the bucket by what the metadata store knows of them:
    /// referenced, unreferenced (deleted after `gc.grace_ms`) and unknown (orphans, deleted
    /// once older than twice `write.commit_deadline_ms`).
    Objects,
    /// List the audit log, newest first: key creation and revocation, topic creation and
    /// deletion, failed authentications.
    Audit {
        /// Only this tenant's events.
        #[arg(long)]
        tenant: Option<String>,
        /// How many events.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

fn main() {
    tune_allocator();
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("streamhouse-agent: {e:#}");
        std::process::exit(1);
    }
}

/// Keeps freed memory for reuse instead of handing it back to the kernel at once.
///
/// Each flush builds its object in a fresh buffer of a few MB and each produce request is
/// decoded from one of about its size; they are freed when the read cache evicts the object
/// and when the request is answered. With glibc's default of adapting its thresholds, most
/// such frees give the pages back (`munmap`, or trimming a heap's top) and the next
/// allocation takes them again, a page fault and a zeroed page per 4 KiB: about a tenth of
/// the agent's CPU per GB produced (W1, docs/BENCHMARKS.md). Fixed thresholds at glibc's own
/// adaptive maximum (blocks under 32 MiB from the heap, heaps trimmed only past 64 MiB free)
/// keep those pages. Settings an operator gives glibc through `GLIBC_TUNABLES` or
/// `MALLOC_*_` variables are left alone.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune_allocator() {
    let set_by_operator = std::env::vars_os().any(|(k, v)| {
        let k = k.to_string_lossy();
        (k.starts_with("MALLOC_") && k.ends_with('_'))
            || (k == "GLIBC_TUNABLES" && v.to_string_lossy().contains("glibc.malloc."))
    });
    if set_by_operator {
        return;
    }
    // SAFETY: `mallopt` only sets allocator parameters, and runs before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

/// Other allocators manage their own thresholds.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref(), std::env::vars())?;
    if args.print_config {
        print!("{}", toml_string(&config)?);
        return Ok(());
    }
    if let Some(Command::CheckConfig) = args.command {
        return check_config(&config);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    // The trace exporter runs on the runtime: set it up inside, and flush it (by dropping
    // `telemetry`) before the runtime goes.
    let _in_runtime = rt.enter();
    // A command's answer is its stdout; only the agent itself logs there.
    let telemetry = init_logging(
        &config.log,
        &config.trace,
        &config.agent.id,
        args.command.is_some(),
    )?;
    let result = match args.command {
        Some(Command::Migrate) => {
            streamhouse_agent::backends::link();
            rt.block_on(async {
                streamhouse_core::registry::migrate_metadata(config.metadata.clone())
                    .await
                    .context("migrate")?;
                tracing::info!(backend = %config.metadata.backend, "migrations applied");
                Ok(())
            })
        }
        Some(Command::TenantGroup { tenant, group }) => {
            streamhouse_agent::backends::link();
            rt.block_on(assign_tenant(config, &tenant, &group))
        }
        Some(Command::Tenant(cmd)) => rt.block_on(streamhouse_agent::admin::tenant(&config, cmd)),
        Some(Command::Key(cmd)) => rt.block_on(streamhouse_agent::admin::key(&config, cmd)),
        Some(Command::RebuildMetadata { dry_run }) => rt.block_on(
            streamhouse_agent::backup::commands::rebuild(&config, dry_run),
        ),
        Some(Command::CheckConfig) => unreachable!("answered before the runtime starts"),
        Some(Command::Objects) => {
            rt.block_on(streamhouse_agent::backup::commands::objects(&config))
        }
        Some(Command::Audit { tenant, limit }) => rt.block_on(streamhouse_agent::admin::audit_log(
            &config,
            tenant.as_deref(),
            limit,
        )),
        None => rt.block_on(async {
            let agent = Agent::start(config).await?;
            wait_for_signal().await?;
            agent.shutdown().await
        }),
    };
    drop(telemetry);
    result
}

/// Assigns a tenant to an agent group in the metadata store.
async fn assign_tenant(config: Config, tenant: &str, group: &str) -> anyhow::Result<()> {
    let tenant = streamhouse_core::TenantId::new(tenant).map_err(|e| anyhow::anyhow!(e.0))?;
    if group.trim().is_empty() {
        anyhow::bail!("the group name is empty");
    }
    let meta = streamhouse_core::registry::build_metadata(config.metadata.clone())
        .await
        .context("metadata store")?;
    meta.store.set_tenant_group(&tenant, group).await?;
    tracing::info!(%tenant, %group, "tenant assigned to agent group");
    Ok(())
}

/// `check-config`: the backends are registered and their options parse; prints a summary.
fn check_config(config: &Config) -> anyhow::Result<()> {
    streamhouse_agent::backends::link();
    streamhouse_core::registry::check_metadata(&config.metadata)?;
    streamhouse_core::registry::check_object_store(&config.object_store)?;
    println!("metadata: {}", config.metadata.backend);
    println!("object_store: {}", config.object_store.backend);
    println!("grpc_addr: {}", config.agent.grpc_addr);
    println!("metrics_addr: {}", config.agent.metrics_addr);
    println!("auth: {:?}", config.auth.mode);
    println!("shutdown_timeout_ms: {}", config.agent.shutdown_timeout_ms);
    Ok(())
}

fn toml_string(config: &Config) -> anyhow::Result<String> {
    let mut value = figment::Figment::from(figment::providers::Serialized::defaults(config))
        .extract::<toml::Value>()?;
    streamhouse_agent::redact::redact_config(&mut value);
    Ok(toml::to_string_pretty(&value)?)
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    Ok(())
}
