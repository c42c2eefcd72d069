//! Conversions between the wire types of `streamhouse.v1` and StreamHouse's domain types
//! (`streamhouse-core`): what the agent's gRPC listener and its forwarded produces convert
//! through. Wire strings that name domain values (topic names, codecs) are validated here.

use streamhouse_core::cluster::AgentInfo;
use streamhouse_core::{
    CleanupPolicy, Codec, Fetched, Header, PartitionInfo, ProduceRecord, Record, TenantId,
    TopicInfo, TopicName, TopicSettings, TopicSpec, ValidationError,
};

use crate::v1 as pb;

impl From<pb::RecordHeader> for Header {
    fn from(h: pb::RecordHeader) -> Self {
        Self {
            key: h.key,
            value: h.value,
        }
    }
}

impl From<Header> for pb::RecordHeader {
    fn from(h: Header) -> Self {
        Self {
            key: h.key,
            value: h.value,
        }
    }
}

impl From<pb::ProduceRecord> for ProduceRecord {
    fn from(r: pb::ProduceRecord) -> Self {
        Self {
            partition: r.partition,
            record: Record {
                key: r.key,
                value: r.value,
                headers: r.headers.into_iter().map(Header::from).collect(),
                timestamp_ms: r.timestamp_ms,
            },
        }
    }
}

impl From<ProduceRecord> for pb::ProduceRecord {
    fn from(r: ProduceRecord) -> Self {
        Self {
            partition: r.partition,
            key: r.record.key,
            value: r.record.value,
            headers: r.record.headers.into_iter().map(Into::into).collect(),
            timestamp_ms: r.record.timestamp_ms,
        }
    }
}

impl From<(u64, Record)> for pb::ConsumedRecord {
    fn from((offset, r): (u64, Record)) -> Self {
        Self {
            offset,
            key: r.key,
            value: r.value,
            headers: r.headers.into_iter().map(Into::into).collect(),
            timestamp_ms: r.timestamp_ms,
        }
    }
}

/// A partition's fetched records.
impl From<(u32, Fetched)> for pb::FetchResponse {
    fn from((partition, f): (u32, Fetched)) -> Self {
        Self {
            partition,
            records: f.records.into_iter().map(Into::into).collect(),
            high_watermark: f.high_watermark,
            next_offset: f.next_offset,
        }
    }
}

impl From<&TopicInfo> for pb::Topic {
    fn from(t: &TopicInfo) -> Self {
        Self {
            name: t.spec.name.to_string(),
            partitions: t.spec.partitions,
            retention_ms: t.spec.retention_ms,
            compression: t.spec.compression.name().to_owned(),
            created_at_ms: t.created_at_ms,
            retention_bytes: t.spec.retention_bytes,
            cleanup_policy: t.spec.cleanup_policy.name().to_owned(),
            delete_retention_ms: t.spec.delete_retention_ms,
        }
    }
}

impl From<PartitionInfo> for pb::PartitionStatus {
    fn from(p: PartitionInfo) -> Self {
        Self {
            partition: p.partition,
            log_start_offset: p.log_start_offset,
            high_watermark: p.high_watermark,
        }
    }
}

impl From<AgentInfo> for pb::AgentStatus {
    fn from(a: AgentInfo) -> Self {
        Self {
            agent_id: a.agent_id,
            address: a.addr,
            group: a.group,
            zone: a.zone,
        }
    }
}

impl From<pb::PartitionOffset> for (u32, u64) {
    fn from(o: pb::PartitionOffset) -> Self {
        (o.partition, o.offset)
    }
}

impl From<(u32, u64)> for pb::PartitionOffset {
    fn from((partition, offset): (u32, u64)) -> Self {
        Self { partition, offset }
    }
}

impl pb::CreateTopicRequest {
    /// The topic of `tenant` the request describes, its name and codec validated; the
    /// agent's limits are checked where the topic is created. (A method, not `TryFrom`: the
    /// tenant comes from the caller's credentials, not from the message.)
    pub fn into_spec(self, tenant: TenantId) -> Result<TopicSpec, ValidationError> {
        let spec = TopicSpec {
            retention_ms: self.retention_ms,
            compression: self.compression.parse::<Codec>()?,
            retention_bytes: self.retention_bytes,
            cleanup_policy: self.cleanup_policy.parse::<CleanupPolicy>()?,
            delete_retention_ms: self
                .delete_retention_ms
                .unwrap_or(TopicSpec::DEFAULT_DELETE_RETENTION_MS),
            ..TopicSpec::new(tenant, TopicName::new(self.name)?, self.partitions)
        };
        spec.validate_settings()?;
        Ok(spec)
    }
}

impl pb::AlterTopicRequest {
    /// `current` with the changes the request asks for (a retention of -1 removes that
    /// limit), validated.
    pub fn apply(&self, current: TopicSettings) -> Result<TopicSettings, ValidationError> {
        let limit = |v: Option<i64>, now: Option<i64>| match v {
            None => now,
            Some(-1) => None,
            Some(v) => Some(v),
        };
        let settings = TopicSettings {
            retention_ms: limit(self.retention_ms, current.retention_ms),
            retention_bytes: limit(self.retention_bytes, current.retention_bytes),
            cleanup_policy: match &self.cleanup_policy {
                Some(p) => p.parse()?,
                None => current.cleanup_policy,
            },
            delete_retention_ms: self
                .delete_retention_ms
                .unwrap_or(current.delete_retention_ms),
        };
        settings.validate()?;
        Ok(settings)
    }
}

/// The bytes `(offset, record)` adds to a `FetchResponse` as a `ConsumedRecord`, exactly: a
/// fetch sized by it never exceeds the message limit, however many small headers its records
/// carry (each costs a few bytes more on the wire than in storage).
pub fn fetch_record_len(offset: u64, r: &Record) -> usize {
    use prost::encoding::encoded_len_varint as varint;
    // Tag (one byte for field numbers below 16) and length prefix of a length-delimited field.
    let field = |len: usize| 1 + varint(len as u64) + len;
    let nonempty = |len: usize| if len == 0 { 0 } else { field(len) };
    let header = |h: &Header| field(nonempty(h.key.len()) + nonempty(h.value.len()));
    let body = if offset == 0 { 0 } else { 1 + varint(offset) }
        + r.key.as_ref().map_or(0, |k| field(k.len()))
        + r.value.as_ref().map_or(0, |v| field(v.len()))
        + r.headers.iter().map(header).sum::<usize>()
        + if r.timestamp_ms == 0 {
            0
        } else {
            1 + varint(r.timestamp_ms as u64)
        };
    field(body)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn a_produced_record_survives_the_round_trip_through_the_wire() {
        let wire = pb::ProduceRecord::new("v")
            .with_key("k")
            .with_partition(3)
            .with_header("h", "1");
        let domain = ProduceRecord::from(wire.clone());
        assert_eq!(domain.partition, Some(3));
        assert_eq!(domain.record.key, Some(Bytes::from("k")));
        assert_eq!(pb::ProduceRecord::from(domain), wire);
    }

    #[test]
    fn fetch_record_len_is_the_encoded_length() {
        let many_headers = Record {
            headers: (0..1000)
                .map(|i| Header {
                    key: if i % 3 == 0 {
                        String::new()
                    } else {
                        "k".into()
                    },
                    value: if i % 2 == 0 {
                        Bytes::new()
                    } else {
                        Bytes::from("v")
                    },
                })
                .collect(),
            ..Record::default()
        };
        let records = [
            (0, Record::default()),
            (
                1,
                Record {
                    key: Some(Bytes::new()),
                    ..Record::default()
                },
            ),
            (
                u64::MAX,
                Record {
                    value: Some(Bytes::from(vec![7; 300])),
                    timestamp_ms: -5,
                    ..Record::default()
                },
            ),
            (
                300,
                Record {
                    timestamp_ms: 1_700_000_000_000,
                    ..many_headers
                },
            ),
        ];
        for (offset, r) in records {
            let alone = pb::FetchResponse {
                records: vec![pb::ConsumedRecord::from((offset, r.clone()))],
                ..Default::default()
            };
            use prost::Message;
            assert_eq!(
                fetch_record_len(offset, &r),
                alone.encoded_len(),
                "{offset}"
            );
        }
    }

    #[test]
    fn topic_requests_are_validated() {
        let t = TenantId::default_tenant();
        let ok = pb::CreateTopicRequest {
            name: "orders".into(),
            partitions: 3,
            retention_ms: None,
            compression: "lz4".into(),
            cleanup_policy: "compact".into(),
            ..Default::default()
        };
        let spec = ok.clone().into_spec(t.clone()).unwrap();
        assert_eq!((spec.partitions, spec.compression), (3, Codec::Lz4));
        assert_eq!(spec.cleanup_policy, CleanupPolicy::Compact);
        assert_eq!(
            spec.delete_retention_ms,
            TopicSpec::DEFAULT_DELETE_RETENTION_MS
        );
        let bad_policy = pb::CreateTopicRequest {
            cleanup_policy: "shred".into(),
            ..ok.clone()
        };
        assert!(bad_policy.into_spec(t.clone()).is_err());
        let bad_name = pb::CreateTopicRequest {
            name: "a b".into(),
            ..ok.clone()
        };
        assert!(bad_name.into_spec(t.clone()).is_err());
        let bad_codec = pb::CreateTopicRequest {
            compression: "snappy".into(),
            ..ok
        };
        let e = bad_codec.into_spec(t).unwrap_err();
        assert!(e.0.contains("snappy"), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        /// Whatever bytes arrive as a request, decoding and the conversions and checks the
        /// agent runs on it end in a value or an error, never a panic.
        #[test]
        fn any_bytes_decode_and_validate_without_panicking(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)
        ) {
            use prost::Message;
            let t = TenantId::default_tenant();
            if let Ok(r) = pb::CreateTopicRequest::decode(data.as_slice()) {
                let _ = r.into_spec(t.clone());
            }
            if let Ok(r) = pb::ProduceRequest::decode(data.as_slice()) {
                let _ = TopicName::new(r.topic);
                for rec in r.records {
                    let rec = ProduceRecord::from(rec);
                    let _ = rec.record.encoded_len();
                }
            }
            for topic in [
                pb::FetchRequest::decode(data.as_slice()).map(|r| r.topic),
                pb::SubscribeRequest::decode(data.as_slice()).map(|r| r.topic),
                pb::DescribeTopicRequest::decode(data.as_slice()).map(|r| r.name),
                pb::DeleteTopicRequest::decode(data.as_slice()).map(|r| r.name),
                pb::FetchOffsetsRequest::decode(data.as_slice()).map(|r| r.topic),
            ]
            .into_iter()
            .flatten()
            {
                let _ = TopicName::new(topic);
            }
            if let Ok(r) = pb::CommitOffsetsRequest::decode(data.as_slice()) {
                let _ = TopicName::new(r.topic);
                let _: Vec<(u32, u64)> = r.offsets.into_iter().map(Into::into).collect();
            }
        }
    }

    #[test]
    fn alter_requests_change_only_what_they_name() {
        let current = TopicSettings {
            retention_ms: Some(1000),
            retention_bytes: None,
            cleanup_policy: CleanupPolicy::Delete,
            delete_retention_ms: 5,
        };
        let none = pb::AlterTopicRequest::default();
        assert_eq!(none.apply(current).unwrap(), current);
        let all = pb::AlterTopicRequest {
            name: "t".into(),
            retention_ms: Some(-1),
            retention_bytes: Some(4096),
            cleanup_policy: Some("compact,delete".into()),
            delete_retention_ms: Some(0),
        };
        let want = TopicSettings {
            retention_ms: None,
            retention_bytes: Some(4096),
            cleanup_policy: CleanupPolicy::CompactDelete,
            delete_retention_ms: 0,
        };
        assert_eq!(all.apply(current).unwrap(), want);
        for (bad, why) in [
            (
                pb::AlterTopicRequest {
                    retention_bytes: Some(0),
                    ..Default::default()
                },
                "retention_bytes must be positive",
            ),
            (
                pb::AlterTopicRequest {
                    cleanup_policy: Some("shred".into()),
                    ..Default::default()
                },
                "unknown cleanup policy",
            ),
            (
                pb::AlterTopicRequest {
                    delete_retention_ms: Some(-5),
                    ..Default::default()
                },
                "must not be negative",
            ),
        ] {
            let e = bad.apply(current).unwrap_err();
            assert!(e.0.contains(why), "{e}");
        }
    }
}
