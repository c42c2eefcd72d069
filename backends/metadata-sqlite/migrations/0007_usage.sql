-- Metered usage for billing, per tenant and topic ('' for requests naming no topic, '*' for
-- the tenant's total): the bytes and records produced and read, requests, and stored bytes
-- summed over hours (byte-hours). Every addition goes to the hour's row and the day's row, of
-- its topic and of the total. Totals read one row per bucket; per-topic reports read by period.
CREATE TABLE usage_hourly (
    tenant             TEXT   NOT NULL,
    topic              TEXT   NOT NULL,
    period_ms          INTEGER NOT NULL,
    ingress_bytes      INTEGER NOT NULL,
    ingress_records    INTEGER NOT NULL,
    egress_bytes       INTEGER NOT NULL,
    egress_records     INTEGER NOT NULL,
    requests           INTEGER NOT NULL,
    storage_byte_hours INTEGER NOT NULL,
    PRIMARY KEY (tenant, topic, period_ms)
);

CREATE INDEX usage_hourly_by_period ON usage_hourly (tenant, period_ms);

CREATE TABLE usage_daily (
    tenant             TEXT   NOT NULL,
    topic              TEXT   NOT NULL,
    period_ms          INTEGER NOT NULL,
    ingress_bytes      INTEGER NOT NULL,
    ingress_records    INTEGER NOT NULL,
    egress_bytes       INTEGER NOT NULL,
    egress_records     INTEGER NOT NULL,
    requests           INTEGER NOT NULL,
    storage_byte_hours INTEGER NOT NULL,
    PRIMARY KEY (tenant, topic, period_ms)
);

CREATE INDEX usage_daily_by_period ON usage_daily (tenant, period_ms);

-- The hours whose storage was sampled: one agent of the cluster claims each.
CREATE TABLE storage_samples (
    hour_ms       INTEGER PRIMARY KEY,
    sampled_at_ms INTEGER NOT NULL
);
