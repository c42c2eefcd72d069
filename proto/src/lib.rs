//! The StreamHouse gRPC API (package `streamhouse.v1`), generated from
//! `proto/streamhouse/v1/streamhouse.proto`, which clients in other languages generate from.

use bytes::Bytes;

#[cfg(feature = "domain")]
mod domain;
pub mod wire;
#[cfg(feature = "domain")]
pub use domain::fetch_record_len;

/// Package `streamhouse.v1`.
pub mod v1 {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("streamhouse.v1");
}

/// Package `streamhouse.internal.v1`: calls between the agents of a cluster.
pub mod internal {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("streamhouse.internal.v1");
    }
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

/// The `type_url` under which a failed produce's status details carry its
/// [`v1::ProduceResponse`].
pub const PRODUCE_RESPONSE_TYPE_URL: &str = "type.googleapis.com/streamhouse.v1.ProduceResponse";

/// What became of one produced record: its partition and offset, or why it was not written.
pub type RecordResult = Result<(u32, u64), tonic::Status>;

impl v1::ProduceResponse {
    /// The failed status of a produce of which some partitions' records were acknowledged:
    /// `code` and `message`, with this response in its details (a `google.rpc.Status`).
    pub fn into_status(self, code: tonic::Code, message: String) -> tonic::Status {
        use prost::Message;
        let details = tonic_types::Status {
            code: code as i32,
            message: message.clone(),
            details: vec![prost_types::Any {
                type_url: PRODUCE_RESPONSE_TYPE_URL.into(),
                value: self.encode_to_vec(),
            }],
        };
        tonic::Status::with_details(code, message, details.encode_to_vec().into())
    }

    /// The response a failed produce's status carries, if it carries one.
    pub fn from_status(status: &tonic::Status) -> Option<Self> {
        use prost::Message;
        let details = tonic_types::Status::decode(status.details()).ok()?;
        let any = details
            .details
            .into_iter()
            .find(|a| a.type_url == PRODUCE_RESPONSE_TYPE_URL)?;
        Self::decode(any.value.as_slice()).ok()
    }

    /// What became of each of the request's `n` records, in request order: its partition
    /// and offset, or the status of its partition's failure. An error when the response
    /// does not describe `n` records.
    pub fn record_results(&self, n: usize) -> Result<Vec<RecordResult>, String> {
        let only = match (
            self.record_partitions.is_empty(),
            self.partitions.as_slice(),
        ) {
            (true, [p]) => Some(p.partition),
            (true, _) if n > 0 => {
                return Err(format!(
                    "the reply names {} partitions but not which record went to which",
                    self.partitions.len()
                ));
            }
            _ => None,
        };
        if only.is_none() && self.record_partitions.len() != n {
            return Err(format!(
                "the reply places {} records; the request had {n}",
                self.record_partitions.len()
            ));
        }
        let mut next: std::collections::HashMap<u32, (&v1::PartitionResult, u32)> = self
            .partitions
            .iter()
            .map(|p| (p.partition, (p, 0)))
            .collect();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let partition = only.unwrap_or_else(|| self.record_partitions[i]);
            let (result, k) = next.get_mut(&partition).ok_or_else(|| {
                format!("record {i} went to partition {partition}, which the reply does not list")
            })?;
            if *k >= result.record_count {
                return Err(format!(
                    "the reply counts {} records for partition {partition}, but more went there",
                    result.record_count
                ));
            }
            out.push(if result.code == 0 {
                Ok((partition, result.base_offset + u64::from(*k)))
            } else {
                Err(tonic::Status::new(
                    tonic::Code::from(result.code),
                    result.message.clone(),
                ))
            });
            *k += 1;
        }
        if let Some((p, (r, k))) = next.iter().find(|(_, (r, k))| *k != r.record_count) {
            return Err(format!(
                "the reply counts {} records for partition {p}, but {k} went there",
                r.record_count
            ));
        }
        Ok(out)
    }
}
