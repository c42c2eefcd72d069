//! Reading the wire form of messages without decoding them. Decoding a produce request
//! allocates a struct per record and per header (about a hundred bytes each), so a request
//! of millions of empty records, two bytes each on the wire, would take gigabytes once
//! decoded: the agent counts them in the wire bytes first and refuses what is over its
//! limits before anything is allocated.

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
        assert_eq!(count_produce_entries(&wire), Some((7, 5)));
        assert_eq!(count_produce_entries(&wire[..wire.len() - 1]), None);
        assert_eq!(count_produce_entries(&[]), Some((0, 0)));
    }
}
