//! Opening the database: its directory, the lock file that admits one agent process, and the
//! connection pool (WAL, the configured `synchronous`, a busy timeout).

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use streamhouse_core::registry::BuildError;

use crate::config::{SqliteConfig, Synchronous};

/// Takes the database's lock file (when `lock`) and opens its two pools: writes (one
/// connection), and reads.
pub(crate) async fn open_pools(
    cfg: &SqliteConfig,
    lock: bool,
) -> Result<(SqlitePool, SqlitePool, Option<std::fs::File>), BuildError> {
    if let Some(dir) = cfg.path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| BuildError(format!("cannot create directory {}: {e}", dir.display())))?;
    }
    let lock = lock.then(|| lock_database(&cfg.path)).transpose()?;
    let opts = SqliteConnectOptions::new()
        .filename(&cfg.path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(match cfg.synchronous {
            Synchronous::Normal => SqliteSynchronous::Normal,
            Synchronous::Full => SqliteSynchronous::Full,
        })
        .busy_timeout(Duration::from_millis(cfg.busy_timeout_ms))
        .foreign_keys(true);
    let open = |opts: SqliteConnectOptions, connections: u32| async move {
        SqlitePoolOptions::new()
            .max_connections(connections)
            // An embedded database's connection cannot go stale; a ping would cost every
            // transaction another round trip to the connection's worker thread.
            .test_before_acquire(false)
            // A writer queues here for the one writing connection: as long as it would have
            // waited for SQLite's write lock.
            .acquire_timeout(Duration::from_millis(cfg.busy_timeout_ms))
            .connect_with(opts)
            .await
            .map_err(|e| {
                BuildError(format!(
                    "cannot open SQLite database {}: {e}",
                    cfg.path.display()
                ))
            })
    };
    // SQLite runs one write transaction at a time, so more writing connections would only
    // wait in its busy handler (polling) instead of in the pool's queue, and each would find
    // its page cache stale after another's commit and read the pages back from the file.
    let writes = open(opts.clone(), 1).await?;
    let reads = open(opts, cfg.max_connections.max(1)).await?;
    Ok((writes, reads, lock))
}

/// Takes the exclusive lock file of the database at `path`.
///
/// A second agent on the same file would compete for every lease, and a paused one holding
/// SQLite's write lock would stall the other; clusters use the PostgreSQL backend instead.
fn lock_database(path: &Path) -> Result<std::fs::File, BuildError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| BuildError(format!("cannot open {}: {e}", lock_path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(BuildError(format!(
            "SQLite database {} is in use by another process: the sqlite backend serves one \
             agent; stop the other agent or give this one another metadata.path",
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(BuildError(format!(
            "cannot lock {}: {e}",
            lock_path.display()
        ))),
    }
}
