-- The rest of a flush commit's rows, run after `insert_batches.sql` as ONE query (see
-- `COMMIT_ROWS` in src/index.rs: SQLite runs the statements one after another, one hand-off to
-- the connection's worker thread instead of one per statement). Every statement reads the one
-- argument, ?1, the JSON object `insert_batches.sql` reads, with these fields as well:
--   hws      the high watermarks the commit advances: [[topic_id, partition, high_watermark]]
--   meter    1 when its ingress is metered, else 0
--   ingress  [[topic_id, ingress_bytes, records]] (empty when not metered), added per topic and
--            to the tenant's total ('*': `bytes`, `records`) in the buckets of the hour (`hour`)
--            and of the day (`day`), in the commit's transaction: ingress is counted exactly
--            when it is durable.
-- (One argument, because sqlx binds a multi-statement query's numbered parameters statement by
-- statement and stops binding at a gap in a statement's numbering.)
UPDATE partitions
SET high_watermark = v.value ->> 2
FROM json_each(?1, '$.hws') AS v
WHERE partitions.topic_id = v.value ->> 0 AND partitions.partition = v.value ->> 1;

INSERT INTO usage_hourly (tenant, topic, period_ms, ingress_bytes, ingress_records, egress_bytes, egress_records, requests, storage_byte_hours)
SELECT t.tenant, t.name, ?1 ->> '$.hour', SUM(v.value ->> 1), SUM(v.value ->> 2), 0, 0, 0, 0
FROM json_each(?1, '$.ingress') AS v JOIN topics t ON t.id = v.value ->> 0
WHERE true
GROUP BY t.tenant, t.name
ON CONFLICT (tenant, topic, period_ms) DO UPDATE SET
    ingress_bytes = usage_hourly.ingress_bytes + excluded.ingress_bytes,
    ingress_records = usage_hourly.ingress_records + excluded.ingress_records;

INSERT INTO usage_hourly (tenant, topic, period_ms, ingress_bytes, ingress_records, egress_bytes, egress_records, requests, storage_byte_hours)
SELECT o.tenant, '*', ?1 ->> '$.hour', ?1 ->> '$.bytes', ?1 ->> '$.records', 0, 0, 0, 0
FROM objects o
WHERE o.id = ?1 ->> '$.object' AND ?1 ->> '$.meter'
ON CONFLICT (tenant, topic, period_ms) DO UPDATE SET
    ingress_bytes = usage_hourly.ingress_bytes + excluded.ingress_bytes,
    ingress_records = usage_hourly.ingress_records + excluded.ingress_records;

INSERT INTO usage_daily (tenant, topic, period_ms, ingress_bytes, ingress_records, egress_bytes, egress_records, requests, storage_byte_hours)
SELECT t.tenant, t.name, ?1 ->> '$.day', SUM(v.value ->> 1), SUM(v.value ->> 2), 0, 0, 0, 0
FROM json_each(?1, '$.ingress') AS v JOIN topics t ON t.id = v.value ->> 0
WHERE true
GROUP BY t.tenant, t.name
ON CONFLICT (tenant, topic, period_ms) DO UPDATE SET
    ingress_bytes = usage_daily.ingress_bytes + excluded.ingress_bytes,
    ingress_records = usage_daily.ingress_records + excluded.ingress_records;

INSERT INTO usage_daily (tenant, topic, period_ms, ingress_bytes, ingress_records, egress_bytes, egress_records, requests, storage_byte_hours)
SELECT o.tenant, '*', ?1 ->> '$.day', ?1 ->> '$.bytes', ?1 ->> '$.records', 0, 0, 0, 0
FROM objects o
WHERE o.id = ?1 ->> '$.object' AND ?1 ->> '$.meter'
ON CONFLICT (tenant, topic, period_ms) DO UPDATE SET
    ingress_bytes = usage_daily.ingress_bytes + excluded.ingress_bytes,
    ingress_records = usage_daily.ingress_records + excluded.ingress_records;
