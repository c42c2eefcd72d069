SELECT holder, agent_id, group_name, zone, addr
FROM agents
WHERE expires_at_ms > ?1
ORDER BY holder
