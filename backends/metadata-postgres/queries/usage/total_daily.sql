SELECT '' AS topic, period_ms, SUM(ingress_bytes)::BIGINT AS ingress_bytes, SUM(ingress_records)::BIGINT AS ingress_records, SUM(egress_bytes)::BIGINT AS egress_bytes, SUM(egress_records)::BIGINT AS egress_records, SUM(requests)::BIGINT AS requests, SUM(storage_byte_hours)::BIGINT AS storage_byte_hours
FROM usage_daily
WHERE tenant = $1 AND period_ms >= $2 AND period_ms < $3
GROUP BY period_ms
ORDER BY period_ms
