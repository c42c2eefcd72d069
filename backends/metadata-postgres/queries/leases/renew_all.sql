-- Every unexpired lease of one holder, extended in one statement: an agent's renewal.
UPDATE leases SET expires_at_ms = streamhouse_now_ms() + $2
WHERE holder = $1 AND expires_at_ms > streamhouse_now_ms()
RETURNING tenant, topic_id, partition, holder, epoch, expires_at_ms
