//! Failpoints: `STREAMHOUSE_FAILPOINT=<name>` makes the process abort (as abruptly as a
//! SIGKILL: no flush, no lease release, no cleanup) when it reaches the named step. The crash
//! tests use them to kill an agent between two steps that must be safe to interrupt; nothing
//! sets the variable in a deployment.

use std::sync::OnceLock;

/// Aborts the process if the failpoint `name` is set.
pub fn hit(name: &str) {
    static SET: OnceLock<Option<String>> = OnceLock::new();
    let set = SET.get_or_init(|| std::env::var("STREAMHOUSE_FAILPOINT").ok());
    if set.as_deref() == Some(name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
