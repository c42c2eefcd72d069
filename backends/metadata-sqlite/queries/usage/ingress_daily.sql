-- A commit's ingress per topic, added to the bucket starting at ?2: ?1 is a JSON array of
-- [topic_id, ingress_bytes, records].
INSERT INTO usage_daily (tenant, topic, period_ms, ingress_bytes, ingress_records, egress_bytes, egress_records, requests, storage_byte_hours)
SELECT t.tenant, t.name, ?2, SUM(v.value ->> 1), SUM(v.value ->> 2), 0, 0, 0, 0
FROM json_each(?1) AS v JOIN topics t ON t.id = v.value ->> 0
WHERE true
GROUP BY t.tenant, t.name
ON CONFLICT (tenant, topic, period_ms) DO UPDATE SET
    ingress_bytes = usage_daily.ingress_bytes + excluded.ingress_bytes,
    ingress_records = usage_daily.ingress_records + excluded.ingress_records
