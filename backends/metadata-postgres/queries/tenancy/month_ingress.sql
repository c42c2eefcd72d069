SELECT COALESCE((SELECT ingress_bytes FROM tenant_usage WHERE tenant = $1 AND month = $2), 0) AS bytes
