use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::types::{Header, Record, TenantId};

fn header(codec: Codec, partition: u32, base: u64) -> BatchHeader {
    BatchHeader {
        topic: "orders".into(),
        topic_id: 7,
        partition,
        base_offset: base,
        record_count: 0,
        first_timestamp_ms: 0,
        max_timestamp_ms: 0,
        leader_epoch: 3,
        codec,
    }
}

fn records(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| Record {
            key: (i % 3 != 0).then(|| Bytes::from(format!("key-{i}"))),
            value: (i % 5 != 4).then(|| Bytes::from(vec![i as u8; i * 7])),
            headers: (0..i % 3)
                .map(|h| Header {
                    key: format!("h{h}"),
                    value: Bytes::from(format!("v{i}")),
                })
                .collect(),
            timestamp_ms: 1_700_000_000_000 + (i as i64 * 37) % 1000 - 500,
        })
        .collect()
}

fn object(codec: Codec) -> (Bytes, Vec<(u64, u32)>, Vec<Vec<Record>>) {
    let tenant = TenantId::new("acme").unwrap();
    let mut w = ObjectWriter::new(&tenant, "agent-1/abc", 42, 0, 0);
    let mut ranges = Vec::new();
    let mut all = Vec::new();
    for p in 0..4u32 {
        let recs = records(10 + p as usize * 20);
        ranges.push(w.push_records(&mut header(codec, p, 100 * u64::from(p)), &recs));
        all.push(recs);
    }
    (w.finish(), ranges, all)
}

#[test]
fn object_round_trips_with_every_codec() {
    for codec in [Codec::None, Codec::Lz4, Codec::Zstd] {
        let (bytes, ranges, all) = object(codec);
        let obj = decode_object(&bytes).unwrap();
        assert_eq!(obj.tenant, "acme");
        assert_eq!(obj.writer, "agent-1/abc");
        assert_eq!(obj.created_at_ms, 42);
        assert_eq!(obj.batches.len(), 4);
        for (i, (pos, size, batch)) in obj.batches.iter().enumerate() {
            assert_eq!((*pos, *size), ranges[i]);
            assert_eq!(batch.header.partition, i as u32);
            assert_eq!(batch.header.codec, codec);
            assert_eq!(batch.header.record_count as usize, all[i].len());
            let got: Vec<_> = batch.records.iter().map(|(_, r)| r.clone()).collect();
            assert_eq!(got, all[i]);
            let offsets: Vec<_> = batch.records.iter().map(|(o, _)| *o).collect();
            let base = 100 * i as u64;
            assert_eq!(
                offsets,
                (base..base + all[i].len() as u64).collect::<Vec<_>>()
            );
            // A batch decodes on its own from its byte range, as a fetch reads it.
            let alone =
                decode_batch(&bytes.slice(*pos as usize..(*pos + u64::from(*size)) as usize))
                    .unwrap();
            assert_eq!(alone.records.len(), all[i].len());
            assert_eq!(
                alone.header.max_timestamp_ms,
                all[i].iter().map(|r| r.timestamp_ms).max().unwrap()
            );
        }
    }
}

#[test]
fn every_flipped_bit_of_a_batch_is_detected() {
    let recs = records(5);
    let b = encode_batch(header(Codec::None, 0, 0), &recs);
    for i in 0..b.bytes.len() {
        for bit in 0..8 {
            let mut m = b.bytes.to_vec();
            m[i] ^= 1 << bit;
            assert!(decode_batch(&Bytes::from(m)).is_err(), "byte {i} bit {bit}");
        }
    }
}

#[test]
fn truncation_is_an_error_not_a_panic() {
    let (bytes, _, _) = object(Codec::Lz4);
    for n in 0..bytes.len() {
        assert!(decode_object(&bytes.slice(..n)).is_err(), "prefix {n}");
    }
    assert!(matches!(
        decode_object(&Bytes::from_static(b"PK\x03\x04 not ours")),
        Err(FormatError::BadMagic)
    ));
}

#[test]
fn record_len_bounds_encoding() {
    for r in records(40) {
        let b = encode_batch(header(Codec::None, 0, 0), std::slice::from_ref(&r));
        assert!(b.bytes.len() - BATCH_FIXED - 4 - "orders".len() <= r.encoded_len());
    }
}

#[test]
fn varints_round_trip() {
    for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
        let mut buf = Vec::new();
        put_uvarint(&mut buf, v);
        assert_eq!(buf.len(), uvarint_len(v));
    }
    for v in [0i64, 1, -1, i64::MAX, i64::MIN, -500] {
        assert_eq!(unzigzag(zigzag(v)), v);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoder_never_panics_on_random_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let b = Bytes::from(data);
        let _ = decode_object(&b);
        let _ = decode_batch(&b);
    }

    #[test]
    fn decoder_never_panics_on_mutated_objects(
        codec in prop_oneof![Just(Codec::None), Just(Codec::Lz4), Just(Codec::Zstd)],
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let (bytes, ranges, _) = object(codec);
        let mut m = bytes.to_vec();
        for (i, v) in &edits {
            let i = i.index(m.len());
            m[i] = *v;
        }
        let whole = Bytes::from(m);
        let _ = decode_object(&whole);
        let _ = decode_object(&whole.slice(..cut.index(whole.len())));
        for (pos, size) in ranges {
            let _ = decode_batch(&whole.slice(pos as usize..(pos + u64::from(size)) as usize));
        }
    }

    #[test]
    fn batches_round_trip(
        values in proptest::collection::vec(
            (proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
             proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200)),
             any::<i64>()),
            1..30),
        codec in prop_oneof![Just(Codec::None), Just(Codec::Lz4), Just(Codec::Zstd)],
    ) {
        let recs: Vec<Record> = values.into_iter().map(|(k, v, ts)| Record {
            key: k.map(Bytes::from),
            value: v.map(Bytes::from),
            headers: vec![],
            timestamp_ms: ts,
        }).collect();
        let b = encode_batch(header(codec, 1, 5), &recs);
        let d = decode_batch(&b.bytes).unwrap();
        let got: Vec<Record> = d.records.into_iter().map(|(_, r)| r).collect();
        prop_assert_eq!(got, recs);
    }
}

#[test]
fn an_object_sized_in_advance_starts_on_a_block_boundary() {
    let tenant = TenantId::new("acme").unwrap();
    let batches: Vec<_> = (0..3u32)
        .map(|p| (header(Codec::None, p, 0), records(50)))
        .collect();
    let size = batches
        .iter()
        .map(|(h, r)| crate::format::batch_encoded_len(h, r))
        .sum();
    let mut w = ObjectWriter::new(&tenant, "agent-1/abc", 42, size, batches.len());
    for (mut h, r) in batches {
        w.push_records(&mut h, &r);
        assert_eq!(h.record_count, 50);
    }
    let bytes = w.finish();
    assert_eq!(bytes.as_ptr().align_offset(crate::format::OBJECT_ALIGN), 0);
    assert_eq!(decode_object(&bytes).unwrap().batches.len(), 3);
}
