-- Egress and requests, summed per bucket first: one statement may not update a row twice.
INSERT INTO usage_hourly (tenant, topic, period_ms, ingress_bytes, ingress_records, egress_bytes, egress_records, requests, storage_byte_hours)
SELECT v.tenant, v.topic, v.period_ms, 0, 0, SUM(v.egress_bytes)::BIGINT,
       SUM(v.egress_records)::BIGINT, SUM(v.requests)::BIGINT, 0
FROM UNNEST($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[], $6::BIGINT[])
    AS v(tenant, topic, period_ms, egress_bytes, egress_records, requests)
GROUP BY v.tenant, v.topic, v.period_ms
ON CONFLICT (tenant, topic, period_ms) DO UPDATE SET
    egress_bytes = usage_hourly.egress_bytes + excluded.egress_bytes,
    egress_records = usage_hourly.egress_records + excluded.egress_records,
    requests = usage_hourly.requests + excluded.requests
