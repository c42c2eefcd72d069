SELECT group_name FROM tenant_groups WHERE tenant = ?1
