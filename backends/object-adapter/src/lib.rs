//! The core [`ObjectStore`](streamhouse_core::ObjectStore) trait over any store of the
//! `object_store` crate: its local-filesystem and in-memory stores (backend
//! `streamhouse-object-local`) and its Azure Blob client (`streamhouse-object-azure`).
//!
//! Not a backend itself (it registers no kind): each backend builds its `object_store`
//! store and passes the mapping of that store's errors, which only the backend knows.

mod adapter;
mod error;

pub use adapter::{ErrorMapper, ObjectStoreAdapter};
pub use error::map_common;
