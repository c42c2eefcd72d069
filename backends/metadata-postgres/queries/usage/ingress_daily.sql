-- A commit's ingress per topic, added to the bucket starting at $4.
INSERT INTO usage_daily (tenant, topic, period_ms, ingress_bytes, ingress_records, egress_bytes, egress_records, requests, storage_byte_hours)
SELECT t.tenant, t.name, $4, SUM(v.bytes)::BIGINT, SUM(v.records)::BIGINT, 0, 0, 0, 0
FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[]) AS v(topic_id, bytes, records)
JOIN topics t ON t.id = v.topic_id
GROUP BY t.tenant, t.name
ON CONFLICT (tenant, topic, period_ms) DO UPDATE SET
    ingress_bytes = usage_daily.ingress_bytes + excluded.ingress_bytes,
    ingress_records = usage_daily.ingress_records + excluded.ingress_records
