//! Reading the wire form of messages without decoding them. Decoding a produce request
//! allocates a struct per record and per header (about a hundred bytes each), so a request
//! of millions of empty records, two bytes each on the wire, would take gigabytes once
//! decoded: the agent counts them in the wire bytes first and refuses what is over its
//! limits before anything is allocated.

use bytes::Buf;

/// Counts the records of an encoded `ProduceRequest` and the headers in them, without
/// decoding anything. The message may be in pieces (the HTTP/2 frames it arrived in, say):
/// nothing is copied. `None` when the bytes are not a well-formed message; prost's decode
/// then says what is wrong.
pub fn count_produce_entries(mut wire: impl Buf) -> Option<(usize, usize)> {
    const RECORDS: u32 = 2;
    const HEADERS: u32 = 4;
    let (mut records, mut headers) = (0, 0);
    while wire.has_remaining() {
        let (tag, len) = next_field(&mut wire)?;
        let Some(len) = len else { continue };
        if tag != RECORDS {
            wire.advance(len);
            continue;
        }
        records += 1;
        let mut record = (&mut wire).take(len);
        while record.has_remaining() {
            let (tag, len) = next_field(&mut record)?;
            headers += usize::from(tag == HEADERS);
            if let Some(len) = len {
                record.advance(len);
            }
        }
    }
    Some((records, headers))
}

/// Steps over one field's key and, but for a length-delimited field, its value; returns the
/// field's number and, for a length-delimited one, the length of its bytes (which are there,
/// still to be read).
fn next_field(wire: &mut impl Buf) -> Option<(u32, Option<usize>)> {
    let key = prost::encoding::decode_varint(wire).ok()?;
    let tag = u32::try_from(key >> 3).ok()?;
    let skip = |wire: &mut dyn Buf, n: usize| (wire.remaining() >= n).then(|| wire.advance(n));
    match key & 7 {
        0 => prost::encoding::decode_varint(wire)
            .ok()
            .map(|_| (tag, None)),
        1 => skip(wire, 8).map(|()| (tag, None)),
        5 => skip(wire, 4).map(|()| (tag, None)),
        2 => {
            let len = usize::try_from(prost::encoding::decode_varint(wire).ok()?).ok()?;
            (wire.remaining() >= len).then_some((tag, Some(len)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

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
        assert_eq!(count_produce_entries(&wire[..]), Some((7, 5)));
        assert_eq!(count_produce_entries(&wire[..wire.len() - 1]), None);
        assert_eq!(count_produce_entries(&[][..]), Some((0, 0)));
        // In two pieces, split anywhere: the same counts.
        for at in 0..=wire.len() {
            let (a, b) = wire.split_at(at);
            assert_eq!(
                count_produce_entries(a.chain(b)),
                Some((7, 5)),
                "split at {at}"
            );
        }
    }
}
