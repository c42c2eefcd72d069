//! `[object_store]` options of the `local` and `memory` backends.

use std::path::PathBuf;

use serde::Deserialize;

/// Options of `backend = "local"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalConfig {
    /// Directory that holds the objects; created if missing. Default `data/objects`.
    pub root: PathBuf,
    /// Write objects with `O_DIRECT` (Linux), skipping the page-cache copy that costs most of
    /// a produce's CPU; file systems that refuse it get buffered writes. Default true.
    pub direct_io: bool,
    /// Flush each object to the disk (`fdatasync`) and its directory entry (`fsync` of the
    /// directory) before the put returns, so an acknowledged record survives a power loss or
    /// a kernel crash, not only a crash of the agent. Default true.
    pub fsync: bool,
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            root: PathBuf::from("data/objects"),
            direct_io: true,
            fsync: true,
        }
    }
}

/// Options of `backend = "memory"`: none.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryConfig {}
