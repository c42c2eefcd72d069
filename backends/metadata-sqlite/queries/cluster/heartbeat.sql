INSERT INTO agents (holder, agent_id, group_name, zone, addr, expires_at_ms, heartbeat_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (holder) DO UPDATE
SET agent_id = excluded.agent_id,
    group_name = excluded.group_name,
    zone = excluded.zone,
    addr = excluded.addr,
    expires_at_ms = excluded.expires_at_ms,
    heartbeat_at_ms = excluded.heartbeat_at_ms
