-- Takes a lease that is free, lapsed, or already ours, in one atomic statement on the
-- database's clock. The epoch rises only when the holder changes. No row: someone else
-- holds it.
INSERT INTO leases AS l (topic_id, partition, tenant, holder, epoch, expires_at_ms)
VALUES ($1, $2, $3, $4, 1, streamhouse_now_ms() + $5)
ON CONFLICT (topic_id, partition) DO UPDATE
SET holder = excluded.holder,
    epoch = CASE WHEN l.holder = excluded.holder THEN l.epoch ELSE l.epoch + 1 END,
    expires_at_ms = excluded.expires_at_ms
WHERE l.holder = excluded.holder OR l.expires_at_ms <= streamhouse_now_ms()
RETURNING holder, epoch, expires_at_ms
