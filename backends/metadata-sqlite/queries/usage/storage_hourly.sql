-- Every topic's indexed bytes, as one hour of storage in the bucket starting at ?1.
INSERT INTO usage_hourly (tenant, topic, period_ms, ingress_bytes, ingress_records, egress_bytes, egress_records, requests, storage_byte_hours)
SELECT t.tenant, t.name, ?1, 0, 0, 0, 0, 0, SUM(b.size)
FROM batches b JOIN topics t ON t.id = b.topic_id
WHERE true
GROUP BY t.tenant, t.name
ON CONFLICT (tenant, topic, period_ms) DO UPDATE SET
    storage_byte_hours = usage_hourly.storage_byte_hours + excluded.storage_byte_hours
