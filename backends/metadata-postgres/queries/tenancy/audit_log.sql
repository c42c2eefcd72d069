SELECT at_ms, tenant, actor, action, target, source, detail FROM audit_log
WHERE $1::TEXT IS NULL OR tenant = $1
ORDER BY at_ms DESC, seq DESC
LIMIT $2
