SELECT holder, agent_id, group_name, zone, addr
FROM agents
WHERE expires_at_ms > streamhouse_now_ms()
ORDER BY holder
