//! Domain types shared by every crate: tenants, topics, partitions, records.

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A value that failed validation, with a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

/// The tenant (organization) that owns topics. Part of every storage key.
///
/// 1–63 characters of `[a-z0-9-]`, not starting or ending with `-`, so it is safe as an
/// object-key prefix on every cloud.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    /// The tenant used when a request names none.
    pub const DEFAULT: &'static str = "default";

    /// Validates and wraps a tenant id.
    pub fn new(id: impl Into<String>) -> Result<Self, ValidationError> {
        let id = id.into();
        let ok_chars = id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if id.is_empty() || id.len() > 63 || !ok_chars || id.starts_with('-') || id.ends_with('-') {
            return Err(ValidationError(format!(
                "invalid tenant id {id:?}: use 1-63 characters of [a-z0-9-], not starting or ending with '-'"
            )));
        }
        Ok(Self(id))
    }

    /// The default tenant.
    pub fn default_tenant() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for TenantId {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<TenantId> for String {
    fn from(t: TenantId) -> Self {
        t.0
    }
}

/// A topic name, validated like Kafka's: 1–249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TopicName(String);

impl TopicName {
    /// Longest topic name Kafka accepts.
    pub const MAX_LEN: usize = 249;

    /// Validates and wraps a topic name.
    pub fn new(name: impl Into<String>) -> Result<Self, ValidationError> {
        let name = name.into();
        if name.is_empty() {
            return Err(ValidationError("topic name must not be empty".into()));
        }
        if name.len() > Self::MAX_LEN {
            return Err(ValidationError(format!(
                "topic name is {} characters long; the limit is {}",
                name.len(),
                Self::MAX_LEN
            )));
        }
        if name == "." || name == ".." {
            return Err(ValidationError(format!("topic name {name:?} is reserved")));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(ValidationError(format!(
                "topic name {name:?} contains {bad:?}; use only ASCII letters, digits, '.', '_' and '-'"
            )));
        }
        Ok(Self(name))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TopicName {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for TopicName {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<TopicName> for String {
    fn from(t: TopicName) -> Self {
        t.0
    }
}

/// Identity of one incarnation of a topic, assigned by the metadata store at creation.
///
/// Deleting a topic and creating one with the same name gives a new id, so index rows, leases
/// and offsets of the old topic can never be mistaken for the new one's.
pub type TopicId = i64;

/// Compression codec of a record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// Stored as is.
    #[default]
    None,
    /// LZ4 block format: cheap on CPU.
    Lz4,
    /// Zstandard: smaller objects, more CPU.
    Zstd,
}

impl Codec {
    /// Wire id in the object format.
    pub fn id(self) -> u8 {
        match self {
            Codec::None => 0,
            Codec::Lz4 => 1,
            Codec::Zstd => 2,
        }
    }

    /// The codec with this wire id.
    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(Codec::None),
            1 => Some(Codec::Lz4),
            2 => Some(Codec::Zstd),
            _ => None,
        }
    }

    /// Lower-case name, as in config files and the API.
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }
}

impl FromStr for Codec {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "none" => Ok(Codec::None),
            "lz4" => Ok(Codec::Lz4),
            "zstd" => Ok(Codec::Zstd),
            other => Err(ValidationError(format!(
                "unknown compression {other:?}; use none, lz4 or zstd"
            ))),
        }
    }
}

/// A record header: a key and an opaque value, as in Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name.
    pub key: String,
    /// Header value.
    pub value: Bytes,
}

/// One record of a partition's log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// Optional key; with no explicit partition it picks the partition.
    pub key: Option<Bytes>,
    /// Optional value (`None` is a tombstone).
    pub value: Option<Bytes>,
    /// Headers, in order.
    pub headers: Vec<Header>,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
}

impl Record {
    /// Bytes this record adds to a batch before compression; the record size limit uses it.
    pub fn encoded_len(&self) -> usize {
        crate::format::record_encoded_len(self)
    }
}

/// A record as a producer sends it, aimed at a partition or not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProduceRecord {
    /// The partition to write to; `None` lets the key choose it (Kafka's default
    /// partitioner), or the agent when there is no key.
    pub partition: Option<u32>,
    /// The record; a `timestamp_ms` of 0 is replaced by the time the agent receives it.
    pub record: Record,
}

/// Records read from one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    /// `(offset, record)` from the requested offset on.
    pub records: Vec<(u64, Record)>,
    /// The partition's high watermark when they were read.
    pub high_watermark: u64,
    /// The offset to read next.
    pub next_offset: u64,
}

/// What a topic is created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Topic name, unique within the tenant.
    pub name: TopicName,
    /// Number of partitions (at least 1).
    pub partitions: u32,
    /// Retention in milliseconds; `None` keeps records forever.
    pub retention_ms: Option<i64>,
    /// Codec the agent compresses this topic's batches with.
    pub compression: Codec,
    /// Retention by size, per partition: the oldest batches go once a partition holds more
    /// bytes than this; `None` keeps them whatever their size.
    pub retention_bytes: Option<i64>,
    /// What happens to old records: deleted by retention, compacted by key, or both.
    pub cleanup_policy: CleanupPolicy,
    /// How long compaction keeps a tombstone (a record without a value) after the key's
    /// earlier records are gone, so that consumers reading behind see the deletion.
    pub delete_retention_ms: i64,
}

impl TopicSpec {
    /// Kafka's `delete.retention.ms` default: one day.
    pub const DEFAULT_DELETE_RETENTION_MS: i64 = 86_400_000;

    /// A topic of `partitions` with every setting at its default: kept forever, not
    /// compacted, uncompressed.
    pub fn new(tenant: TenantId, name: TopicName, partitions: u32) -> Self {
        Self {
            tenant,
            name,
            partitions,
            retention_ms: None,
            compression: Codec::None,
            retention_bytes: None,
            cleanup_policy: CleanupPolicy::Delete,
            delete_retention_ms: Self::DEFAULT_DELETE_RETENTION_MS,
        }
    }

    /// The settings `topic alter` can change.
    pub fn settings(&self) -> TopicSettings {
        TopicSettings {
            retention_ms: self.retention_ms,
            retention_bytes: self.retention_bytes,
            cleanup_policy: self.cleanup_policy,
            delete_retention_ms: self.delete_retention_ms,
        }
    }

    /// Checks the settings a person chose, with a message that says what to change.
    pub fn validate_settings(&self) -> Result<(), ValidationError> {
        self.settings().validate()
    }
}

/// The settings of an existing topic that can change: retention and cleanup policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicSettings {
    /// Retention by record time; `None` keeps records whatever their age.
    pub retention_ms: Option<i64>,
    /// Retention by size per partition; `None` keeps records whatever their size.
    pub retention_bytes: Option<i64>,
    /// Delete, compact, or both.
    pub cleanup_policy: CleanupPolicy,
    /// How long compaction keeps tombstones.
    pub delete_retention_ms: i64,
}

impl TopicSettings {
    /// Checks every setting, with a message that says what to change.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.retention_ms.is_some_and(|ms| ms <= 0) {
            return Err(ValidationError(
                "retention_ms must be positive, or absent to keep records forever".into(),
            ));
        }
        if self.retention_bytes.is_some_and(|b| b <= 0) {
            return Err(ValidationError(
                "retention_bytes must be positive, or absent to keep records whatever their size"
                    .into(),
            ));
        }
        if self.delete_retention_ms < 0 {
            return Err(ValidationError(
                "delete_retention_ms must not be negative".into(),
            ));
        }
        Ok(())
    }
}

/// What happens to a topic's old records, as Kafka's `cleanup.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CleanupPolicy {
    /// Retention deletes records by age and size.
    #[default]
    #[serde(rename = "delete")]
    Delete,
    /// Compaction keeps the latest record of each key; nothing is deleted by age or size.
    #[serde(rename = "compact")]
    Compact,
    /// Both: compaction by key, and retention by age and size.
    #[serde(rename = "compact,delete")]
    CompactDelete,
}

impl CleanupPolicy {
    /// The name in the API, the CLI and the metadata store.
    pub fn name(self) -> &'static str {
        match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
        }
    }

    /// Whether compaction keeps only the latest record per key.
    pub fn compacts(self) -> bool {
        self != CleanupPolicy::Delete
    }

    /// Whether retention deletes old records by age and size.
    pub fn deletes(self) -> bool {
        self != CleanupPolicy::Compact
    }
}

impl FromStr for CleanupPolicy {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.replace(' ', "").as_str() {
            "" | "delete" => Ok(CleanupPolicy::Delete),
            "compact" => Ok(CleanupPolicy::Compact),
            "compact,delete" | "delete,compact" => Ok(CleanupPolicy::CompactDelete),
            other => Err(ValidationError(format!(
                "unknown cleanup policy {other:?}; use delete, compact or compact,delete"
            ))),
        }
    }
}

impl fmt::Display for CleanupPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A topic as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Identity of this incarnation of the topic.
    pub id: TopicId,
    /// What it was created with.
    pub spec: TopicSpec,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
}

impl TopicInfo {
    /// Rebuilds a topic from a metadata store's row, validating every field; the error says
    /// which one is corrupt.
    pub fn from_stored(
        id: TopicId,
        tenant: String,
        name: String,
        partitions: u32,
        compression: &str,
        settings: TopicSettings,
        created_at_ms: i64,
    ) -> Result<Self, ValidationError> {
        let TopicSettings {
            retention_ms,
            retention_bytes,
            cleanup_policy,
            delete_retention_ms,
        } = settings;
        Ok(TopicInfo {
            id,
            spec: TopicSpec {
                tenant: TenantId::new(tenant)?,
                name: TopicName::new(name)?,
                partitions,
                retention_ms,
                compression: compression.parse()?,
                retention_bytes,
                cleanup_policy,
                delete_retention_ms,
            },
            created_at_ms,
        })
    }
}

/// Offsets of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Partition number, `0..partitions`.
    pub partition: u32,
    /// First offset still readable.
    pub log_start_offset: u64,
    /// Offset the next committed record gets; everything below it is readable.
    pub high_watermark: u64,
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::one_char("a")]
    #[case::plain("orders")]
    #[case::dotted("orders.v1")]
    #[case::mixed("A_b-c.9")]
    #[case::longest(&"x".repeat(249))]
    fn valid_topic_names(#[case] name: &str) {
        assert_eq!(TopicName::new(name).unwrap().as_str(), name);
    }

    #[rstest]
    #[case::empty("", "must not be empty")]
    #[case::dot(".", "is reserved")]
    #[case::dotdot("..", "is reserved")]
    #[case::space("a b", "contains ' '")]
    #[case::slash("a/b", "contains '/'")]
    #[case::non_ascii("ü", "contains 'ü'")]
    #[case::too_long(&"x".repeat(250), "the limit is 249")]
    fn invalid_topic_names_say_why(#[case] name: &str, #[case] why: &str) {
        let err = TopicName::new(name).unwrap_err();
        assert!(err.0.contains(why), "{name:?}: {err}");
    }

    #[test]
    fn tenant_ids_are_key_safe() {
        assert!(TenantId::new("acme-1").is_ok());
        for bad in ["", "-a", "a-", "Acme", "a_b", "a/b", &"a".repeat(64)] {
            assert!(TenantId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cleanup_policies_round_trip_by_name() {
        for p in [
            CleanupPolicy::Delete,
            CleanupPolicy::Compact,
            CleanupPolicy::CompactDelete,
        ] {
            assert_eq!(p.name().parse::<CleanupPolicy>().unwrap(), p);
        }
        assert_eq!(
            "delete, compact".parse::<CleanupPolicy>().unwrap(),
            CleanupPolicy::CompactDelete
        );
        let err = "shred".parse::<CleanupPolicy>().unwrap_err();
        assert!(err.0.contains("use delete, compact"), "{err}");
    }

    #[test]
    fn codec_ids_round_trip() {
        for c in [Codec::None, Codec::Lz4, Codec::Zstd] {
            assert_eq!(Codec::from_id(c.id()), Some(c));
            assert_eq!(c.name().parse::<Codec>().unwrap(), c);
        }
        assert_eq!(Codec::from_id(9), None);
        assert!("snappy".parse::<Codec>().is_err());
    }
}
