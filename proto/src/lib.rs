//! The StreamHouse gRPC API (package `streamhouse.v1`), generated from
//! `proto/streamhouse/v1/streamhouse.proto`, which clients in other languages generate from.

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
