-- StreamHouse metadata schema for SQLite. Every row carries or reaches its tenant.

CREATE TABLE topics (
    -- AUTOINCREMENT: ids of deleted topics are never reused, so old index rows, leases and
    -- offsets can never attach to a new incarnation.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    partitions    INTEGER NOT NULL,
    retention_ms  INTEGER,
    compression   TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (tenant, name)
);

CREATE TABLE partitions (
    topic_id         INTEGER NOT NULL,
    partition        INTEGER NOT NULL,
    tenant           TEXT    NOT NULL,
    log_start_offset INTEGER NOT NULL DEFAULT 0,
    high_watermark   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (topic_id, partition)
) WITHOUT ROWID;

CREATE TABLE objects (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT    NOT NULL UNIQUE,
    tenant        TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    writer        TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);

-- The offset index: one row per batch; end_offset is exclusive.
CREATE TABLE batches (
    topic_id         INTEGER NOT NULL,
    partition        INTEGER NOT NULL,
    base_offset      INTEGER NOT NULL,
    end_offset       INTEGER NOT NULL,
    object_id        INTEGER NOT NULL REFERENCES objects (id),
    position         INTEGER NOT NULL,
    size             INTEGER NOT NULL,
    max_timestamp_ms INTEGER NOT NULL,
    PRIMARY KEY (topic_id, partition, base_offset)
) WITHOUT ROWID;

CREATE TABLE leases (
    topic_id      INTEGER NOT NULL,
    partition     INTEGER NOT NULL,
    tenant        TEXT    NOT NULL,
    holder        TEXT    NOT NULL,
    epoch         INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    PRIMARY KEY (topic_id, partition)
) WITHOUT ROWID;

CREATE TABLE group_offsets (
    tenant        TEXT    NOT NULL,
    group_id      TEXT    NOT NULL,
    topic_id      INTEGER NOT NULL,
    partition     INTEGER NOT NULL,
    committed     INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant, group_id, topic_id, partition)
) WITHOUT ROWID;
