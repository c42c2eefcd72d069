//! Decoding batches and objects. Every read is bounds-checked; nothing here panics on input.

use bytes::Bytes;

use super::{
    BATCH_FIXED, BatchHeader, FormatError, FormatResult, MAGIC, MAX_PAYLOAD_BYTES, VERSION,
    unzigzag,
};
use crate::types::{Codec, Header, Record};

/// A batch and its records, each with its offset.
#[derive(Debug, Clone)]
pub struct DecodedBatch {
    /// Header fields.
    pub header: BatchHeader,
    /// `(offset, record)` in offset order.
    pub records: Vec<(u64, Record)>,
}

/// A whole object: who wrote it and its batches.
#[derive(Debug, Clone)]
pub struct ObjectContents {
    /// Owning tenant.
    pub tenant: String,
    /// Lease holder id of the agent that wrote it.
    pub writer: String,
    /// When it was written.
    pub created_at_ms: i64,
    /// Written by compaction (header flag [`super::FLAG_COMPACTED`]).
    pub compacted: bool,
    /// Batches with their byte range `(position, size)` in the object.
    pub batches: Vec<(u64, u32, DecodedBatch)>,
}

/// A bounds-checked reader over a byte slice.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> FormatResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(FormatError::Truncated(format!(
                "{what} needs {n} bytes at position {}, {} left",
                self.pos,
                self.remaining()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> FormatResult<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    fn u8(&mut self, what: &str) -> FormatResult<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u16(&mut self, what: &str) -> FormatResult<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    fn u32(&mut self, what: &str) -> FormatResult<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &str) -> FormatResult<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    fn i64(&mut self, what: &str) -> FormatResult<i64> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    fn uvarint(&mut self, what: &str) -> FormatResult<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8(what)?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(FormatError::Corrupt(format!(
            "{what}: varint longer than 10 bytes"
        )))
    }

    fn string(&mut self, len: usize, what: &str) -> FormatResult<String> {
        let b = self.take(len, what)?;
        String::from_utf8(b.to_vec())
            .map_err(|_| FormatError::Corrupt(format!("{what} is not UTF-8")))
    }

    fn short_string(&mut self, what: &str) -> FormatResult<String> {
        let len = self.u16(what)? as usize;
        self.string(len, what)
    }
}

/// Decodes one batch from exactly its bytes (as stored in the index's byte range).
///
/// `bytes` is a cheap-to-clone buffer; uncompressed record keys and values are slices of it.
pub fn decode_batch(bytes: &Bytes) -> FormatResult<DecodedBatch> {
    let mut r = Reader::new(bytes);
    let batch_len = r.u32("batch length")? as usize;
    if batch_len != r.remaining() {
        return Err(FormatError::Corrupt(format!(
            "batch length field says {batch_len} bytes, range holds {}",
            r.remaining()
        )));
    }
    if batch_len < BATCH_FIXED {
        return Err(FormatError::Truncated(format!(
            "batch of {batch_len} bytes is shorter than its fixed fields"
        )));
    }
    let stored = r.u32("batch crc")?;
    let computed = crc32c::crc32c(&bytes[r.pos..]);
    if stored != computed {
        return Err(FormatError::Checksum { stored, computed });
    }
    let topic = r.short_string("topic name")?;
    let topic_id = r.i64("topic id")?;
    let partition = r.u32("partition")?;
    let base_offset = r.u64("base offset")?;
    let record_count = r.u32("record count")?;
    let first_timestamp_ms = r.i64("first timestamp")?;
    let max_timestamp_ms = r.i64("max timestamp")?;
    let leader_epoch = r.u64("leader epoch")?;
    let codec_id = r.u8("codec")?;
    let codec = Codec::from_id(codec_id)
        .ok_or_else(|| FormatError::Corrupt(format!("unknown codec id {codec_id}")))?;
    let uncompressed_len = r.u32("uncompressed length")? as usize;
    if uncompressed_len > MAX_PAYLOAD_BYTES {
        return Err(FormatError::Corrupt(format!(
            "payload of {uncompressed_len} bytes exceeds the {MAX_PAYLOAD_BYTES}-byte limit"
        )));
    }
    if base_offset.checked_add(u64::from(record_count)).is_none() {
        return Err(FormatError::Corrupt("offsets overflow".into()));
    }
    let body_start = r.pos;
    let payload: Bytes = match codec {
        Codec::None => bytes.slice(body_start..),
        Codec::Lz4 => {
            let mut out = vec![0u8; uncompressed_len];
            let n = lz4_flex::block::decompress_into(&bytes[body_start..], &mut out)
                .map_err(|e| FormatError::Corrupt(format!("lz4 payload: {e}")))?;
            out.truncate(n);
            Bytes::from(out)
        }
        Codec::Zstd => Bytes::from(
            zstd::bulk::decompress(&bytes[body_start..], uncompressed_len)
                .map_err(|e| FormatError::Corrupt(format!("zstd payload: {e}")))?,
        ),
    };
    if payload.len() != uncompressed_len {
        return Err(FormatError::Corrupt(format!(
            "payload is {} bytes, header says {uncompressed_len}",
            payload.len()
        )));
    }
    let header = BatchHeader {
        topic,
        topic_id,
        partition,
        base_offset,
        record_count,
        first_timestamp_ms,
        max_timestamp_ms,
        leader_epoch,
        codec,
    };
    let records = decode_records(&payload, &header)?;
    Ok(DecodedBatch { header, records })
}

fn opt_bytes(r: &mut Reader<'_>, payload: &Bytes, what: &str) -> FormatResult<Option<Bytes>> {
    let len = r.uvarint(what)?;
    if len == 0 {
        return Ok(None);
    }
    let len = usize::try_from(len - 1)
        .map_err(|_| FormatError::Corrupt(format!("{what} length too large")))?;
    let start = r.pos;
    r.take(len, what)?;
    Ok(Some(payload.slice(start..start + len)))
}

fn decode_records(payload: &Bytes, h: &BatchHeader) -> FormatResult<Vec<(u64, Record)>> {
    let mut r = Reader::new(payload);
    // `record_count` is the offsets the batch spans; a compacted batch holds fewer records,
    // each with its offset delta, strictly increasing. Each record takes at least 5 bytes,
    // which bounds the allocation by the input size.
    let span = u64::from(h.record_count);
    let mut out = Vec::with_capacity((h.record_count as usize).min(payload.len() / 5 + 1));
    let mut next_delta = 0u64;
    while r.remaining() > 0 {
        let delta = r.uvarint("offset delta")?;
        if delta < next_delta || delta >= span {
            return Err(FormatError::Corrupt(format!(
                "record {} has offset delta {delta}, out of order or outside the batch's {span} \
                 offsets",
                out.len()
            )));
        }
        next_delta = delta + 1;
        let ts = h
            .first_timestamp_ms
            .wrapping_add(unzigzag(r.uvarint("timestamp delta")?));
        let key = opt_bytes(&mut r, payload, "record key")?;
        let value = opt_bytes(&mut r, payload, "record value")?;
        let nheaders = r.uvarint("header count")?;
        if nheaders > r.remaining() as u64 {
            return Err(FormatError::Corrupt(format!(
                "{nheaders} headers cannot fit in {} bytes",
                r.remaining()
            )));
        }
        let mut headers = Vec::with_capacity(nheaders as usize);
        for _ in 0..nheaders {
            let klen = usize::try_from(r.uvarint("header name length")?)
                .map_err(|_| FormatError::Corrupt("header name length too large".into()))?;
            let key = r.string(klen, "header name")?;
            let value = opt_bytes(&mut r, payload, "header value")?.unwrap_or_default();
            headers.push(Header { key, value });
        }
        out.push((
            h.base_offset + delta,
            Record {
                key,
                value,
                headers,
                timestamp_ms: ts,
            },
        ));
    }
    Ok(out)
}

/// Decodes a whole object: header, footer, and every batch (each CRC-checked).
pub fn decode_object(bytes: &Bytes) -> FormatResult<ObjectContents> {
    let mut r = Reader::new(bytes);
    if r.array::<4>("magic")? != MAGIC {
        return Err(FormatError::BadMagic);
    }
    let version = r.u8("version")?;
    if version != VERSION {
        return Err(FormatError::UnsupportedVersion(version));
    }
    let flags = r.u8("flags")?;
    let tenant = r.short_string("tenant")?;
    let writer = r.short_string("writer")?;
    let created_at_ms = r.i64("created_at")?;
    let header_end = r.pos;

    // Footer: read from the end.
    if bytes.len() < header_end + 12 {
        return Err(FormatError::Truncated("object has no footer".into()));
    }
    let n = bytes.len();
    if bytes[n - 4..] != MAGIC {
        return Err(FormatError::BadMagic);
    }
    let footer_len =
        u32::from_le_bytes([bytes[n - 8], bytes[n - 7], bytes[n - 6], bytes[n - 5]]) as usize;
    if footer_len < 8 || footer_len > n - 8 - header_end {
        return Err(FormatError::Corrupt(format!(
            "footer length {footer_len} does not fit the object"
        )));
    }
    let footer_start = n - 8 - footer_len;
    let footer = &bytes[footer_start..n - 8];
    let stored = u32::from_le_bytes([
        footer[footer_len - 4],
        footer[footer_len - 3],
        footer[footer_len - 2],
        footer[footer_len - 1],
    ]);
    let computed = crc32c::crc32c(&footer[..footer_len - 4]);
    if stored != computed {
        return Err(FormatError::Checksum { stored, computed });
    }
    let mut f = Reader::new(&footer[..footer_len - 4]);
    let count = f.u32("batch count")? as usize;
    if count.checked_mul(12) != Some(f.remaining()) {
        return Err(FormatError::Corrupt(format!(
            "footer lists {count} batches in {} bytes",
            f.remaining()
        )));
    }
    let mut batches = Vec::with_capacity(count);
    let mut expected_pos = header_end;
    for _ in 0..count {
        let pos = f.u64("batch position")?;
        let size = f.u32("batch size")?;
        let end = pos.saturating_add(u64::from(size));
        if pos != expected_pos as u64 || end > footer_start as u64 {
            return Err(FormatError::Corrupt(format!(
                "batch at {pos} (+{size}) does not follow the previous one"
            )));
        }
        let batch = decode_batch(&bytes.slice(pos as usize..end as usize))?;
        batches.push((pos, size, batch));
        expected_pos = end as usize;
    }
    if expected_pos != footer_start {
        return Err(FormatError::Corrupt(
            "bytes between batches and footer".into(),
        ));
    }
    Ok(ObjectContents {
        tenant,
        writer,
        created_at_ms,
        compacted: flags & super::FLAG_COMPACTED != 0,
        batches,
    })
}
