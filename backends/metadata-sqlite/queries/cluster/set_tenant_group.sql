INSERT INTO tenant_groups (tenant, group_name) VALUES (?1, ?2)
ON CONFLICT (tenant) DO UPDATE SET group_name = excluded.group_name
