//! Helpers for the end-to-end tests (`tests/e2e/`): start the real `streamhouse-agent` and
//! `streamhouse-control-plane` binaries in a temp directory, wait until it serves, stop it with SIGKILL or SIGTERM; point it
//! at the real services; break those services; check what a user sees.
//!
//! The binaries must be built first (`cargo build --bins`; `scripts/test.sh` does it). They
//! are looked up next to the test executable's `deps/` directory, or in `STREAMHOUSE_BIN_DIR`.

mod certs;
mod checks;
mod control_plane;
pub mod kube;
mod otlp;
mod pg;
mod process;
mod proxy;
mod raw;
mod services;
mod storage;

pub use certs::{TestCa, TestCert};
pub use checks::{assert_acked_readable, produce_recorded};
pub use control_plane::{Api, ControlPlaneProcess, Reply, browser_script};
pub use otlp::OtlpCollector;
pub use pg::{PG_PASSWORD, PgCluster};
pub use process::{AgentProcess, admin, bin, free_port, health_serving, tool};
pub use proxy::{Fault, FaultyProxy};
pub use raw::{empty_records_request, raw_call, raw_produce};
pub use services::{Metadata, Objects, env_refs};
pub use storage::{eventually, metric_sum, objects_report, read_log};
