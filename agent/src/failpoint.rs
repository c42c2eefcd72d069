//! Failpoints: `STREAMHOUSE_FAILPOINT=<name>` makes the process abort (as abruptly as a
//! SIGKILL: no flush, no lease release, no cleanup) when it reaches the named step, and
//! `STREAMHOUSE_FAILPOINT=<name>=<ms>` makes it wait there that long. The crash tests use
//! them to stop an agent between two steps that must be safe to interrupt; nothing sets the
//! variable in a deployment.

use std::sync::OnceLock;
use std::time::Duration;

fn set() -> Option<&'static str> {
    static SET: OnceLock<Option<String>> = OnceLock::new();
    SET.get_or_init(|| std::env::var("STREAMHOUSE_FAILPOINT").ok())
        .as_deref()
}

/// Aborts the process if the failpoint `name` is set.
pub fn hit(name: &str) {
    if set() == Some(name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}

/// How long to wait at failpoint `name`, if it is set as `name=<ms>`.
pub fn delay(name: &str) -> Option<Duration> {
    let ms = set()?.strip_prefix(name)?.strip_prefix('=')?.parse().ok()?;
    Some(Duration::from_millis(ms))
}
