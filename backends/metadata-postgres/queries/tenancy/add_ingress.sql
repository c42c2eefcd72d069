INSERT INTO tenant_usage (tenant, month, ingress_bytes) VALUES ($1, $2, $3)
ON CONFLICT (tenant, month)
DO UPDATE SET ingress_bytes = tenant_usage.ingress_bytes + excluded.ingress_bytes
RETURNING ingress_bytes
