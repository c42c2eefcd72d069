//! The gRPC codec of the `streamhouse.v1` service: prost, plus a scan of every produce request
//! before it is decoded. Decoding a request allocates a struct per record and per header
//! (about a hundred bytes each), so a request of millions of empty records, two bytes each on
//! the wire, would take gigabytes once decoded. The scan counts them in the wire bytes and
//! refuses a request over the process's [`RequestLimits`] with `INVALID_ARGUMENT` before
//! anything is allocated.

use std::any::TypeId;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Buf;
use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

use crate::v1;

/// How many records and headers one produce request may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Records per produce request.
    pub max_records_per_request: usize,
    /// Headers per produce request, over all its records.
    pub max_headers_per_request: usize,
}

// Process-wide, because tonic builds a service's codec with `Default`: a server cannot hand
// it values. The agent sets them once at start; a process without a server never needs them.
static MAX_RECORDS: AtomicUsize = AtomicUsize::new(usize::MAX);
static MAX_HEADERS: AtomicUsize = AtomicUsize::new(usize::MAX);

impl RequestLimits {
    /// Makes these the limits every produce request decoded in this process is checked
    /// against. Until called, there are none.
    pub fn install(self) {
        MAX_RECORDS.store(self.max_records_per_request, Ordering::Relaxed);
        MAX_HEADERS.store(self.max_headers_per_request, Ordering::Relaxed);
    }

    /// The installed limits.
    pub fn current() -> Self {
        Self {
            max_records_per_request: MAX_RECORDS.load(Ordering::Relaxed),
            max_headers_per_request: MAX_HEADERS.load(Ordering::Relaxed),
        }
    }

    /// Refuses counts over the limits, naming the setting to raise.
    pub fn check(&self, records: usize, headers: usize) -> Result<(), String> {
        if records > self.max_records_per_request {
            return Err(format!(
                "the request carries {records} records; the limit is {} \
                 (agent.max_records_per_request): split it",
                self.max_records_per_request
            ));
        }
        if headers > self.max_headers_per_request {
            return Err(format!(
                "the request carries {headers} record headers; the limit is {} \
                 (agent.max_headers_per_request): split it",
                self.max_headers_per_request
            ));
        }
        Ok(())
    }
}

/// Counts the records of an encoded `ProduceRequest` and the headers in them, without
/// decoding anything. `None` when the bytes are not a well-formed message; prost's decode
/// then says what is wrong.
pub fn count_produce_entries(mut wire: &[u8]) -> Option<(usize, usize)> {
    const RECORDS: u32 = 2;
    const HEADERS: u32 = 4;
    let (mut records, mut headers) = (0, 0);
    while !wire.is_empty() {
        let (tag, body) = next_field(&mut wire)?;
        if tag != RECORDS {
            continue;
        }
        records += 1;
        let mut record = body?;
        while !record.is_empty() {
            let (tag, _) = next_field(&mut record)?;
            headers += usize::from(tag == HEADERS);
        }
    }
    Some((records, headers))
}

/// Steps over one field; returns its number and, for a length-delimited one, its bytes.
fn next_field<'a>(wire: &mut &'a [u8]) -> Option<(u32, Option<&'a [u8]>)> {
    let key = prost::encoding::decode_varint(wire).ok()?;
    let tag = u32::try_from(key >> 3).ok()?;
    match key & 7 {
        0 => prost::encoding::decode_varint(wire)
            .ok()
            .map(|_| (tag, None)),
        1 => skip(wire, 8).map(|_| (tag, None)),
        5 => skip(wire, 4).map(|_| (tag, None)),
        2 => {
            let len = usize::try_from(prost::encoding::decode_varint(wire).ok()?).ok()?;
            skip(wire, len).map(|body| (tag, Some(body)))
        }
        _ => None,
    }
}

fn skip<'a>(wire: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if wire.len() < n {
        return None;
    }
    let (head, rest) = wire.split_at(n);
    *wire = rest;
    Some(head)
}

/// prost's codec, with produce requests checked against the [`RequestLimits`] before they are
/// decoded.
#[derive(Debug)]
pub struct StreamHouseCodec<E, D> {
    inner: ProstCodec<E, D>,
}

impl<E, D> Default for StreamHouseCodec<E, D> {
    fn default() -> Self {
        Self {
            inner: ProstCodec::default(),
        }
    }
}

impl<E, D> Codec for StreamHouseCodec<E, D>
where
    E: Message + Send + 'static,
    D: Message + Default + Send + 'static,
{
    type Encode = E;
    type Decode = D;
    type Encoder = ProstEncoder<E>;
    type Decoder = CheckedDecoder<D>;

    fn encoder(&mut self) -> Self::Encoder {
        self.inner.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        CheckedDecoder {
            inner: self.inner.decoder(),
            _message: PhantomData,
        }
    }
}

/// prost's decoder, checking produce requests first.
#[derive(Debug)]
pub struct CheckedDecoder<D> {
    inner: ProstDecoder<D>,
    _message: PhantomData<D>,
}

impl<D: Message + Default + 'static> Decoder for CheckedDecoder<D> {
    type Item = D;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<D>, Status> {
        // Only the agent's produce requests can carry millions of records; every other
        // message decodes as it comes.
        if TypeId::of::<D>() == TypeId::of::<v1::ProduceRequest>() {
            let limits = RequestLimits::current();
            if limits.max_records_per_request != usize::MAX
                && let Some((records, headers)) = count_produce_entries(buf.chunk())
            {
                limits
                    .check(records, headers)
                    .map_err(Status::invalid_argument)?;
            }
        }
        self.inner.decode(buf)
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{ProduceRecord, ProduceRequest, RecordHeader};

    #[test]
    fn counts_records_and_headers_of_any_shape() {
        let mut records = vec![ProduceRecord::default(); 5];
        records.push(
            ProduceRecord::new("v")
                .with_key("k")
                .with_partition(300)
                .with_header("a", "1")
                .with_header("b", ""),
        );
        records.push(ProduceRecord {
            headers: vec![RecordHeader::default(); 3],
            timestamp_ms: -1,
            ..ProduceRecord::default()
        });
        let req = ProduceRequest {
            topic: "orders".into(),
            records,
        };
        let wire = req.encode_to_vec();
        assert_eq!(count_produce_entries(&wire), Some((7, 5)));
        assert_eq!(count_produce_entries(&wire[..wire.len() - 1]), None);
        assert_eq!(count_produce_entries(&[]), Some((0, 0)));
    }

    #[test]
    fn limits_name_the_setting() {
        let limits = RequestLimits {
            max_records_per_request: 10,
            max_headers_per_request: 20,
        };
        assert!(limits.check(10, 20).is_ok());
        assert!(
            limits
                .check(11, 0)
                .unwrap_err()
                .contains("agent.max_records_per_request")
        );
        assert!(
            limits
                .check(1, 21)
                .unwrap_err()
                .contains("agent.max_headers_per_request")
        );
    }
}
