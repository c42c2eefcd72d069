INSERT INTO audit_log (at_ms, tenant, actor, action, target, source, detail)
SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[],
                     $7::TEXT[])
