//! `streamhouse-control-plane`: serves the control plane's REST API.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use streamhouse_control_plane::auth::{hash_password, random_token};
use streamhouse_control_plane::config::Config;
use streamhouse_control_plane::routes::account::user_id;
use streamhouse_core::accounts::User;
use streamhouse_core::clock::now_ms;
use streamhouse_core::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// The StreamHouse control plane: organizations, users, API keys, topics and quotas.
///
/// With no config file it uses the agent's embedded default database (./data/metadata.db)
/// and serves HTTP on 127.0.0.1:8080.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// TOML config file; environment variables STREAMHOUSE_<SECTION>__<KEY> override it.
    #[arg(long, short, env = "STREAMHOUSE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve the API and the dashboard (the default).
    Serve,
    /// Run StreamHouse on this machine: start the agent on the embedded default (SQLite and
    /// local disk under ./data), serve the control plane and its dashboard on the same store,
    /// and print the dashboard's URL with a first administrator's sign-in.
    Dev,
    /// Create a platform operator (who sees every organization and the agents) and print
    /// its password, unless STREAMHOUSE_OPERATOR_PASSWORD gives one.
    CreateOperator {
        /// The operator's email address.
        #[arg(long)]
        email: String,
    },
    /// Check the config without connecting to anything, and exit: it loads (the files it
    /// names must exist, as where it runs), and the metadata backend it names is built into
    /// this binary and accepts its options. Prints the backend and the address, for deploy
    /// pipelines.
    CheckConfig,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("streamhouse-control-plane: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref(), std::env::vars())?;
    if let Some(Command::CheckConfig) = args.command {
        streamhouse_core::registry::check_metadata(&config.metadata)?;
        println!("metadata: {}", config.metadata.backend);
        println!("http_addr: {}", config.control_plane.http_addr);
        return Ok(());
    }
    init_logging(&config)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    rt.block_on(async move {
        match args.command {
            None | Some(Command::Serve) => serve(config).await,
            Some(Command::Dev) => streamhouse_control_plane::dev::run(config, shutdown()).await,
            Some(Command::CreateOperator { email }) => create_operator(config, &email).await,
            Some(Command::CheckConfig) => unreachable!("answered before the runtime starts"),
        }
    })
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = config.control_plane.http_addr;
    let state = streamhouse_control_plane::open_state(config).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(addr = %bound, "control plane listening; API at /api/v1, described at /api/v1/openapi.json");
    streamhouse_control_plane::serve(state, listener, shutdown()).await
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM; stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down");
}

async fn create_operator(config: Config, email: &str) -> anyhow::Result<()> {
    let state = streamhouse_control_plane::open_state(config).await?;
    let address = streamhouse_control_plane::auth::email(email)
        .map_err(|_| anyhow::anyhow!("{email:?} is not an email address"))?;
    let (password, generated) = match std::env::var("STREAMHOUSE_OPERATOR_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (random_token()[..24].to_owned(), true),
    };
    streamhouse_control_plane::auth::check_password(&password).map_err(|_| {
        anyhow::anyhow!("STREAMHOUSE_OPERATOR_PASSWORD needs 10 to 1024 characters")
    })?;
    let user = User {
        id: user_id(),
        email: address.clone(),
        password_hash: hash_password(password.clone())
            .await
            .map_err(|_| anyhow::anyhow!("cannot hash the password"))?,
        operator: true,
        created_at_ms: now_ms(),
    };
    state.store.create_user(&user).await?;
    let host = std::env::var("USER").unwrap_or_default();
    state
        .audit(
            &format!("cli:{host}"),
            None,
            "operator.create",
            &address,
            "",
            String::new(),
        )
        .await
        .map_err(|_| anyhow::anyhow!("cannot record the audit event"))?;
    if generated {
        println!("{password}");
    }
    eprintln!("operator {address} created");
    Ok(())
}

fn init_logging(config: &Config) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => EnvFilter::try_new(v)?,
        _ => EnvFilter::try_new(&config.log.level).map_err(|e| {
            anyhow::anyhow!(
                "log.level {:?} is not a valid filter: {e}",
                config.log.level
            )
        })?,
    };
    // Logs go to stderr: `create-operator` prints its answer on stdout.
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Text => b.init(),
        LogFormat::Json => b.json().init(),
    }
    Ok(())
}
