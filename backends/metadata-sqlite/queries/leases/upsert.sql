INSERT INTO leases (topic_id, partition, tenant, holder, epoch, expires_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (topic_id, partition) DO UPDATE
SET holder = excluded.holder, epoch = excluded.epoch, expires_at_ms = excluded.expires_at_ms
