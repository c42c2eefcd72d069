-- Metered usage for billing, per tenant and topic ('' for requests naming no topic): the
-- bytes and records produced and read, requests, and stored bytes summed over hours
-- (byte-hours). Every addition goes to the hour's row and to the day's row.
CREATE TABLE usage_hourly (
    tenant             TEXT   NOT NULL,
    topic              TEXT   NOT NULL,
    period_ms          BIGINT  NOT NULL,
    ingress_bytes      BIGINT  NOT NULL,
    ingress_records    BIGINT  NOT NULL,
    egress_bytes       BIGINT  NOT NULL,
    egress_records     BIGINT  NOT NULL,
    requests           BIGINT  NOT NULL,
    storage_byte_hours BIGINT  NOT NULL,
    PRIMARY KEY (tenant, period_ms, topic)
);

CREATE TABLE usage_daily (
    tenant             TEXT   NOT NULL,
    topic              TEXT   NOT NULL,
    period_ms          BIGINT  NOT NULL,
    ingress_bytes      BIGINT  NOT NULL,
    ingress_records    BIGINT  NOT NULL,
    egress_bytes       BIGINT  NOT NULL,
    egress_records     BIGINT  NOT NULL,
    requests           BIGINT  NOT NULL,
    storage_byte_hours BIGINT  NOT NULL,
    PRIMARY KEY (tenant, period_ms, topic)
);

-- The hours whose storage was sampled: one agent of the cluster claims each.
CREATE TABLE storage_samples (
    hour_ms       BIGINT  PRIMARY KEY,
    sampled_at_ms BIGINT  NOT NULL
);
