-- A commit's ingress added to its tenant's total ('*') for the bucket.
INSERT INTO usage_daily (tenant, topic, period_ms, ingress_bytes, ingress_records, egress_bytes, egress_records, requests, storage_byte_hours)
VALUES (?1, '*', ?2, ?3, ?4, 0, 0, 0, 0)
ON CONFLICT (tenant, topic, period_ms) DO UPDATE SET
    ingress_bytes = usage_daily.ingress_bytes + excluded.ingress_bytes,
    ingress_records = usage_daily.ingress_records + excluded.ingress_records
