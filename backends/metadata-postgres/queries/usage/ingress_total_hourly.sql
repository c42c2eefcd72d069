-- A commit's ingress added to its tenant's total ('*') for the bucket.
INSERT INTO usage_hourly (tenant, topic, period_ms, ingress_bytes, ingress_records, egress_bytes, egress_records, requests, storage_byte_hours)
VALUES ($1, '*', $2, $3, $4, 0, 0, 0, 0)
ON CONFLICT (tenant, topic, period_ms) DO UPDATE SET
    ingress_bytes = usage_hourly.ingress_bytes + excluded.ingress_bytes,
    ingress_records = usage_hourly.ingress_records + excluded.ingress_records
