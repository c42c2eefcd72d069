//! Encoding batches and objects.

use bytes::Bytes;

use super::{BATCH_FIXED, BatchHeader, MAGIC, VERSION, put_uvarint, uvarint_len, zigzag};
use crate::types::{Codec, Record, TenantId};

/// A batch encoded on its own with its CRC (the agent encodes batches straight into their
/// object with [`ObjectWriter::push_records`]; this is for checking the decoder).
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct EncodedBatch {
    /// The batch's header fields.
    pub header: BatchHeader,
    /// The whole batch, from `batch_len` through the end of the payload.
    pub bytes: Bytes,
}

/// Bytes one record takes in an uncompressed payload (the record size limit counts these).
pub fn record_encoded_len(r: &Record) -> usize {
    let opt = |b: &Option<Bytes>| {
        let n = b.as_ref().map_or(0, |b| b.len());
        uvarint_len(b.as_ref().map_or(0, |b| b.len() as u64 + 1)) + n
    };
    // Offset and timestamp deltas are at most 10 bytes each.
    20 + opt(&r.key)
        + opt(&r.value)
        + uvarint_len(r.headers.len() as u64)
        + r.headers
            .iter()
            .map(|h| {
                uvarint_len(h.key.len() as u64)
                    + h.key.len()
                    + uvarint_len(h.value.len() as u64 + 1)
                    + h.value.len()
            })
            .sum::<usize>()
}

fn put_opt_bytes(buf: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => put_uvarint(buf, 0),
        Some(b) => {
            put_uvarint(buf, b.len() as u64 + 1);
            buf.extend_from_slice(b);
        }
    }
}

/// Encodes `records` as one batch of `header.topic`/`header.partition` starting at
/// `header.base_offset`. `record_count` and both timestamps are taken from the records.
///
/// # Panics
/// If `records` is empty or holds more than `u32::MAX` records: callers validate that.
#[cfg(test)]
pub fn encode_batch(mut header: BatchHeader, records: &[Record]) -> EncodedBatch {
    let mut buf = Vec::with_capacity(batch_encoded_len(&header, records));
    encode_batch_into(&mut buf, &mut header, records);
    EncodedBatch {
        header,
        bytes: Bytes::from(buf),
    }
}

/// An upper bound of the bytes a batch of `records` takes (uncompressed).
pub fn batch_encoded_len(header: &BatchHeader, records: &[Record]) -> usize {
    4 + BATCH_FIXED + header.topic.len() + records.iter().map(record_encoded_len).sum::<usize>()
}

/// Encodes `records` as one batch of `header.topic`/`header.partition` starting at
/// `header.base_offset`, appended to `buf` (the record bytes are copied once, from wherever
/// they are into `buf`); `record_count` and both timestamps are taken from the records and
/// set in `header`.
///
/// # Panics
/// If `records` is empty or holds more than `u32::MAX` records: callers validate that.
pub fn encode_batch_into(buf: &mut Vec<u8>, header: &mut BatchHeader, records: &[Record]) {
    assert!(
        !records.is_empty() && records.len() <= u32::MAX as usize,
        "a batch holds 1..=u32::MAX records"
    );
    header.record_count = records.len() as u32;
    header.first_timestamp_ms = records[0].timestamp_ms;
    header.max_timestamp_ms = records.iter().map(|r| r.timestamp_ms).max().unwrap_or(0);
    let records_len = || records.iter().map(record_encoded_len).sum();
    encode_with(buf, header, records_len, |out, first| {
        write_records(
            out,
            records.iter().enumerate().map(|(i, r)| (i as u64, r)),
            first,
        )
    });
}

/// Encodes a batch spanning offsets `header.base_offset..header.base_offset + span` that
/// holds only `records` (at their offsets, strictly increasing inside the span): what key
/// compaction writes, leaving gaps in the offsets of records it removed. With no records the
/// batch keeps the span and the timestamps already in `header`, so the index stays without
/// gaps.
///
/// # Panics
/// If `span` is 0 or an offset is outside the span or out of order: callers build them so.
pub fn encode_sparse_batch_into(
    buf: &mut Vec<u8>,
    header: &mut BatchHeader,
    records: &[(u64, Record)],
    span: u32,
) {
    let base = header.base_offset;
    assert!(span > 0, "a batch spans at least one offset");
    assert!(
        records.windows(2).all(|w| w[0].0 < w[1].0)
            && records
                .iter()
                .all(|(o, _)| *o >= base && *o - base < u64::from(span)),
        "records must be in offset order inside the batch's span"
    );
    header.record_count = span;
    if let Some((_, first)) = records.first() {
        header.first_timestamp_ms = first.timestamp_ms;
        header.max_timestamp_ms = records
            .iter()
            .map(|(_, r)| r.timestamp_ms)
            .max()
            .unwrap_or(0);
    }
    let records_len = || records.iter().map(|(_, r)| record_encoded_len(r)).sum();
    encode_with(buf, header, records_len, |out, first| {
        write_records(out, records.iter().map(|(o, r)| (o - base, r)), first)
    });
}

/// Writes a batch's header fields, then its payload (`write_payload` writes the records,
/// given the first timestamp; `records_len` bounds their size for compression), length and
/// CRC.
fn encode_with(
    buf: &mut Vec<u8>,
    header: &BatchHeader,
    records_len: impl FnOnce() -> usize,
    write_payload: impl FnOnce(&mut Vec<u8>, i64),
) {
    let start = buf.len();
    let topic = header.topic.as_bytes();
    let header_len = 4 + BATCH_FIXED + topic.len();
    buf.extend_from_slice(&[0u8; 8]); // batch_len and CRC, filled below
    buf.extend_from_slice(&(topic.len() as u16).to_le_bytes());
    buf.extend_from_slice(topic);
    buf.extend_from_slice(&header.topic_id.to_le_bytes());
    buf.extend_from_slice(&header.partition.to_le_bytes());
    buf.extend_from_slice(&header.base_offset.to_le_bytes());
    buf.extend_from_slice(&header.record_count.to_le_bytes());
    buf.extend_from_slice(&header.first_timestamp_ms.to_le_bytes());
    buf.extend_from_slice(&header.max_timestamp_ms.to_le_bytes());
    buf.extend_from_slice(&header.leader_epoch.to_le_bytes());
    buf.push(header.codec.id());
    buf.extend_from_slice(&[0u8; 4]); // uncompressed_len, filled below
    debug_assert_eq!(buf.len() - start, header_len);
    // Uncompressed batches are written in place: one copy of the record bytes.
    let uncompressed_len = match header.codec {
        Codec::None => {
            write_payload(buf, header.first_timestamp_ms);
            buf.len() - start - header_len
        }
        codec => {
            let mut payload = Vec::with_capacity(records_len());
            write_payload(&mut payload, header.first_timestamp_ms);
            match codec {
                Codec::Lz4 => buf.extend_from_slice(&lz4_flex::block::compress(&payload)),
                // Level 3 is zstd's default: most of the ratio for a fraction of the CPU.
                _ => buf.extend_from_slice(
                    &zstd::bulk::compress(&payload, 3).expect("zstd compression into a Vec"),
                ),
            }
            payload.len()
        }
    };
    let batch = &mut buf[start..];
    let batch_len = (batch.len() - 4) as u32;
    batch[0..4].copy_from_slice(&batch_len.to_le_bytes());
    batch[header_len - 4..header_len].copy_from_slice(&(uncompressed_len as u32).to_le_bytes());
    let crc = crc32c::crc32c(&batch[8..]);
    batch[4..8].copy_from_slice(&crc.to_le_bytes());
}

/// Writes records, each with its offset delta from the batch's base offset.
fn write_records<'a>(
    buf: &mut Vec<u8>,
    records: impl Iterator<Item = (u64, &'a Record)>,
    first_timestamp_ms: i64,
) {
    for (delta, r) in records {
        put_uvarint(buf, delta);
        put_uvarint(buf, zigzag(r.timestamp_ms.wrapping_sub(first_timestamp_ms)));
        put_opt_bytes(buf, r.key.as_deref());
        put_opt_bytes(buf, r.value.as_deref());
        put_uvarint(buf, r.headers.len() as u64);
        for h in &r.headers {
            put_uvarint(buf, h.key.len() as u64);
            buf.extend_from_slice(h.key.as_bytes());
            put_opt_bytes(buf, Some(&h.value));
        }
    }
}

/// Where an object's first byte lies in memory: on a 4 KiB boundary, so that a store writing
/// with direct I/O (which needs block-aligned buffers) can hand the buffer to the device
/// without copying it.
pub const OBJECT_ALIGN: usize = 4096;

/// Assembles one object from encoded batches.
#[derive(Debug)]
pub struct ObjectWriter {
    buf: Vec<u8>,
    /// Unused bytes before the object in `buf`, to align its start.
    pad: usize,
    batches: Vec<(u64, u32)>,
}

/// Header flag of an object written by compaction: one partition's batches, which replaced
/// the flush objects' batches over the same offsets.
pub const FLAG_COMPACTED: u8 = 1;

impl ObjectWriter {
    /// Starts an object of `tenant`, written by `writer` (an agent's lease holder id), with
    /// room for `batches` batches of `batch_bytes` bytes in all (more makes the buffer grow,
    /// and lose its alignment).
    pub fn new(
        tenant: &TenantId,
        writer: &str,
        created_at_ms: i64,
        batch_bytes: usize,
        batches: usize,
    ) -> Self {
        Self::with_flags(tenant, writer, created_at_ms, batch_bytes, batches, 0)
    }

    /// As [`ObjectWriter::new`], with header `flags` (such as [`FLAG_COMPACTED`]).
    pub fn with_flags(
        tenant: &TenantId,
        writer: &str,
        created_at_ms: i64,
        batch_bytes: usize,
        batches: usize,
        flags: u8,
    ) -> Self {
        let header = 16 + tenant.as_str().len() + writer.len();
        let footer = 16 + 12 * batches;
        let mut buf: Vec<u8> = Vec::with_capacity(OBJECT_ALIGN + header + batch_bytes + footer);
        let pad = buf.as_ptr().align_offset(OBJECT_ALIGN);
        buf.resize(pad, 0);
        buf.extend_from_slice(&MAGIC);
        buf.push(VERSION);
        buf.push(flags);
        for s in [tenant.as_str(), writer] {
            let s = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
            buf.extend_from_slice(&(s.len() as u16).to_le_bytes());
            buf.extend_from_slice(s);
        }
        buf.extend_from_slice(&created_at_ms.to_le_bytes());
        Self {
            buf,
            pad,
            batches: Vec::with_capacity(batches),
        }
    }

    /// Encodes `records` as a batch straight into the object (one copy of their bytes),
    /// completing `header`; returns the batch's byte range as (position, size).
    pub fn push_records(&mut self, header: &mut BatchHeader, records: &[Record]) -> (u64, u32) {
        let pos = self.buf.len();
        encode_batch_into(&mut self.buf, header, records);
        let size = (self.buf.len() - pos) as u32;
        let position = (pos - self.pad) as u64;
        self.batches.push((position, size));
        (position, size)
    }

    /// Encodes a sparse batch (see [`encode_sparse_batch_into`]) into the object; returns
    /// its byte range as (position, size).
    pub fn push_sparse(
        &mut self,
        header: &mut BatchHeader,
        records: &[(u64, Record)],
        span: u32,
    ) -> (u64, u32) {
        let pos = self.buf.len();
        encode_sparse_batch_into(&mut self.buf, header, records, span);
        let size = (self.buf.len() - pos) as u32;
        let position = (pos - self.pad) as u64;
        self.batches.push((position, size));
        (position, size)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len() - self.pad
    }

    /// Whether no batch was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// Writes the footer and returns the object.
    pub fn finish(mut self) -> Bytes {
        let start = self.buf.len();
        self.buf
            .extend_from_slice(&(self.batches.len() as u32).to_le_bytes());
        for (pos, size) in &self.batches {
            self.buf.extend_from_slice(&pos.to_le_bytes());
            self.buf.extend_from_slice(&size.to_le_bytes());
        }
        let crc = crc32c::crc32c(&self.buf[start..]);
        self.buf.extend_from_slice(&crc.to_le_bytes());
        let footer_len = (self.buf.len() - start) as u32;
        self.buf.extend_from_slice(&footer_len.to_le_bytes());
        self.buf.extend_from_slice(&MAGIC);
        Bytes::from(self.buf).slice(self.pad..)
    }
}
