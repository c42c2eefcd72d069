//! `[metadata]` options of the `sqlite` backend.

use std::path::PathBuf;

use serde::Deserialize;

/// Options of `backend = "sqlite"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SqliteConfig {
    /// Database file; its directory is created. Default `data/metadata.db`.
    pub path: PathBuf,
    /// Connections of the read pool (reads run in parallel); writes share one connection, as
    /// SQLite runs one write at a time. Default 4.
    pub max_connections: u32,
    /// How long a statement waits for the write lock (or a connection) before failing.
    /// Default 5000 ms.
    pub busy_timeout_ms: u64,
    /// SQLite `synchronous` setting: `normal` survives a killed process (the WAL is written
    /// before a commit returns), `full` also survives power loss at the cost of an fsync per
    /// commit. Default `full`, matching the local object store, which fsyncs each object
    /// (W1 measured no difference on this project's machine, see docs/BENCHMARKS.md).
    pub synchronous: Synchronous,
}

/// SQLite `synchronous` levels offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// Durable against process crashes.
    Normal,
    /// Durable against power loss.
    Full,
}

impl Default for SqliteConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("data/metadata.db"),
            max_connections: 4,
            busy_timeout_ms: 5000,
            synchronous: Synchronous::Full,
        }
    }
}
