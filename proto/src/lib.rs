//! The StreamHouse gRPC API (package `streamhouse.v1`), generated from
//! `proto/streamhouse/v1/streamhouse.proto`, which clients in other languages generate from.

use bytes::Bytes;

#[cfg(feature = "domain")]
mod domain;

/// Package `streamhouse.v1`.
pub mod v1 {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("streamhouse.v1");
}

/// The encoded file descriptor set, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("streamhouse_descriptor");

/// Request metadata header that names the tenant; absent means `default`.
pub const TENANT_HEADER: &str = "x-streamhouse-tenant";

impl v1::ProduceRecord {
    /// A record with this value, no key, the agent's timestamp.
    pub fn new(value: impl Into<Bytes>) -> Self {
        Self {
            value: Some(value.into()),
            ..Self::default()
        }
    }

    /// Sets the key (which picks the partition unless one is set).
    pub fn with_key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sends the record to this partition.
    pub fn with_partition(mut self, partition: u32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, key: impl Into<String>, value: impl Into<Bytes>) -> Self {
        self.headers.push(v1::RecordHeader {
            key: key.into(),
            value: value.into(),
        });
        self
    }
}
