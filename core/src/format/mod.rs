//! The object format: one object holds the record batches of many partitions of one tenant.
//!
//! Objects are self-describing, so the metadata of a bucket can be rebuilt from the objects
//! alone. All integers are little-endian.
//!
//! ```text
//! object  = header batch* footer
//! header  = magic "SHOB" | version u8 (=1) | flags u8 (bit 0: written by compaction)
//!         | tenant_len u16 | tenant | writer_len u16 | writer | created_at_ms i64
//! batch   = batch_len u32          (bytes after this field, through the end of the batch)
//!         | crc32c u32             (CRC32C of every byte after this field)
//!         | topic_len u16 | topic | topic_id i64 | partition u32 | base_offset u64
//!         | record_count u32 | first_timestamp_ms i64 | max_timestamp_ms i64
//!         | leader_epoch u64 | codec u8 | uncompressed_len u32 | payload
//! payload = record*                (compressed as a whole with `codec`)
//! record  = offset_delta uvarint | timestamp_delta zigzag-varint
//!         | key_len+1 uvarint | key | value_len+1 uvarint | value   (0 means null)
//!         | header_count uvarint | (name_len uvarint | name | value_len+1 uvarint | value)*
//! footer  = batch_count u32 | (batch_position u64 | batch_size u32)* | crc32c u32
//!         | footer_len u32 | magic "SHOB"
//! ```
//!
//! `record_count` is the number of offsets a batch spans. A flush writes every offset of the
//! span (offset deltas 0, 1, 2, ...); key compaction keeps only the latest record of each key,
//! so its batches hold records at strictly increasing deltas with gaps between them, and may
//! hold none at all (the span stays, so the index covers every offset).
//!
//! A batch is also readable on its own from its byte range (`batch_position`, `batch_size`),
//! which is what the offset index stores, so a fetch is one ranged GET. The decoder checks
//! every length against the bytes it has and returns [`FormatError`], never panics.

mod decode;
mod encode;

pub use decode::{DecodedBatch, ObjectContents, decode_batch, decode_object};
#[cfg(test)]
pub use encode::{EncodedBatch, encode_batch};
pub use encode::{
    FLAG_COMPACTED, OBJECT_ALIGN, ObjectWriter, batch_encoded_len, encode_batch_into,
    encode_sparse_batch_into, record_encoded_len,
};

use crate::types::{Codec, TopicId};

/// Leading and trailing magic of every object.
pub const MAGIC: [u8; 4] = *b"SHOB";
/// Format version this code writes and reads.
pub const VERSION: u8 = 1;
/// Largest uncompressed batch payload the decoder accepts (guards against allocation bombs).
pub const MAX_PAYLOAD_BYTES: usize = 256 << 20;
/// Most bytes a record takes in a batch payload beyond the bytes it takes in a produce
/// request on the wire: its offset and timestamp deltas and the header count. Configuration
/// checks with it that every batch a request can make stays readable.
pub const RECORD_OVERHEAD_BYTES: usize = 32;

/// Bytes of a batch's fixed fields after `batch_len`, excluding topic name and payload.
const BATCH_FIXED: usize = 4 + 2 + 8 + 4 + 8 + 4 + 8 + 8 + 8 + 1 + 4;

/// Everything about a batch except its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchHeader {
    /// Topic name when written (for rebuilding metadata from objects).
    pub topic: String,
    /// Topic incarnation.
    pub topic_id: TopicId,
    /// Partition.
    pub partition: u32,
    /// Offset of the first record.
    pub base_offset: u64,
    /// Offsets the batch spans, `base_offset..base_offset + record_count`: its number of
    /// records, unless key compaction removed some.
    pub record_count: u32,
    /// Timestamp of the first record.
    pub first_timestamp_ms: i64,
    /// Largest record timestamp (retention uses it).
    pub max_timestamp_ms: i64,
    /// Epoch of the partition lease the writer held.
    pub leader_epoch: u64,
    /// Payload compression.
    pub codec: Codec,
}

/// A decoding failure: what was wrong, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The bytes end before a field does.
    #[error("truncated: {0}")]
    Truncated(String),
    /// The magic bytes are wrong: not a StreamHouse object, or the wrong range.
    #[error("bad magic: not a StreamHouse object")]
    BadMagic,
    /// Written by a newer version.
    #[error("unsupported object format version {0}")]
    UnsupportedVersion(u8),
    /// Stored and computed CRC32C differ.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// CRC in the data.
        stored: u32,
        /// CRC of the bytes.
        computed: u32,
    },
    /// A field holds an impossible value.
    #[error("corrupt: {0}")]
    Corrupt(String),
}

/// Result of decoding.
pub type FormatResult<T> = Result<T, FormatError>;

/// Appends `v` as an unsigned LEB128 varint.
fn put_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Bytes `v` takes as a uvarint.
fn uvarint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests;
