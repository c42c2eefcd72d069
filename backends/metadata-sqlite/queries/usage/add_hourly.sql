INSERT INTO usage_hourly (tenant, topic, period_ms, ingress_bytes, ingress_records, egress_bytes, egress_records, requests, storage_byte_hours)
VALUES (?1, ?2, ?3, 0, 0, ?4, ?5, ?6, 0)
ON CONFLICT (tenant, topic, period_ms) DO UPDATE SET
    egress_bytes = usage_hourly.egress_bytes + excluded.egress_bytes,
    egress_records = usage_hourly.egress_records + excluded.egress_records,
    requests = usage_hourly.requests + excluded.requests
