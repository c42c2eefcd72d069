-- StreamHouse metadata schema for PostgreSQL and Aurora PostgreSQL. Every row carries or
-- reaches its tenant. Times are milliseconds since the Unix epoch on the database's clock.

CREATE TABLE topics (
    -- An identity never reuses ids, so old index rows, leases and offsets can never attach
    -- to a new incarnation of a deleted topic.
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant        TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    partitions    INTEGER NOT NULL,
    retention_ms  BIGINT,
    compression   TEXT    NOT NULL,
    created_at_ms BIGINT  NOT NULL,
    UNIQUE (tenant, name)
);

CREATE TABLE partitions (
    topic_id         BIGINT  NOT NULL,
    partition        INTEGER NOT NULL,
    tenant           TEXT    NOT NULL,
    log_start_offset BIGINT  NOT NULL DEFAULT 0,
    high_watermark   BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (topic_id, partition)
);

CREATE TABLE objects (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key           TEXT   NOT NULL UNIQUE,
    tenant        TEXT   NOT NULL,
    size          BIGINT NOT NULL,
    writer        TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- The offset index: one row per batch; end_offset is exclusive.
CREATE TABLE batches (
    topic_id         BIGINT  NOT NULL,
    partition        INTEGER NOT NULL,
    base_offset      BIGINT  NOT NULL,
    end_offset       BIGINT  NOT NULL,
    object_id        BIGINT  NOT NULL REFERENCES objects (id),
    position         BIGINT  NOT NULL,
    size             INTEGER NOT NULL,
    max_timestamp_ms BIGINT  NOT NULL,
    PRIMARY KEY (topic_id, partition, base_offset)
);
CREATE INDEX batches_by_object ON batches (object_id);

CREATE TABLE leases (
    topic_id      BIGINT  NOT NULL,
    partition     INTEGER NOT NULL,
    tenant        TEXT    NOT NULL,
    holder        TEXT    NOT NULL,
    epoch         BIGINT  NOT NULL,
    expires_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (topic_id, partition)
);

CREATE TABLE group_offsets (
    tenant        TEXT    NOT NULL,
    group_id      TEXT    NOT NULL,
    topic_id      BIGINT  NOT NULL,
    partition     INTEGER NOT NULL,
    committed     BIGINT  NOT NULL,
    updated_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (tenant, group_id, topic_id, partition)
);
CREATE INDEX group_offsets_by_topic ON group_offsets (topic_id);

-- The database's clock in milliseconds: leases never depend on agents' clocks.
CREATE FUNCTION streamhouse_now_ms() RETURNS BIGINT LANGUAGE SQL VOLATILE AS
$$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT $$;
