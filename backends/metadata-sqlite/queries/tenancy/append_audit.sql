INSERT INTO audit_log (at_ms, tenant, actor, action, target, source, detail)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
