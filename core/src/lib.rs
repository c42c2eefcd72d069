//! StreamHouse core: the domain types, the storage traits every backend implements, the
//! object format, the plugin registry and configuration loading.
//!
//! Backends depend on this crate only; the agent ties a metadata backend and an object-store
//! backend together through [`registry`], chosen by [`config`].

pub mod accounts;
pub mod billing;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod error;
pub mod fencing;
pub mod format;
pub mod lease;
pub mod lifecycle;
pub mod metadata;
pub mod metered;
pub mod object;
pub mod partitioner;
pub mod registry;
pub mod stored;
pub mod tenancy;
pub mod types;
pub mod usage;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::BoxError;
pub use lease::{Lease, LeaseError, LeaseKey, LeaseManager};
pub use lifecycle::{
    CompactionSwap, LifecycleStore, OrphanCandidate, RestoredObject, StoredBatch, SwapBatch,
    TopicStorage,
};
pub use metadata::{
    BatchIndexEntry, CommitBatch, IndexStore, MetadataError, MetadataStore, ObjectCommit,
    OffsetStore, TopicStore,
};
pub use object::{ObjectKey, ObjectMeta, ObjectStore, ObjectStoreError, PutMode};
pub use types::{
    CleanupPolicy, Codec, Fetched, Header, PartitionInfo, ProduceRecord, Record, TenantId, TopicId,
    TopicInfo, TopicName, TopicSettings, TopicSpec, ValidationError,
};
