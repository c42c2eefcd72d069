//! The plugin registry: each backend crate registers a constructor with `inventory::submit!`.
//!
//! `inventory` only sees crates that are linked, so binaries reference every backend crate
//! they enable (behind a cargo feature) and test the set of registered kinds. A kind that is
//! known but compiled out says which feature brings it back.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::config::BackendSection;
use crate::lease::LeaseManager;
use crate::metadata::MetadataStore;
use crate::object::ObjectStore;

/// Every metadata backend kind StreamHouse has, with the cargo feature that builds it in.
pub const METADATA_KINDS: &[(&str, &str)] = &[
    ("sqlite", "metadata-sqlite"),
    ("postgres", "metadata-postgres"),
    ("aurora", "metadata-postgres"),
];

/// Every object-store backend kind StreamHouse has, with the cargo feature that builds it in.
pub const OBJECT_STORE_KINDS: &[(&str, &str)] = &[
    ("local", "object-local"),
    ("memory", "object-local"),
    ("s3", "object-s3"),
    ("gcs", "object-gcs"),
    ("azure", "object-azure"),
];

/// A backend that could not be built, with a message naming the cause.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

/// A backend's config section that does not parse is why it cannot be built.
impl From<crate::config::ConfigError> for BuildError {
    fn from(e: crate::config::ConfigError) -> Self {
        BuildError(e.0)
    }
}

/// What a metadata backend provides: the store and, unless it says otherwise, leases kept in
/// the same database (so a commit can check lease epochs in its own transaction).
#[derive(Debug, Clone)]
pub struct MetadataParts {
    /// Topics, index, offsets.
    pub store: Arc<dyn MetadataStore>,
    /// Partition leases.
    pub leases: Arc<dyn LeaseManager>,
}

impl MetadataParts {
    /// One backend value serving as both the store and the lease manager.
    pub fn shared<T: MetadataStore + LeaseManager + 'static>(backend: T) -> Self {
        let backend = Arc::new(backend);
        Self {
            store: backend.clone(),
            leases: backend,
        }
    }
}

/// Constructor of a metadata backend from its config section.
pub type MetadataBuilder =
    fn(BackendSection) -> BoxFuture<'static, Result<MetadataParts, BuildError>>;

/// Schema migration of a metadata backend, run alone by `streamhouse-agent migrate`.
pub type MetadataMigrator = fn(BackendSection) -> BoxFuture<'static, Result<(), BuildError>>;

/// Checks a backend's config section without connecting to anything: its options parse and
/// name only keys the backend has (`streamhouse-agent check-config`).
pub type SectionCheck = fn(&BackendSection) -> Result<(), BuildError>;

/// The [`SectionCheck`] of a backend whose options are `T`: they parse, unknown keys refused.
pub fn check_options<T: serde::de::DeserializeOwned>(
    section: &BackendSection,
) -> Result<(), BuildError> {
    section.options::<T>().map(drop).map_err(Into::into)
}

/// Constructor of an object-store backend from its config section.
pub type ObjectStoreBuilder =
    fn(BackendSection) -> BoxFuture<'static, Result<Arc<dyn ObjectStore>, BuildError>>;

/// A registered metadata backend.
#[derive(Debug)]
pub struct MetadataBackend {
    /// The `backend = "..."` value that selects it.
    pub kind: &'static str,
    /// Its constructor (which also migrates the schema unless configured not to).
    pub build: MetadataBuilder,
    /// Runs the schema migrations and nothing else.
    pub migrate: MetadataMigrator,
    /// Opens the store for an administrative command (keys, tenants, the audit log) that
    /// runs beside the agents using it, which an agent's constructor may refuse (SQLite
    /// admits one agent process).
    pub admin: MetadataBuilder,
    /// Checks its config section offline.
    pub check: SectionCheck,
}

/// A registered object-store backend.
#[derive(Debug)]
pub struct ObjectStoreBackend {
    /// The `backend = "..."` value that selects it.
    pub kind: &'static str,
    /// Flush interval used when the config sets none, suited to the store's per-request
    /// price and latency: short where requests are free, longer where each PUT is billed.
    pub default_flush_interval_ms: u64,
    /// Its constructor.
    pub build: ObjectStoreBuilder,
    /// Checks its config section offline.
    pub check: SectionCheck,
}

inventory::collect!(MetadataBackend);
inventory::collect!(ObjectStoreBackend);

/// Registered metadata kinds, sorted.
pub fn metadata_kinds() -> Vec<&'static str> {
    let mut k: Vec<_> = inventory::iter::<MetadataBackend>()
        .map(|b| b.kind)
        .collect();
    k.sort_unstable();
    k
}

/// Registered object-store kinds, sorted.
pub fn object_store_kinds() -> Vec<&'static str> {
    let mut k: Vec<_> = inventory::iter::<ObjectStoreBackend>()
        .map(|b| b.kind)
        .collect();
    k.sort_unstable();
    k
}

fn unknown(what: &str, kind: &str, registered: &[&str], all: &[(&str, &str)]) -> BuildError {
    if let Some((_, feature)) = all.iter().find(|(k, _)| *k == kind) {
        return BuildError(format!(
            "{what} backend {kind:?} is not built into this binary; rebuild with `--features {feature}`"
        ));
    }
    BuildError(format!(
        "unknown {what} backend {kind:?}; known kinds: {}",
        registered.join(", ")
    ))
}

/// The default flush interval of an object-store kind, if that kind is registered.
pub fn default_flush_interval_ms(kind: &str) -> Option<u64> {
    inventory::iter::<ObjectStoreBackend>()
        .find(|b| b.kind == kind)
        .map(|b| b.default_flush_interval_ms)
}

/// The registered metadata backend of `kind`, or an error naming the known kinds.
fn metadata_backend(kind: &str) -> Result<&'static MetadataBackend, BuildError> {
    inventory::iter::<MetadataBackend>()
        .find(|b| b.kind == kind)
        .ok_or_else(|| unknown("metadata", kind, &metadata_kinds(), METADATA_KINDS))
}

/// Builds the metadata backend a config section selects.
pub async fn build_metadata(section: BackendSection) -> Result<MetadataParts, BuildError> {
    (metadata_backend(&section.backend)?.build)(section).await
}

/// Opens the metadata backend a config section selects for an administrative command, beside
/// running agents.
pub async fn admin_metadata(section: BackendSection) -> Result<MetadataParts, BuildError> {
    (metadata_backend(&section.backend)?.admin)(section).await
}

/// Runs the schema migrations of the metadata backend a config section selects.
pub async fn migrate_metadata(section: BackendSection) -> Result<(), BuildError> {
    (metadata_backend(&section.backend)?.migrate)(section).await
}

/// Checks, without connecting, that the metadata backend a config section selects is built
/// into this binary and that its options parse.
pub fn check_metadata(section: &BackendSection) -> Result<(), BuildError> {
    (metadata_backend(&section.backend)?.check)(section)
}

/// Checks, without connecting, that the object-store backend a config section selects is
/// built into this binary and that its options parse.
pub fn check_object_store(section: &BackendSection) -> Result<(), BuildError> {
    (object_store_backend(&section.backend)?.check)(section)
}

/// The registered object-store backend of `kind`, or an error naming the known kinds.
fn object_store_backend(kind: &str) -> Result<&'static ObjectStoreBackend, BuildError> {
    inventory::iter::<ObjectStoreBackend>()
        .find(|b| b.kind == kind)
        .ok_or_else(|| {
            unknown(
                "object store",
                kind,
                &object_store_kinds(),
                OBJECT_STORE_KINDS,
            )
        })
}

/// Builds the object-store backend a config section selects.
pub async fn build_object_store(
    section: BackendSection,
) -> Result<Arc<dyn ObjectStore>, BuildError> {
    (object_store_backend(&section.backend)?.build)(section).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_list_the_known_ones_and_compiled_out_kinds_name_the_feature() {
        let e = unknown("metadata", "mysql", &["postgres", "sqlite"], METADATA_KINDS);
        assert_eq!(
            e.0,
            "unknown metadata backend \"mysql\"; known kinds: postgres, sqlite"
        );
        let e = unknown("metadata", "sqlite", &[], METADATA_KINDS);
        assert!(e.0.contains("--features metadata-sqlite"), "{e}");
    }
}
